"""Witnessing: partners keep the last signed head of each other's audit logs, and say, signed, what they hold.

As Certificate Transparency's witnesses do (RFC 9162 §8.2, gossip of signed tree heads), a node gives its
partners the signed head of its audit log — `pactnet audit witness`, and every `WITNESS_EVERY` seconds while
its dispatcher runs — and each keeps the last one by entry number. A log later cut back, or rewritten, cannot
match a head a witness holds; `pactnet audit verify --witnesses` asks them (docs/audit.md, "Witnesses").

Over the signed federation channel (`POST /federation/v1/audit/heads`): the request is an envelope of kind
`audit-head` from a trusted partner, `{"head": HEAD or null}` (null: only say what you hold); the answer an
envelope of kind `audit-witnessed` signed by the witness and encrypted to the partner,
`{"party", "head": HEAD or null, "conflict": bool, "keys": [fingerprints, oldest first]}`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import insert, select, update

from pactnet.audit.chain import AuditRecord, Checkpoint, Witnessed, checkpoint_from
from pactnet.crypto.envelope import EnvelopeError, open_envelope, seal, sender_of
from pactnet.crypto.identity import head_key_valid_at, key_valid_at
from pactnet.crypto.keys import unb64
from pactnet.federation.client import TIMEOUT
from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, ServiceError
from pactnet.store.audit_log import read_head
from pactnet.store.instants import instant_text, parse_instant_text
from pactnet.store.tables import audit_witnessed

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from pactnet.crypto.envelope import Opened
    from pactnet.federation.partners import Partner
    from pactnet.services.context import Node

HEADS_PATH = "/federation/v1/audit/heads"
HEAD = "audit-head"
WITNESSED = "audit-witnessed"
# How often a serving node gives its witnesses its head when it changed: a tail cut within this window, before
# any witness held the entries cut, cannot be told from a log that never had them.
WITNESS_EVERY = 60.0
_NOT_VERIFIED = "the envelope is not from a partner this node trusts, or not signed by its key"
log = logging.getLogger(__name__)


def _refused(code: str, message: str, kind: type[ServiceError] = InvalidInputError) -> ServiceError:
    return kind(message, [{"code": code, "message": message}])


def _open(node: Node, envelope: dict[str, Any], partner: Partner) -> Opened:
    """Open with the partner's current key, or a retired one still valid at the instant of sending."""
    now = node.now()
    for key in (partner.signing_key, *(old.signing_key for old in reversed(partner.retired))):
        try:
            opened = open_envelope(node.keys, node.party, envelope, key, now)
        except EnvelopeError as error:
            if error.code != "bad-signature":
                raise
            continue
        if key_valid_at(partner.history, key, opened.sent_at):
            return opened
    raise EnvelopeError("bad-signature", _NOT_VERIFIED)


def _sender(node: Node, envelope: dict[str, Any]) -> Partner:
    partner = node.partners().get(sender_of(envelope))
    # One refusal for an unknown sender and a forged signature: which parties a node trusts is not told.
    if partner is None:
        raise EnvelopeError("bad-signature", _NOT_VERIFIED)
    return partner


def _verified(node: Node, envelope: dict[str, Any]) -> tuple[Partner, Opened]:
    try:
        partner = _sender(node, envelope)
        opened = _open(node, envelope, partner)
    except EnvelopeError as error:
        kinds = {"bad-signature": ForbiddenError, "wrong-recipient": ForbiddenError, "stale": ConflictError}
        raise _refused(error.code, str(error), kinds.get(error.code, InvalidInputError)) from error
    if opened.kind != HEAD:
        raise _refused("unsupported-kind", f"this route takes {HEAD!r} envelopes, not {opened.kind[:32]!r}")
    return partner, opened


def _partner_head(partner: Partner, payload: dict[str, Any]) -> Checkpoint | None:
    """The head the partner gives, checked: well formed, and signed by a key of the partner valid at its instant."""
    if "head" not in payload or set(payload) != {"head"}:
        raise _refused("malformed-payload", 'an audit-head payload is {"head": HEAD or null}')
    if payload["head"] is None:
        return None
    try:
        head = checkpoint_from(payload["head"])
        signed_at = parse_instant_text(head.at)
        key = unb64(head.key)
    except ValueError as error:
        raise _refused("malformed-payload", f"head: {error}") from error
    if not head_key_valid_at(partner.history, key, signed_at) or not head.is_signed_by(key):
        raise _refused("bad-head", f"the head is not signed by a key of {partner.party} valid at {head.at}")
    return head


def _held(connection: Connection, party: str) -> Checkpoint | None:
    row = connection.execute(select(audit_witnessed).where(audit_witnessed.c.party == party)).first()
    return None if row is None else Checkpoint(row.seq, row.hash, row.at, row.key, row.signature)


