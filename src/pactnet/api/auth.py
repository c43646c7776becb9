"""Who is asking and whether they may: the bearer token (RFC 6750) and the duty each route needs.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pactnet.api.errors import UnauthorizedError
from pactnet.services import users
from pactnet.services.roles import Duty

_bearer = HTTPBearer(auto_error=False)


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> users.User:
    """The user holding the bearer token (RFC 6750), or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("send Authorization: Bearer TOKEN (create one with `pactnet user add`)")
    found = users.authenticate(request.app.state.node, credentials.credentials[:200])
    if found is None:
        raise UnauthorizedError("the token is not valid, or its user is disabled")
    return found


class DutyCheck:
    """A route's dependency: the authenticated user, if one of the user's roles carries `duty`; else 403.

    The duty is kept on the dependency so that the table of routes and duties in docs/node.md can be checked
    against the routes themselves.
    """

    def __init__(self, duty: Duty) -> None:
        self.duty = duty

    def __call__(self, who: Annotated[users.User, Depends(current_user)]) -> users.User:
        """The user, once the duty is checked."""
        who.require(self.duty)
        return who


def needs(duty: Duty) -> object:
    """The dependency of a route that needs the duty, to annotate its user with."""
    return Depends(DutyCheck(duty))


Publisher = Annotated[users.User, needs(Duty.PUBLISH)]
Reader = Annotated[users.User, needs(Duty.READ)]
ConsentAsker = Annotated[users.User, needs(Duty.ASK_CONSENT)]
Releaser = Annotated[users.User, needs(Duty.RELEASE)]
CompromiseReporter = Annotated[users.User, needs(Duty.REPORT_COMPROMISE)]
AgreementViewer = Annotated[users.User, needs(Duty.VIEW_AGREEMENTS)]
InboxViewer = Annotated[users.User, needs(Duty.VIEW_INBOXES)]
ActRecorder = Annotated[users.User, needs(Duty.RECORD_ACT)]
ConsentGiver = Annotated[users.User, needs(Duty.ANSWER_CONSENT)]
AuditReader = Annotated[users.User, needs(Duty.READ_AUDIT)]
