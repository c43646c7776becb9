"""Agreements at a node: their status now and their timeline, and the lifecycle acts this party records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from pactnet.audit.chain import AuditRecord
from pactnet.errors import WorldError
from pactnet.policy.model import Arrangement
from pactnet.policy.timeline import timeline
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from pactnet.services.acts import ACTS, act_problem, send_act
from pactnet.store.acts import recorded_acts
from pactnet.store.instants import instant_text
from pactnet.store.tables import lifecycle_acts

if TYPE_CHECKING:
    from pactnet.policy.model import Agreement, World
    from pactnet.services.context import Node
    from pactnet.services.users import User


def _describe(node: Node, pact: Agreement | Arrangement, *, with_timeline: bool) -> dict[str, Any]:
    zone = pact.zone
    now = node.now()
    view: dict[str, Any] = {
        "id": pact.id,
        "kind": pact.kind,
        "title": pact.title,
        "parties": [pact.hub, *pact.members] if isinstance(pact, Arrangement) else list(pact.parties),
        "status": pact.history.status(now).as_dict(zone),
    }
    if with_timeline:
        view["timeline"] = [
            {
                "from": period.start.astimezone(zone).isoformat(),
                "until": None if period.stop is None else period.stop.astimezone(zone).isoformat(),
                "state": period.state.value,
                "notice": period.notice.value,
                "what": period.what,
            }
            for period in timeline(pact)
        ]
    return view


def _current_world(node: Node) -> World:
    """The world with every act recorded so far, including those received from partner nodes."""
    with node.uow.read() as connection:
        return node.refresh(connection)


def list_agreements(node: Node) -> list[dict[str, Any]]:
    """Every agreement and arrangement of the world with its status now."""
    world = _current_world(node)
    pacts: list[Agreement | Arrangement] = [*world.agreements.values(), *world.arrangements.values()]
    return [_describe(node, pact, with_timeline=False) for pact in pacts]


def get_agreement(node: Node, pact_id: str) -> dict[str, Any]:
    """One agreement or arrangement: status now and timeline."""
    pact = _current_world(node).pact(pact_id)
    if pact is None:
        raise NotFoundError(f"no agreement or arrangement {pact_id!r}")
    return _describe(node, pact, with_timeline=True)


def record_act(node: Node, user: User, pact_id: str, act: str) -> dict[str, Any]:
    """Record a lifecycle act by this party now, validated by the core exactly as a world file's event.

    The act is queued, in the same transaction, for every partner's node (pactnet.services.acts).
    """
    agreement = node.world.agreements.get(pact_id)
    if agreement is None:
        if pact_id in node.world.arrangements:
            raise ConflictError(f"{pact_id} is an arrangement: it has no notices")
        raise NotFoundError(f"no agreement {pact_id!r}")
    if act not in ACTS:
        raise InvalidInputError(f"type {act!r}: expected one of {', '.join(ACTS)}")
    if node.party not in agreement.parties:
        raise ForbiddenError(f"{node.party} is not a party to {pact_id}")
    at = node.now()
    when = instant_text(at)
    event = {"at": at.isoformat(), "type": act, "agreement": pact_id, "by": node.party}
    with node.uow.transaction() as connection:
        # Holding the log's lock, read every act recorded so far (by any API worker) and judge this one
        # against them, so that two workers cannot both record acts that only make sense alone.
        node.audit.lock(connection)
        acts = recorded_acts(connection)
        try:
            world = node.worlds.with_acts(acts, event)
        except WorldError as error:
            message = act_problem(error)
            raise ConflictError(f"{act} on {pact_id} at {at.isoformat()} makes no sense: {message}") from error
        connection.execute(
            insert(lifecycle_acts).values(agreement=pact_id, type=act, by=node.party, at=when, recorded_by=user.name)
        )
        node.audit.append(
            connection, when, [AuditRecord("lifecycle", user.name, pact_id, {"type": act, "by": node.party})]
        )
        send_act(connection, node, event, at)
    node.worlds.adopt([*acts, event], world)
    return _describe(node, world.agreements[pact_id], with_timeline=False)
