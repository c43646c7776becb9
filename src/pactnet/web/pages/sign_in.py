"""Signing in with an API token and out again: `/ui/sign-in`, `/ui/sign-out`, and `/ui/` itself.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
"""

import secrets

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from pactnet.services import sessions
from pactnet.web.guard import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    AgreementViewer,
    SignInNeededError,
    checked_form,
    read_form,
    same_secret,
    session_of,
)
from pactnet.web.templating import HEADERS, Pages

HOME = "/ui/agreements"


def see_other(path: str) -> RedirectResponse:
    """303 See Other (RFC 9110 §15.4.4): after a form, the browser GETs the next page."""
    return RedirectResponse(path, status_code=303, headers=HEADERS)


def _form(pages: Pages, request: Request, problem: str | None, status: int = 200) -> Response:
    """The sign-in form, with a fresh double-submit secret in its field and in a cookie."""
    secret = secrets.token_urlsafe(32)
    page = pages.render(request, "sign_in.html", None, {"sign_in_secret": secret, "problem": problem}, status)
    secure = request.url.scheme == "https"
    page.set_cookie(SIGN_IN_COOKIE, secret, path="/ui/", httponly=True, samesite="strict", secure=secure)
    return page


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the sign-in and sign-out routes."""

    @routes.get("/ui/", include_in_schema=False)
    def home(_session: AgreementViewer) -> Response:
        """The console's first page: the agreements."""
        return see_other(HOME)

    @routes.get("/ui/sign-in", include_in_schema=False)
    def sign_in_form(request: Request) -> Response:
        """The form: an API token in a password field."""
        return _form(pages, request, None)

    @routes.post("/ui/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        """Exchange a token for a session; a wrong token or a forged form signs no one in."""
        fields = await read_form(request)
        if not same_secret(fields.get("csrf", ""), request.cookies.get(SIGN_IN_COOKIE, "")):
            return _form(pages, request, "The form expired or did not come from this page: sign in again.", 403)
        session = sessions.sign_in(request.app.state.node, fields.get("token", "").strip())
        if session is None:
            return _form(pages, request, "That token is not valid, or its user is disabled.", 401)
        answer = see_other(HOME)
        secure = request.url.scheme == "https"
        max_age = int(sessions.LIFETIME.total_seconds())
        answer.set_cookie(
            SESSION_COOKIE, session.id, max_age=max_age, path="/ui/", httponly=True, samesite="strict", secure=secure
        )
        answer.delete_cookie(SIGN_IN_COOKIE, path="/ui/")
        return answer

    @routes.post("/ui/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        """End the session on the server (a POST with the CSRF field), then forget the cookie."""
        session = session_of(request)
        if session is None:
            raise SignInNeededError
        await checked_form(request, session)
        sessions.sign_out(request.app.state.node, session)
        answer = see_other("/ui/sign-in")
        answer.delete_cookie(SESSION_COOKIE, path="/ui/")
        return answer
