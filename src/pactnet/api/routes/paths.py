"""The path and query parameters several routers share, bounded as the store's identifiers are."""

from typing import Annotated

from fastapi import Path, Query

from pactnet.api import schemas

ReportId = Annotated[str, Path(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
PactId = Annotated[str, Path(min_length=1, max_length=200, pattern=schemas.IDENTIFIER)]
RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=schemas.IDENTIFIER)]
ListingLimit = Annotated[int, Query(ge=1, le=1000)]
