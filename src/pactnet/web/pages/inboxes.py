"""The inboxes: consent requests (an officer answers those asked of this party) and compromises reported.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
Both lists come from the use cases behind `GET /api/v1/consent-requests` and `GET /api/v1/compromises`, so they
hold only items the user may read, and reading them is audited as the API's reads are.
"""

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.services import ServiceError, compromises, consent_requests
from pactnet.services.roles import Duty
from pactnet.web.guard import ConsentGiver, InboxViewer, PageRefusedError, checked_form, refused
from pactnet.web.instants import read_instant
from pactnet.web.pages.sign_in import see_other
from pactnet.web.templating import Pages

SHOWN = 100
_LONGEST_ID = 100


def _answer(fields: dict[str, str]) -> tuple[bool, str | None, datetime | None]:
    """The form's answer: grant or refuse, the reason (to refuse), and when a grant ends (blank: never)."""
    decision = fields.get("decision", "")
    if decision not in {"grant", "refuse"}:
        raise PageRefusedError(422, "Choose whether to grant or refuse the request.")
    reason = fields.get("reason", "").strip() or None
    until_text = fields.get("until", "").strip()
    try:
        until = read_instant(until_text).astimezone(UTC) if until_text else None
    except ValueError as error:
        message = f"until: {until_text[:40]!r} is not an instant; write a date (2026-12-31) or RFC 3339 with an offset."
        raise PageRefusedError(422, message) from error
    return decision == "grant", reason, until


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the inboxes page and the answer to a consent request."""

    @routes.get("/ui/inboxes", include_in_schema=False)
    def inboxes(request: Request, session: InboxViewer) -> Response:
        """Consent requests, both ways, and compromises, newest first, with titles and purposes."""
        node, user = pages.node, session.user
        context = {
            "requests": consent_requests.list_requests(node, user, SHOWN),
            "compromises": compromises.list_compromises(node, user, SHOWN),
            "may_answer": user.may(Duty.ANSWER_CONSENT),
        }
        return pages.render(request, "inboxes.html", session, context)

    @routes.post("/ui/inboxes/consent-requests/{request_id}/answer", include_in_schema=False)
    async def answer(request: Request, request_id: str, session: ConsentGiver) -> Response:
        """Grant (a signed consent statement) or refuse (with a reason) a request asked of this party."""
        fields = await checked_form(request, session)
        grant, reason, until = _answer(fields)
        try:
            consent_requests.answer_request(
                pages.node, session.user, request_id[:_LONGEST_ID], grant=grant, reason=reason, until=until
            )
        except ServiceError as error:
            raise refused(error) from error
        return see_other("/ui/inboxes")
