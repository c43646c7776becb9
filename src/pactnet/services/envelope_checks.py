"""Opening and verifying an envelope from a partner, before any transaction: who sent it, and what it carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pactnet.audit.chain import AuditRecord
from pactnet.crypto.envelope import (
    EnvelopeError,
    Opened,
    UnreadableEnvelopeError,
    check_addressed,
    open_envelope,
    sender_of,
)
from pactnet.crypto.identity import key_valid_at
from pactnet.policy.precedence import is_urgent
from pactnet.services import ServiceError
from pactnet.services.acceptance import accept_ahead
from pactnet.services.transfer_payload import MAX_ID
from pactnet.services.unopened import refusal_reason, refuse
from pactnet.store.outbox import TRANSFER

if TYPE_CHECKING:
    from pactnet.federation.partners import Partner, PartnerRegistry
    from pactnet.services.acceptance import Acceptance
    from pactnet.services.context import Node


class Partners:
    """The trusted partners, from partners.toml, read once per batch (when its first envelope needs them).

    Read for every batch, so that `pactnet node trust` takes effect without a restart; reading it for every
    envelope of a batch cost about a tenth of receiving one.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.registry: PartnerRegistry | None = None

    def get(self, claimed: str) -> Partner:
        """The trusted partner of that name; refused as `unknown-sender` if there is none."""
        if self.registry is None:
            self.registry = self.node.partners()
        partner = self.registry.get(claimed)
        if partner is None:
            raise refuse("unknown-sender", f"{claimed[:64]!r} is not a partner this node trusts")
        return partner


def _open(node: Node, envelope: dict[str, Any], partner: Partner) -> Opened:
    """Open with the partner's current key, or with a retired key still valid when the envelope was sent."""
    now = node.now()
    try:
        return open_envelope(node.keys, node.party, envelope, partner.signing_key, now)
    except EnvelopeError as error:
        if error.code != "bad-signature":
            raise
        for old in partner.retired:
            try:
                opened = open_envelope(node.keys, node.party, envelope, old.signing_key, now)
            except UnreadableEnvelopeError as unreadable:
                if key_valid_at(partner.history, old.signing_key, unreadable.opened.sent_at):
                    raise
                continue
            except EnvelopeError:
                continue
            if key_valid_at(partner.history, old.signing_key, opened.sent_at):
                return opened
        raise


def _verify(node: Node, envelope: dict[str, Any], partners: Partners) -> tuple[Partner, Opened]:
    """The trusted partner that sent the envelope, and what it carries; raises EnvelopeError or ServiceError."""
    sender = sender_of(envelope)
    if len(envelope["id"]) > MAX_ID:
        raise EnvelopeError("malformed", f"the envelope id is longer than {MAX_ID} characters")
    check_addressed(envelope, node.party)
    partner = partners.get(sender)
    return partner, _open(node, envelope, partner)


def _claimed(envelope: dict[str, Any]) -> tuple[str, str]:
    """The claimed sender and id, for the audit log, bounded to what its columns hold."""
    sender = envelope.get("from")
    envelope_id = envelope.get("id")
    return (sender[:100] if isinstance(sender, str) else "?"), (
        envelope_id[:MAX_ID] if isinstance(envelope_id, str) else "?"
    )


@dataclass(frozen=True, slots=True)
class Checked:
    """An envelope after verification: who sent it and what it carries, or why it is refused unopened."""

    partner: Partner | None = None
    opened: Opened | None = None
    refusal: ServiceError | None = None
    claimed: tuple[str, str] = ("?", "?")
    accepted: Acceptance | None = None  # its acceptance worked out ahead, if it is an urgent transfer
    unreadable: list[dict[str, str]] | None = None  # why a verified envelope's content cannot be read
    audit: tuple[AuditRecord, ...] = ()  # what the audit log records of a refusal (pactnet.services.refusal_tally)

    @property
    def urgent(self) -> bool:
        """Whether its write goes first (`_is_urgent`)."""
        return self.opened is not None and _is_urgent(self.opened)


def _is_urgent(opened: Opened) -> bool:
    """A flash or immediate report, or a notice (an act, a consent, a compromise)."""
    if opened.kind != TRANSFER:
        return True
    report = opened.payload.get("report")
    return isinstance(report, dict) and is_urgent(str(report.get("precedence")))


def check(node: Node, envelope: dict[str, Any], partners: Partners) -> Checked:
    """An envelope verified and opened (an urgent transfer's acceptance worked out ahead), or why it is refused."""
    claimed = _claimed(envelope)
    try:
        partner, opened = _verify(node, envelope, partners)
    except UnreadableEnvelopeError as error:
        # Its sender signed it: answered with a signed refusal of its own, and its batch goes on.
        reasons = [{"code": error.code, "message": str(error)}]
        return Checked(partners.get(error.opened.sender), error.opened, claimed=claimed, unreadable=reasons)
    except EnvelopeError as error:
        return _unopened(node, refuse(error.code, str(error)), claimed)
    except ServiceError as error:
        return _unopened(node, error, claimed)
    ahead = accept_ahead(node, partner, opened) if _is_urgent(opened) else None
    return Checked(partner, opened, accepted=ahead)


def _unopened(node: Node, refusal: ServiceError, claimed: tuple[str, str]) -> Checked:
    """An envelope refused unopened, tallied before any transaction (a chunk written again appends the same)."""
    record = AuditRecord("refused-envelope", *claimed, refusal_reason(refusal))
    return Checked(refusal=refusal, claimed=claimed, audit=tuple(node.refusals.admit(node.now(), record)))
