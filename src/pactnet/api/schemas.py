"""The API's request and response bodies, with every string and list bounded."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    create_model,
    model_validator,
)

from pactnet.json_bounds import check_value
from pactnet.policy.clock import in_calendar
from pactnet.policy.precedence import PrecedenceName  # noqa: TC001 - pydantic reads the annotation at run time

# Patterns use explicit ASCII classes: "\w" and "\s" mean different things in Python and in JSON Schema.
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:/-]+$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# No control characters in ids, and no NUL anywhere: PostgreSQL text cannot hold it.
IDENTIFIER = r"^[^\x00-\x1f\x7f]+$"
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]


# An instant with an offset, as RFC 3339 writes it, that the node can store and compare.
Instant = Annotated[AwareDatetime, AfterValidator(in_calendar)]


class Strict(BaseModel):
    """Unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class StixBundle(BaseModel):
    """A STIX 2.1 bundle (STIX 2.1 §8): its objects are kept as sent."""

    model_config = ConfigDict(extra="allow")
    type: Literal["bundle"]
    id: Annotated[
        str,
        StringConstraints(
            pattern=r"^bundle--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        ),
    ]
    objects: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: object) -> object:
        """What is kept as sent must be storable text, nested within bounds (pactnet.json_bounds).

        Checked before the fields: a lone surrogate in a key fails inside the validation of `dict[str, Any]`.
        """
        check_value(data, nul=False)
        return data


def _body_kind(value: object) -> str | None:
    """Which kind of body a value is meant to be, so that it is checked as that kind alone."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict | StixBundle):
        return "stix-bundle"
    return None


# A report's body: text, or a STIX 2.1 bundle. Chosen by the value's JSON type, so that a bundle with a mistake
# is told what is wrong with it as a bundle, not also that it is not text.
Body = Annotated[
    Annotated[Text, Tag("text")] | Annotated[StixBundle, Tag("stix-bundle")],
    Discriminator(
        _body_kind,
        custom_error_type="body_kind",
        custom_error_message='expected text, or a STIX 2.1 bundle (an object with "type": "bundle")',
    ),
]
UNION_TAGS = frozenset({"text", "stix-bundle"})


class PublishRequest(Strict):
    """A report this party originates."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)]
    level: Label
    categories: list[Category] = Field(default_factory=list, max_length=50)
    rel_to: list[Code] | None = Field(default=None, max_length=200)
    precedence: PrecedenceName = "routine"
    compartments: list[Name] = Field(default_factory=list, max_length=50)
    body: Body = Field(default="", description="Text, or a STIX 2.1 bundle.")
    recipients: list[Code] | None = Field(default=None, max_length=200, description="Default: every other party.")


def publish_request(labels: list[str], partners: list[str]) -> type[PublishRequest]:
    """PublishRequest with this node's levels and partners as enums, so the published schema is exact."""
    level = Literal[tuple(labels)]  # type: ignore[valid-type]  # built from the node's scheme at run time
    partner = Literal[tuple(partners)]  # type: ignore[valid-type]
    fields: dict[str, Any] = {
        "level": (level, Field(description="A level or alias of this party's scheme.")),
        "rel_to": (list[partner] | None, Field(default=None, max_length=200)),  # type: ignore[valid-type]
        "recipients": (
            list[partner] | None,  # type: ignore[valid-type]
            Field(default=None, max_length=200, description="Default: every other party."),
        ),
    }
    model: type[PublishRequest] = create_model("PublishRequest", __base__=PublishRequest, **fields)
    return model


MAX_BATCH = 100


class PublishBatch(Strict):
    """Several reports to publish in one request and one transaction, all or nothing."""

    reports: list[PublishRequest] = Field(min_length=1, max_length=MAX_BATCH)


def publish_batch(request: type[PublishRequest]) -> type[PublishBatch]:
    """PublishBatch over this node's own PublishRequest."""
    fields: dict[str, Any] = {"reports": (list[request], Field(min_length=1, max_length=MAX_BATCH))}  # type: ignore[valid-type]
    model: type[PublishBatch] = create_model("PublishBatch", __base__=PublishBatch, **fields)
    return model


class Reason(BaseModel):
    """One rule that failed."""

    code: str
    message: str


class Leg(BaseModel):
    """One hop of a route."""

    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    under: str
    level: str


class Marking(BaseModel):
    """How the recipient marks the item."""

    originator: str
    level: str


