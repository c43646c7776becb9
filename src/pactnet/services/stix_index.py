"""The index of the STIX objects a node holds: one row per report whose body is one STIX 2.1 object.

Written in the same transaction as the reports it indexes, wherever they are stored (published here:
services.reports; received from a partner: services.inbound), so the TAXII collections never miss or
half-hold an object. Each object is served with the marking this node holds it under (the originator, the level
in this party's scheme, the handling), as a marking-definition of this node's (pactnet.stix.marking).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

import orjson

from pactnet.stix.marking import (
    TLP_MARKINGS,
    PactnetMarking,
    StixMarkingError,
    held_marking_definition,
    marking_of,
)
from pactnet.store.bulk import insert_rows
from pactnet.store.instants import instant_text
from pactnet.store.tables import stix_markings, stix_objects

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy import Connection, Executable

# The body type of a report that is one STIX 2.1 object (a whole bundle is "stix", kept as sent).
STIX_OBJECT = "stix-object"
# A STIX 2.1 identifier (§2.9): the object's type, two dashes, a UUID.
_ID_PARTS = 2
# A UUID as text (RFC 9562 §4): 32 hex digits, in groups of 8-4-4-4-12.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TYPE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")


def stix_instant(value: object) -> datetime | None:
    """A STIX timestamp (STIX 2.1 §3.2: RFC 3339 in UTC, `Z`), or None if `value` is not one."""
    if not isinstance(value, str) or not value.endswith("Z"):
        return None
    return _parsed_instant(value) if len(value) <= _CACHED_INSTANT_LENGTH else _parsed_instant.__wrapped__(value)


# Cached: a posted object's timestamps are read when it is checked, for its version, for the consents a new
# version carries and for its index row, in one post of at most a few hundred objects. Only text as long as a
# timestamp is kept (nanoseconds and an offset), not a hostile object's megabyte of it.
_CACHED_INSTANT_LENGTH = 40


@lru_cache(maxsize=1024)
def _parsed_instant(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _id_problem(kind: object, identifier: object) -> str | None:
    if not isinstance(kind, str) or not kind:
        return "no 'type'"
    if not _TYPE_NAME.fullmatch(kind):
        return f"type {kind[:80]!r} is not a STIX type name: 3 to 250 of a-z, 0-9 and '-' (STIX 2.1 §3.1)"
    if not isinstance(identifier, str):
        return "no 'id'"
    parts = identifier.split("--")
    if len(parts) != _ID_PARTS or parts[0] != kind or not _is_uuid(parts[1]):
        return f"id {identifier[:80]!r} is not '{kind}--' and a UUID (STIX 2.1 §2.9)"
    return None


def _is_uuid(text: str) -> bool:
    # Exactly what `str(uuid.UUID(text)) == text.lower()` accepted (hex digits of either case, hyphens in place),
    # at a seventh of the cost of building the UUID, once per object posted; so nothing a database cannot store (a
    # lone surrogate, a NUL) passes either.
    return _UUID.fullmatch(text) is not None


def object_problem(obj: object) -> str | None:
    """What makes `obj` not a STIX 2.1 object this node can hold, in words; None if nothing does."""
    if not isinstance(obj, dict):
        return "expected a JSON object"
    problem = _id_problem(obj.get("type"), obj.get("id"))
    if problem is not None:
        return problem
    if obj.get("spec_version", "2.1") != "2.1":
        return f"spec_version {str(obj.get('spec_version'))[:20]!r}: this node holds STIX 2.1 objects only"
    for name in ("created", "modified"):
        if name in obj and stix_instant(obj[name]) is None:
            return f"{name}: not a STIX timestamp (RFC 3339 in UTC, ending in 'Z')"
    return None


# A body is parsed once for publishing (the consents a new version carries, then the index row) only if it is
# small: the cache must not hold a partner's megabyte bodies. 128 bodies of at most 16 KiB: a few MiB at most.
_CACHED_BODIES = 128
_CACHED_BODY_LENGTH = 16 * 1024


def object_text(obj: Mapping[str, Any], *, sort_keys: bool = False) -> str:
    """A STIX object as JSON text to store and serve: compact, non-ASCII as it is.

    orjson's, a tenth of the standard library's cost for an object posted or received; the standard library's for
    what orjson refuses (a lone surrogate, an integer beyond 64 bits), as such objects were always written.
    """
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else None).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":"))


def stored_object(body: str) -> Mapping[str, Any]:
    """The STIX object a report's body holds (already checked: `stix_body_problem`). Read only: it may be shared."""
    if len(body) > _CACHED_BODY_LENGTH:
        parsed: dict[str, Any] = json.loads(body)
        return parsed
    return _small_object(body)


