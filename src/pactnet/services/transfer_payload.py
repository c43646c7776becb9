"""A transfer's payload as a partner sends it, read and shape-checked into a `Transfer` (or a PayloadError)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pactnet.errors import PayloadError
from pactnet.policy.clock import parse_instant
from pactnet.policy.model import Report
from pactnet.policy.precedence import NAMES as PRECEDENCES
from pactnet.services.stix_index import STIX_OBJECT, stix_body_problem
from pactnet.store.outbox import ASKED_BY, BY_RECIPIENTS

if TYPE_CHECKING:
    from datetime import datetime

    from pactnet.services.context import Node

MAX_ID = 200
MAX_TITLE = 500
MAX_LIST = 200
MAX_CODE = 100
MAX_ROUTE = 8
BODY_TYPES = ("text", "stix", STIX_OBJECT)


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer payload, shape-checked: the item as its originator marked it, and how it travels."""

    item: Report
    title: str
    precedence: str
    compartments: list[str]
    body_type: str
    body: str
    under: str
    route: list[str]
    final: str
    created: datetime
    consents: list[dict[str, Any]]
    asked_by: str = BY_RECIPIENTS


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise PayloadError("malformed-payload", f"{name}: expected a text of 1 to {limit} characters")
    return value


def _texts(data: dict[str, Any], name: str, *, optional: bool = False) -> list[str] | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise PayloadError("malformed-payload", f"{name}: expected a list of at most {MAX_LIST} codes")
    if not all(isinstance(one, str) and 0 < len(one) <= MAX_CODE for one in value):
        raise PayloadError("malformed-payload", f"{name}: every entry is a code of 1 to {MAX_CODE} characters")
    return list(value)


def _instant(data: dict[str, Any], name: str) -> datetime:
    value = data.get(name)
    try:
        return parse_instant(value) if isinstance(value, str) else _no_instant(name)
    except ValueError as error:
        raise PayloadError("malformed-payload", f"{name}: expected {error}") from error


def _no_instant(name: str) -> datetime:
    raise PayloadError("malformed-payload", f"{name}: expected an RFC 3339 instant with an offset")


def _asked_by(payload: dict[str, Any]) -> str:
    """Who asked the sender for the transfer (pactnet.services.releases); a node older than it sent none."""
    asked_by = payload.get("asked_by", BY_RECIPIENTS)
    if not isinstance(asked_by, str) or asked_by not in ASKED_BY:
        raise PayloadError("malformed-payload", f"asked_by: expected one of {', '.join(ASKED_BY)}")
    return asked_by


def _body(node: Node, item: dict[str, Any]) -> tuple[str, str]:
    """A report's body type and body, checked: a known type, within the node's limit, one STIX object if so typed."""
    body_type, body = _text(item, "body_type", 16), item.get("body")
    if body_type not in BODY_TYPES or not isinstance(body, str):
        raise PayloadError("malformed-payload", "report.body: expected a text body or a STIX bundle as text")
    limit = node.config.max_body_bytes
    if len(body.encode("utf-8")) > limit:
        raise PayloadError("body-too-large", f"the report's body is larger than this node's limit of {limit} bytes")
    problem = stix_body_problem(body) if body_type == STIX_OBJECT else None
    if problem is not None:
        raise PayloadError("malformed-payload", f"report.body: {problem}")
    return body_type, body


def read_transfer(node: Node, payload: dict[str, Any]) -> Transfer:
    """The transfer a payload carries; raises PayloadError naming the first field that is not right."""
    item = payload.get("report")
    if not isinstance(item, dict):
        raise PayloadError("malformed-payload", "report: expected an object")
    originator = _text(item, "originator", 64)
    party = node.world.parties.get(originator)
    if party is None:
        raise PayloadError("malformed-payload", f"report.originator: {originator!r} is not a party of this world")
    label = _text(item, "level", MAX_CODE)
    level = party.level_of(label)
    if level is None:
        raise PayloadError("malformed-payload", f"report.level: {label!r} is not a level of {originator}")
    precedence = _text(item, "precedence", 16)
    if precedence not in PRECEDENCES:
        raise PayloadError("malformed-payload", f"report.precedence: expected one of {', '.join(PRECEDENCES)}")
    body_type, body = _body(node, item)
    categories = list(dict.fromkeys(_texts(item, "categories") or []))
    rel_to = _texts(item, "rel_to", optional=True)
    route = _texts(payload, "route") or []
    if not route or route[0] not in node.world.parties or len(route) > MAX_ROUTE:
        raise PayloadError(
            "malformed-payload", "route: expected the parties the item has passed, its first holder first"
        )
    final = payload.get("final", node.party)
    if not isinstance(final, str) or final not in node.world.parties:
        raise PayloadError("malformed-payload", "final: expected the party the item is for")
    consents = payload.get("consents", [])
    if not isinstance(consents, list) or not all(isinstance(one, dict) for one in consents):
        raise PayloadError("malformed-payload", "consents: expected a list of consent statements")
    created = _instant(item, "created")
    asked_by = _asked_by(payload)
    report = Report(
        _text(item, "id", MAX_ID),
        originator,
        label,
        level,
        tuple(categories),
        frozenset(categories),
        None if rel_to is None else frozenset(rel_to),
        created,
    )
    compartments = sorted(set(_texts(item, "compartments") or []))
    title = _text(item, "title", MAX_TITLE)
    under = _text(payload, "under", MAX_ID)
    return Transfer(
        report, title, precedence, compartments, body_type, body, under, route, final, created, consents, asked_by
    )
