"""An officer's form: record a lifecycle act of this party on an agreement (notice, suspension, withdrawal).

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
GSOMIA art. 21: an act commits the party, so only a role carrying `record-act` (an officer) reaches the form.
"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.services import ServiceError, agreements
from pactnet.services.acts import ACTS
from pactnet.web.guard import ActRecorder, checked_form, refused
from pactnet.web.pages.sign_in import see_other
from pactnet.web.templating import Pages

ACT_WORDS = {
    "notify_termination": "Give notice of termination",
    "suspend_notice": "Suspend our notice",
    "resume_notice": "Resume our suspended notice",
    "withdraw_notice": "Withdraw our notice",
}


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the lifecycle act form and its POST."""

    @routes.get("/ui/agreements/{pact_id}/acts", include_in_schema=False)
    def act_form(request: Request, pact_id: str, session: ActRecorder) -> Response:
        """The form: one act, effective now, recorded by this party."""
        context = {"pact_id": pact_id[:200], "acts": [(act, ACT_WORDS[act]) for act in ACTS]}
        return pages.render(request, "act.html", session, context)

    @routes.post("/ui/agreements/{pact_id}/acts", include_in_schema=False)
    async def record_act(request: Request, pact_id: str, session: ActRecorder) -> Response:
        """Record the act (the CSRF field checked first), then show the agreement."""
        fields = await checked_form(request, session)
        try:
            agreements.record_act(pages.node, session.user, pact_id[:200], fields.get("act", ""))
        except ServiceError as error:
            raise refused(error) from error
        return see_other(f"/ui/agreements/{pact_id[:200]}")