@lru_cache(maxsize=_CACHED_BODIES)
def _small_object(body: str) -> Mapping[str, Any]:
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def stix_body_problem(body: str) -> str | None:
    """What makes a report's body not one STIX 2.1 object, in words; None if it is one."""
    try:
        obj = json.loads(body, parse_constant=_no_constant)
    except ValueError:
        return "not JSON: a body of type stix-object is one STIX 2.1 object (NaN and Infinity are no JSON numbers)"
    return object_problem(obj)


def _no_constant(name: str) -> NoReturn:
    # Python's parser reads NaN and Infinity; such an object would be served as text no TAXII client reads back.
    message = f"{name} is not a JSON number"
    raise ValueError(message)


def _report_marking(row: dict[str, Any]) -> PactnetMarking:
    """The marking a report holds its item under here (level in this party's scheme)."""
    return PactnetMarking(
        originator=row["originator"],
        level=row["level"],
        categories=tuple(row["categories"]),
        rel_to=None if row["rel_to"] is None else tuple(row["rel_to"]),
        compartments=tuple(row["compartments"]),
        precedence=row["precedence"],
        tlp=None,
        isa=None,
    )


def _indexed_marking(obj: Mapping[str, Any], held: PactnetMarking) -> PactnetMarking:
    """The marking an object is indexed under: its report's, with the object's TLP if it names only TLP markings.

    Its pactnet and ISA markings were read when the report was made, and need definitions: a reference to
    anything but a TLP marking leaves the held marking as it is, without asking `marking_of` to refuse it (a
    refusal costs more than the rest of the indexing).
    """
    refs = obj.get("object_marking_refs", [])
    only_refs = "granular_markings" not in obj and isinstance(refs, list)
    if only_refs and not all(isinstance(ref, str) and ref in TLP_MARKINGS for ref in refs):
        return held
    try:
        return marking_of(obj, {}, held)
    except StixMarkingError:
        return held


def _served(obj: Mapping[str, Any], held: str) -> dict[str, Any]:
    """The object as this node serves it: its TLP kept, its pactnet marking this node's own."""
    refs = [ref for ref in obj.get("object_marking_refs", []) if ref in TLP_MARKINGS]
    return {**obj, "object_marking_refs": [*refs, held]}


def index_rows(
    holder: str, reports: Iterable[dict[str, Any]], date_added: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The index rows of those reports that are STIX objects, and the marking-definitions they are served with."""
    rows: list[dict[str, Any]] = []
    definitions: dict[str, str] = {}
    made: dict[PactnetMarking, str] = {}
    for report in reports:
        if report["body_type"] != STIX_OBJECT:
            continue
        obj = stored_object(report["body"])
        marking = _indexed_marking(obj, _report_marking(report))
        if marking not in made:  # most objects of a batch share a handful of markings
            definition = held_marking_definition(marking, holder)
            made[marking] = definition["id"]
            definitions[definition["id"]] = json.dumps(definition, sort_keys=True, ensure_ascii=False)
        definition_id = made[marking]
        version = stix_instant(obj.get("modified")) or stix_instant(obj.get("created"))
        rows.append(
            {
                "report_id": report["id"],
                "stix_id": obj["id"],
                "type": obj["type"],
                "spec_version": obj.get("spec_version", "2.1"),
                "version": date_added if version is None else instant_text(version),
                "date_added": date_added,
                "revoked": obj.get("revoked") is True,
                "originator": report["originator"],
                "received_from": report["received_from"],
                "level_rank": report["level_rank"],
                "compartments": report["compartments"],
                "marking_ref": definition_id,
                "object": object_text(_served(obj, definition_id)),
            }
        )
    return rows, definitions


def index_reports(connection: Connection, holder: str, reports: Iterable[dict[str, Any]], date_added: str) -> None:
    """Index the STIX objects among these report rows, just stored in this transaction (date_added: as stored)."""
    rows, definitions = index_rows(holder, reports, date_added)
    if not rows:
        return
    insert_rows(connection, stix_objects, rows)
    # Imported here, not with the module: the dialect's module is loaded with the node's engine anyway, and
    # loading both at import cost every command and every server start a fifth of its import time.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - see above

        statement: Executable = postgresql.insert(stix_markings).on_conflict_do_nothing(index_elements=["id"])
    else:
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415 - see above

        statement = sqlite.insert(stix_markings).on_conflict_do_nothing(index_elements=["id"])
    connection.execute(statement, [{"id": key, "definition": text} for key, text in definitions.items()])
