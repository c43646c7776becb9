"""What several routers share: path and query parameters bounded as the store's identifiers are, and `creating`."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.types import DecoratedCallable
from pydantic import BaseModel

from pactnet.api import schemas

ReportId = Annotated[str, Path(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
PactId = Annotated[str, Path(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=schemas.IDENTIFIER)]
ListingLimit = Annotated[int, Query(ge=1, le=1000)]


def creating(
    routes: APIRouter, path: str, tag: str, model: type[BaseModel]
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A POST route that creates something and answers 201 Created with `model` (RFC 9110 §15.3.2)."""
    return routes.post(path, tags=[tag], status_code=201, response_model=model)