def _keep(node: Node, party: str, head: Checkpoint, connection: Connection) -> tuple[Checkpoint, bool]:
    """Keep `head` if it goes further than the one held; the head held afterwards, and whether the two fork."""
    held = _held(connection, party)
    now = instant_text(node.now())
    if held is None:
        connection.execute(insert(audit_witnessed).values(party=party, received_at=now, **head.as_dict()))
        return head, False
    if head.seq > held.seq:
        update_held = update(audit_witnessed).where(audit_witnessed.c.party == party)
        connection.execute(update_held.values(received_at=now, **head.as_dict()))
        return head, False
    if head.seq < held.seq or head.hash == held.hash:
        # An older head may be a replay of an envelope still fresh, or a log cut back: the witness cannot tell,
        # keeps the later one, and answers with it, which is what the partner's verification compares.
        return held, False
    # Two heads the partner signed for the same entry with different hashes: its log forked. The held head
    # stays; both signed heads are evidence, kept in this node's own log.
    data = {"held": held.as_dict(), "offered": head.as_dict()}
    node.audit.append(connection, now, [AuditRecord("witness-conflict", party, party, data)])
    return held, True


def receive_head(node: Node, envelope: dict[str, Any]) -> dict[str, Any]:
    """Keep a partner's signed head if it goes further; answer with the head held, in an envelope signed here."""
    partner, opened = _verified(node, envelope)
    head = _partner_head(partner, opened.payload)
    if head is None:
        with node.uow.read() as connection:
            held, conflict = _held(connection, partner.party), False
    else:
        held, conflict = node.uow.write(partial(_keep, node, partner.party, head))
    keys = [old.fingerprint for old in partner.retired] + [partner.fingerprint]
    payload = {"party": partner.party, "head": None if held is None else held.as_dict(), "conflict": conflict}
    return seal(
        node.keys, node.party, partner.party, partner.encryption_key, WITNESSED, payload | {"keys": keys}, node.now()
    )


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    """What one witness answered: what it holds of this node's log, or why it could not be asked."""

    party: str
    witnessed: Witnessed | None = None
    conflict: bool = False
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report of a witness that did not answer, in the shape of the ones compared (Verification)."""
        return {
            "party": self.party,
            "reached": False,
            "seq": None,
            "agrees": None,
            "first_bad_seq": None,
            "problem": self.problem,
        }


def exchange(node: Node, head: Checkpoint | None, http: httpx.Client | None = None) -> list[WitnessAnswer]:
    """Give every trusted partner `head` (None: only ask), and read what each holds; a partner down is a problem."""
    registry = node.partners()
    client = http or httpx.Client(timeout=TIMEOUT, headers={"user-agent": "pactnet"})
    try:
        return [_ask(node, client, partner, head) for _, partner in sorted(registry.partners.items())]
    finally:
        if http is None:
            client.close()


def _ask(node: Node, http: httpx.Client, partner: Partner, head: Checkpoint | None) -> WitnessAnswer:
    payload = {"head": None if head is None else head.as_dict()}
    envelope = seal(node.keys, node.party, partner.party, partner.encryption_key, HEAD, payload, node.now())
    try:
        response = http.post(partner.url.rstrip("/") + HEADS_PATH, json=envelope)
    except httpx.HTTPError as error:
        return WitnessAnswer(partner.party, problem=f"unreachable at {partner.url}: {type(error).__name__}")
    if response.status_code != httpx.codes.OK:
        return WitnessAnswer(partner.party, problem=f"answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        return _read_answer(node, partner, response.json())
    except (ValueError, TypeError, KeyError, EnvelopeError) as error:
        return WitnessAnswer(partner.party, problem=f"its answer is not a signed witness answer: {error}")


def _read_answer(node: Node, partner: Partner, answer: Any) -> WitnessAnswer:  # noqa: ANN401 - JSON as received
    if not isinstance(answer, dict):
        raise TypeError("not a JSON object")
    opened = open_envelope(node.keys, node.party, answer, partner.signing_key, node.now())
    payload = opened.payload
    if opened.kind != WITNESSED or payload.get("party") != node.party:
        raise ValueError(f"an {opened.kind[:32]!r} envelope about {str(payload.get('party'))[:64]!r}")
    keys = payload["keys"]
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ValueError("keys: expected a list of fingerprints")
    head = None if payload["head"] is None else checkpoint_from(payload["head"])
    witnessed = Witnessed(partner.party, head, tuple(keys))
    return WitnessAnswer(partner.party, witnessed, conflict=payload.get("conflict") is True)


class HeadPusher:
    """Gives the node's witnesses its signed head every WITNESS_EVERY seconds, when it changed (a thread)."""

    def __init__(self, node: Node, every: float = WITNESS_EVERY) -> None:
        self.node = node
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pactnet-witness", daemon=True)

    def start(self) -> None:
        """Start giving heads."""
        self._thread.start()

    def stop(self) -> None:
        """Stop, and wait for the round in hand."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=TIMEOUT.read or 15.0)

    def _run(self) -> None:
        given: Checkpoint | None = None
        with httpx.Client(timeout=TIMEOUT, headers={"user-agent": "pactnet"}) as http:
            while not self._stop.wait(self.every):
                with self.node.uow.read() as connection:
                    head = read_head(connection)
                if head is None or head == given:
                    continue
                try:
                    answers = exchange(self.node, head, http)
                except Exception as error:  # noqa: BLE001 - a round that fails is tried again at the next one
                    # The kind of error only: a database error's text may hold what a log must not.
                    log.warning("witnesses: a round failed (%s); retrying in %.0f s", type(error).__name__, self.every)
                    continue
                for answer in answers:
                    if answer.problem or answer.conflict:
                        log.warning("witness %s: %s", answer.party, answer.problem or "holds a conflicting head")
                if all(answer.problem is None for answer in answers):
                    given = head
