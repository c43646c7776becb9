"""Who is at the console and whether they may: the session cookie, the duty each page needs, and CSRF on forms.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
Deny by default: no session is a redirect to sign in, a missing duty is a 403 page naming the role that carries
it, a form whose CSRF field is not the session's secret is refused before anything is read from it.
"""

import hmac
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from pactnet.services import ConflictError, ForbiddenError, InvalidInputError, NotFoundError, ServiceError
from pactnet.services.roles import Duty, roles_with
from pactnet.services.sessions import Session, current

SESSION_COOKIE = "pactnet_session"
# Before a session exists the sign-in form is guarded by a double-submit cookie (OWASP CSRF cheat sheet).
SIGN_IN_COOKIE = "pactnet_sign_in"
_FORM = "application/x-www-form-urlencoded"
_MOST_FIELDS = 200


class SignInNeededError(Exception):
    """No live session: the console answers with the sign-in page (303 See Other)."""


class PageRefusedError(Exception):
    """A page the console refuses, with the status and the plain words it shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_STATUS: dict[type[ServiceError], int] = {
    InvalidInputError: 422,
    NotFoundError: 404,
    ForbiddenError: 403,
    ConflictError: 409,
}


def refused(error: ServiceError) -> PageRefusedError:
    """A use case's refusal as the page that says so (the status the API would answer with)."""
    status = next((_STATUS[kind] for kind in type(error).__mro__ if kind in _STATUS), 400)
    return PageRefusedError(status, error.message)


def session_of(request: Request) -> Session | None:
    """The live session the request's cookie names, or None."""
    return current(request.app.state.node, request.cookies.get(SESSION_COOKIE, ""))


class PageDuty:
    """A page's dependency: the live session, if one of its user's roles carries `duty`; else sign in, or 403.

    The duty is kept on the dependency so that docs/node.md's table of routes can be checked against the routes.
    """

    def __init__(self, duty: Duty) -> None:
        self.duty = duty

    def __call__(self, request: Request) -> Session:
        """The session, once the duty is checked."""
        session = session_of(request)
        if session is None:
            raise SignInNeededError
        if not session.user.may(self.duty):
            roles = " or ".join(roles_with(self.duty))
            raise PageRefusedError(403, f"This page needs the duty {self.duty.value}, which the role {roles} carries.")
        return session


def needs(duty: Duty) -> object:
    """The dependency of a page that needs the duty, to annotate its session with."""
    return Depends(PageDuty(duty))


AgreementViewer = Annotated[Session, needs(Duty.VIEW_AGREEMENTS)]
Reader = Annotated[Session, needs(Duty.READ)]
Publisher = Annotated[Session, needs(Duty.PUBLISH)]
InboxViewer = Annotated[Session, needs(Duty.VIEW_INBOXES)]
ActRecorder = Annotated[Session, needs(Duty.RECORD_ACT)]
ConsentGiver = Annotated[Session, needs(Duty.ANSWER_CONSENT)]
AuditReader = Annotated[Session, needs(Duty.READ_AUDIT)]
PartnerManager = Annotated[Session, needs(Duty.MANAGE_PARTNERS)]


class FormFields(dict[str, str]):
    """A posted form: the first value of each field by its name, and `every(name)` for a repeated field."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.pairs = pairs
        for name, value in pairs:
            self.setdefault(name, value)

    def every(self, name: str) -> list[str]:
        """Every value of a repeated field (checkboxes), in the order sent, without repeats."""
        return list(dict.fromkeys(value for key, value in self.pairs if key == name))


async def read_form(request: Request) -> FormFields:
    """A posted form's fields; anything but a URL-encoded form is refused."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        raise PageRefusedError(415, "Send the form as the page does (application/x-www-form-urlencoded).")
    try:
        text = (await request.body()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=_MOST_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise PageRefusedError(400, "The form could not be read: send it from the console's page.") from error
    return FormFields(pairs)


async def checked_form(request: Request, session: Session) -> FormFields:
    """The form's fields, once its CSRF field is the session's secret; otherwise 403 and nothing is done."""
    fields = await read_form(request)
    if not session.accepts(fields.get("csrf", "")):
        raise PageRefusedError(403, "The form's security token is missing or wrong: reload the page and try again.")
    return fields


def same_secret(sent: str, kept: str) -> bool:
    """Whether two secrets are equal and not empty (compared in constant time)."""
    return bool(kept) and hmac.compare_digest(sent.encode(), kept.encode())
