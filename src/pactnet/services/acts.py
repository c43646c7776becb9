"""Lifecycle acts travel between the parties' nodes, so that both compute the same status.

A notice, suspension, resumption or withdrawal recorded at one party's node is sent, signed, to the node of
every other party of the world, which records it if it makes sense there too: the other party to the agreement
must know, and so must a third party that may have to relay between the two once the agreement has ended (a
hub that still believed the agreement in force would refuse the relayed item).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from pactnet.audit.chain import AuditRecord
from pactnet.errors import WorldError
from pactnet.policy.clock import parse_instant
from pactnet.policy.precedence import NOTICE_RANK
from pactnet.services.answers import acknowledge, refuse_envelope
from pactnet.store.acts import recorded_acts
from pactnet.store.instants import instant_text
from pactnet.store.outbox import enqueue
from pactnet.store.tables import lifecycle_acts

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.services.context import Node

ACT = "act"
ACTS = ("notify_termination", "suspend_notice", "resume_notice", "withdraw_notice")


def act_problem(error: WorldError) -> str:
    """Why an act makes no sense, from the world's validation of the events it would join."""
    problems = [issue for issue in error.issues if issue.path.startswith("events[")]
    return "; ".join(f"{issue.found}; expected {issue.expected}" for issue in problems) or str(error)


def send_act(connection: Connection, node: Node, event: dict[str, Any], at: datetime) -> None:
    """Queue an act this party recorded for every other party's node (in the caller's transaction)."""
    for party in node.world.parties:
        if party != node.party:
            enqueue(connection, kind=ACT, recipient=party, payload={"act": event}, rank=NOTICE_RANK, at=at)


def _refuse(connection: Connection, node: Node, partner: Partner, opened: Opened, message: str) -> dict[str, Any]:
    return refuse_envelope(connection, node, partner, opened, [{"code": "bad-act", "message": message}])


def receive_act(connection: Connection, node: Node, partner: Partner, opened: Opened) -> dict[str, Any]:
    """Record a partner's act on an agreement it is a party to, if it makes sense here too."""
    act = opened.payload.get("act")
    if not isinstance(act, dict) or set(act) != {"at", "type", "agreement", "by"}:
        return _refuse(connection, node, partner, opened, "expected an act with at, type, agreement and by")
    agreement = node.world.agreements.get(act["agreement"]) if isinstance(act["agreement"], str) else None
    if agreement is None or opened.sender not in agreement.parties:
        return _refuse(
            connection, node, partner, opened, f"{act['agreement']!r} is not an agreement of {opened.sender}"
        )
    if act["by"] != opened.sender or act["type"] not in ACTS:
        return _refuse(connection, node, partner, opened, f"a partner sends its own acts, one of {', '.join(ACTS)}")
    try:
        at = parse_instant(act["at"]) if isinstance(act["at"], str) else None
    except ValueError:
        at = None
    if at is None:
        return _refuse(connection, node, partner, opened, "at: expected an RFC 3339 instant with an offset")
    node.audit.lock(connection)  # judged against every act recorded so far, as a local act is
    recorded = recorded_acts(connection)
    try:
        node.worlds.with_acts(recorded, act)
    except WorldError as error:
        message = f"{act['type']} makes no sense here: {act_problem(error)}"
        return _refuse(connection, node, partner, opened, message)
    when = instant_text(at)
    connection.execute(
        insert(lifecycle_acts).values(
            agreement=agreement.id, type=act["type"], by=opened.sender, at=when, recorded_by=f"partner:{opened.sender}"
        )
    )
    data = {"type": act["type"], "by": opened.sender, "at": act["at"], "envelope": opened.id}
    return acknowledge(
        connection, node, partner, opened, {"act": act}, [AuditRecord("lifecycle", opened.sender, agreement.id, data)]
    )
