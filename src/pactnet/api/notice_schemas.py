"""The API's bodies of consent, consent requests and compromise reports (the notices about a held item)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from pactnet.api.schemas import IDENTIFIER, Code, Instant, Strict


class ReleaseConsent(Strict):
    """A consent to release a report to a party."""

    to: Code
    until: Instant | None = None


class RelayConsent(Strict):
    """A consent to relay a report through the hub of an arrangement."""

    arrangement: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=IDENTIFIER)]
    until: Instant | None = None


# Exactly one of `to` and `arrangement`, said in the schema itself.
ConsentRequest = ReleaseConsent | RelayConsent


class ConsentOut(BaseModel):
    """A signed consent statement (`pactnet.consent/1`)."""

    format: str
    id: str
    by: str
    report: str
    to: str | None
    arrangement: str | None
    at: str
    until: str | None
    signature: str


# Free text a user writes (a purpose, a reason, a description): not only spaces, which the services refuse (a
# character that is neither NUL nor a space, between any others but NUL).
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]


class ConsentAsk(Strict):
    """A holder's request for the originator's consent to release a received item to a third party."""

    to: Code = Field(description="The third party: neither this party nor the item's originator.")
    purpose: LongText = Field(description="What the third party needs the item for (GSOMIA art. 6: its use).")


class ConsentAnswer(Strict):
    """The originator's answer to a consent request: grant (a signed statement) or refuse (a reason)."""

    grant: bool
    reason: LongText | None = Field(default=None, description="Required to refuse.")
    until: Instant | None = Field(default=None, description="When a granted consent ends (default: never).")


class Delivery(BaseModel):
    """What became of an envelope this node sent: pending (with its last error), delivered, refused, cancelled."""

    envelope: str
    to: str
    state: Literal["pending", "delivered", "refused", "cancelled"]
    attempts: int
    settled_at: str | None
    last_error: str | None
    reasons: list[dict[str, Any]]


class _NoticeOut(BaseModel):
    """What every notice to an item's originator shows first: its id, which way it went, and the item."""

    id: str
    direction: Literal["incoming", "outgoing"]
    report_id: str
    report_title: str
    originator: str
    origin_id: str


class ConsentRequestOut(_NoticeOut):
    """A consent request, asked here (`outgoing`) or of this party as originator (`incoming`)."""

    holder: str
    to: str
    purpose: str
    state: Literal["pending", "granted", "refused"]
    requested_by: str
    at: str
    answered_at: str | None
    answered_by: str | None
    statement: ConsentOut | None
    reasons: list[dict[str, Any]]
    delivery: Delivery | None


class CompromiseIn(Strict):
    """A report that a received item was lost or compromised, actually or possibly (GSOMIA art. 17)."""

    description: LongText = Field(description="What happened, when, and what is being done.")


class CompromiseOut(_NoticeOut):
    """A loss or compromise, reported here (`outgoing`) or to this party as originator (`incoming`)."""

    reporter: str
    reported_by: str
    description: str
    at: str
    recorded_at: str
    delivery: Delivery | None