class DecisionOut(BaseModel):
    """A transfer decision."""

    to: str
    allowed: bool
    route: list[str]
    legs: list[Leg]
    marking: Marking | None
    reasons: list[Reason]
    notes: list[Reason]


class PublishResponse(BaseModel):
    """The new report's id and the decision for every recipient."""

    id: str
    created_at: str
    decisions: list[DecisionOut]


class PublishBatchResponse(BaseModel):
    """One result per report, in the order sent."""

    results: list[PublishResponse]


class ReportOut(BaseModel):
    """A report as a cleared user sees it."""

    id: str
    originator: str
    received_from: str | None
    title: str
    level: str
    precedence: str
    categories: list[str]
    rel_to: list[str] | None
    compartments: list[str]
    created_at: str
    body_type: str
    body: str


class ReportPage(BaseModel):
    """One page of reports; `next` is the cursor of the following page, if any."""

    items: list[ReportOut]
    next: str | None


class TrailEntry(BaseModel):
    """One decision of a report's trail."""

    report: str
    holder: str
    to: str
    at: str
    allowed: bool
    route: list[str]
    legs: list[Leg]
    marking: Marking | None
    reasons: list[Reason]
    asked_by: Literal["recipients", "consent-request", "release", "version"]


class Status(BaseModel):
    """An agreement's status."""

    agreement: str
    at: str | None
    state: str
    notice: str
    term_ends: str | None
    ends_at: str | None
    ended_at: str | None


class Period(BaseModel):
    """A period of an agreement's life."""

    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    until: str | None
    state: str
    notice: str
    what: str


class AgreementOut(BaseModel):
    """An agreement or arrangement, its status now, and (singly) its timeline."""

    id: str
    kind: str
    title: str
    parties: list[str]
    status: Status
    timeline: list[Period] | None = None


class ActRequest(Strict):
    """A lifecycle act by this party, recorded now."""

    type: Literal["notify_termination", "suspend_notice", "resume_notice", "withdraw_notice"]


class AuditEntry(BaseModel):
    """One audit entry; about an item the reader may not read, redacted: no actor, subject or data."""

    seq: int
    at: str
    kind: str
    actor: str | None = None
    subject: str | None = None
    data: dict[str, Any] | None = None
    prev: str
    hash: str
    redacted: bool


class Verification(BaseModel):
    """The result of verifying the audit log."""

    intact: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None
    problem: str | None


class AuditPage(BaseModel):
    """Audit entries after a sequence number, and the verification of the whole log."""

    entries: list[AuditEntry]
    next_after: int | None
    verification: Verification | None


class Health(BaseModel):
    """The node is up."""

    status: Literal["ok"]
    party: str


class ErrorDetail(BaseModel):
    """The one error shape's inner object."""

    status: int
    code: str
    message: str
    details: list[dict[str, Any]]


class ErrorOut(BaseModel):
    """Every error the API answers has this shape."""

    error: ErrorDetail


Base64url = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]*$")]


class EnvelopeIn(BaseModel):
    """An envelope from a partner node (`pactnet.envelope/1`, docs/federation.md); its fields are signed as sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: Literal["pactnet.envelope/1"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=IDENTIFIER)]
    sender: Code = Field(alias="from")
    to: Code
    sent_at: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    kind: Code
    epk: Base64url
    nonce: Base64url
    ciphertext: Base64url
    signature: Base64url


class EnvelopeBatch(Strict):
    """Envelopes from partner nodes, answered in order (docs/federation.md)."""

    envelopes: list[EnvelopeIn] = Field(min_length=1, max_length=256)


class EnvelopeAnswers(BaseModel):
    """One answer per envelope: `{"envelope": {...}}` (a signed receipt or refusal) or `{"error": {...}}`."""

    answers: list[dict[str, Any]]


class DeliveryOut(BaseModel):
    """One envelope this node sent, or is sending, about a report."""

    envelope: str
    kind: str
    to: str
    final: str
    under: str | None
    route: list[str]
    precedence: str | None
    state: Literal["pending", "delivered", "refused", "cancelled"]
    attempts: int
    created_at: str
    settled_at: str | None
    last_error: str | None
    level: str | None
    stored_as: str | None
    reasons: list[dict[str, Any]]
    asked_by: Literal["recipients", "consent-request", "release", "version"] | None = Field(
        description=(
            "Who asked for a transfer: the publisher's recipients, a consent request, a release, a new version of a "
            "STIX object passed on where earlier ones went; null else."
        )
    )
