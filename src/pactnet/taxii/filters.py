"""The query of a TAXII listing (TAXII 2.1 §3.4, §3.5): `added_after`, `match[...]`, `limit` and `next`.

Read from the query string by hand, not declared as parameters: TAXII's names (`match[id]`) are not Python
names, and a parameter this server does not know is refused, not ignored, so a client that misspells a filter
learns of it instead of receiving everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pactnet.services.stix_index import stix_instant
from pactnet.services.stix_objects import ObjectFilter
from pactnet.store.instants import instant_text
from pactnet.taxii.errors import TaxiiError

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams

    from pactnet.config import NodeConfig

_KNOWN = ("added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]")
_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{0,249}")
_LONGEST_VALUE = 4000
_LONGEST_LIST = 100


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing's filter, page size and `next`."""

    filter: ObjectFilter
    limit: int
    next: str | None


def _bad(description: str) -> TaxiiError:
    return TaxiiError(400, "Bad Request", description)


def _values(query: QueryParams, name: str) -> tuple[str, ...]:
    """A filter's values: comma-separated, in one or more occurrences (TAXII 2.1 §3.5)."""
    given = [part.strip() for value in query.getlist(name) for part in value[:_LONGEST_VALUE].split(",")]
    if len(given) > _LONGEST_LIST:
        raise _bad(f"{name}: at most {_LONGEST_LIST} values")
    if any(not value for value in given):
        raise _bad(f"{name}: an empty value (values are separated by commas)")
    return tuple(dict.fromkeys(given))


def _versions(query: QueryParams) -> tuple[str, ...]:
    versions: list[str] = []
    for value in _values(query, "match[version]") or ("last",):
        if value in {"last", "first", "all"}:
            versions.append(value)
            continue
        instant = stix_instant(value)
        if instant is None:
            raise _bad(f"match[version]: {value[:40]!r} is not 'last', 'first', 'all' or a STIX timestamp")
        versions.append(instant_text(instant))
    return tuple(versions)


def _limit(query: QueryParams, config: NodeConfig) -> int:
    text = query.get("limit")
    if text is None:
        return config.default_page_size
    if not text.strip().isdigit() or int(text) <= 0:
        raise _bad(f"limit: {text[:20]!r} is not a whole number above 0")
    # TAXII 2.1 §3.4: a server may return fewer than asked; it says so by `more` and `next`.
    return min(int(text), config.max_page_size)


def _added_after(query: QueryParams) -> str | None:
    text = query.get("added_after")
    if text is None:
        return None
    instant = stix_instant(text)
    if instant is None:
        raise _bad(f"added_after: {text[:40]!r} is not a timestamp (RFC 3339 in UTC, ending in 'Z')")
    return text


def read_listing(query: QueryParams, config: NodeConfig, *, allowed: tuple[str, ...] = _KNOWN) -> Listing:
    """The filter, page size and `next` of a listing; 400 naming the first parameter that is not right."""
    unknown = sorted({name for name in query if name not in allowed})
    if unknown:
        raise _bad(f"unknown parameter {unknown[0][:40]!r}: this resource takes {', '.join(allowed)}")
    for name in query:
        if (
            name not in {"match[id]", "match[type]", "match[version]", "match[spec_version]"}
            and len(query.getlist(name)) > 1
        ):
            raise _bad(f"{name}: given more than once")
    types = _values(query, "match[type]")
    wrong = next((kind for kind in types if not _TYPE.fullmatch(kind)), None)
    if wrong is not None:
        raise _bad(f"match[type]: {wrong[:40]!r} is not a STIX type name")
    after = _added_after(query)
    wanted = ObjectFilter(
        added_after=None if after is None else stix_instant(after),
        ids=_values(query, "match[id]"),
        types=types,
        versions=_versions(query),
        spec_versions=_values(query, "match[spec_version]"),
    )
    cursor = query.get("next")
    return Listing(wanted, _limit(query, config), cursor[:_LONGEST_VALUE] if cursor is not None else None)
