"""Originators' consents (GSOMIA art. 6), signed so that every node on an item's route can check them.

A consent is granted at the originator's node for one of its own reports: to release it to a party, or to
relay it under an arrangement. It is a signed statement (`pactnet.consent/1`: Ed25519 by the originator's node
over a domain string and the canonical JSON of every other field). Transfers of the item carry the statements,
and a receiver adopts one only if the originator's key verifies it; a consent to release to a party is also
sent to the parties that hold the item, so that their users may pass it on. A consent permits, it never sends:
what a node does with one is pactnet.services.releases.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pactnet.crypto.identity import key_valid_at
from pactnet.crypto.keys import b64, unb64, verify
from pactnet.errors import PayloadError
from pactnet.policy.clock import parse_instant
from pactnet.policy.model import Report
from pactnet.store.acts import store_statement
from pactnet.store.identifiers import new_id

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection, Row

    from pactnet.services.context import Node

CONSENT = "consent"
FORMAT = "pactnet.consent/1"
DOMAIN = b"pactnet-consent/1 signature\n"
FIELDS = frozenset({"format", "id", "by", "report", "to", "arrangement", "at", "until", "signature"})


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _signed(statement: dict[str, Any]) -> bytes:
    return DOMAIN + _canonical({key: value for key, value in statement.items() if key != "signature"})


def build_statement(
    node: Node, report: str, to: str | None, arrangement: str | None, at: datetime, until: datetime | None
) -> dict[str, Any]:
    """A consent by this node's party to release (`to`) or relay (`arrangement`) its report `report`."""
    statement = {
        "format": FORMAT,
        "id": new_id(),
        "by": node.party,
        "report": report,
        "to": to,
        "arrangement": arrangement,
        "at": at.isoformat(),
        "until": None if until is None else until.isoformat(),
    }
    return statement | {"signature": b64(node.keys.sign(_signed(statement)))}


class StatementError(PayloadError):
    """A consent statement that is not valid; the message says why (refused as `bad-consent`)."""

    def __init__(self, message: str) -> None:
        super().__init__("bad-consent", message)


def check_statement(node: Node, statement: dict[str, Any], originator: str, report: str | None) -> tuple[datetime, Any]:
    """The statement's instant and its `until`, once its shape, subject and signature are checked."""
    if set(statement) != FIELDS or statement.get("format") != FORMAT:
        raise StatementError(f"not a {FORMAT} statement with exactly the fields {', '.join(sorted(FIELDS))}")
    if statement["by"] != originator or (report is not None and statement["report"] != report):
        raise StatementError(f"a consent to this item can come only from its originator, {originator}")
    if not all(isinstance(statement[name], str) for name in ("id", "report", "at", "signature")):
        raise StatementError("id, report, at and signature are texts")
    if (statement["to"] is None) == (statement["arrangement"] is None):
        raise StatementError("a consent names exactly one of to and arrangement")
    try:
        at = parse_instant(statement["at"])
        until = None if statement["until"] is None else parse_instant(statement["until"])
        signature = unb64(statement["signature"])
    except (ValueError, TypeError) as error:
        raise StatementError(f"an instant or the signature cannot be read: {error}") from error
    if originator == node.party:
        keys_ok = verify(node.keys.public_signing, signature, _signed(statement))
    else:
        partner = node.partners().get(originator)
        if partner is None:
            raise StatementError(f"{originator} is not a trusted partner: its signature cannot be checked")
        keys_ok = any(
            verify(key, signature, _signed(statement)) and key_valid_at(partner.history, key, at)
            for key in (partner.signing_key, *(old.signing_key for old in partner.retired))
        )
    if not keys_ok:
        raise StatementError(f"the signature is not {originator}'s")
    return at, until


def adopt_consents(
    connection: Connection, node: Node, originator: str, report: str, statements: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Check and record the consent statements a transfer carries; the reasons to refuse it, if any is not valid."""
    for statement in statements:
        try:
            at, until = check_statement(node, statement, originator, report)
        except StatementError as error:
            return [{"code": "bad-consent", "message": f"a consent statement the transfer carries: {error}"}]
        store_statement(connection, statement, at, until)
    return []


def held_item(node: Node, row: Row[Any]) -> Report:
    """The policy item of a stored report, as its originator marked it."""
    label = row.origin_level or row.level
    level = node.world.parties[row.originator].level_of(label) or label
    rel_to = None if row.rel_to is None else frozenset(row.rel_to)
    categories = tuple(row.categories)
    created = parse_instant(row.created_at)
    return Report(row.origin_id, row.originator, label, level, categories, frozenset(categories), rel_to, created)
