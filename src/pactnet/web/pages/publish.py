"""Publish: a form with this party's own levels, categories, precedences and recipients; the decisions shown first.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
"Preview" decides every transfer now and stores nothing ("JPN: direct, 極秘; USA: direct, SECRET"); "Publish"
stores the report and decides again, and the report's page shows the decisions taken. Both are POSTs with the
CSRF field: a report's content never travels in a URL.
"""

import re
from collections.abc import Callable
from dataclasses import asdict
from secrets import token_hex
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.policy.precedence import NAMES as PRECEDENCES
from pactnet.services import ServiceError
from pactnet.services.context import Node
from pactnet.services.idempotency import Idempotency, fingerprint_of
from pactnet.services.reports import Publication, preview, publish
from pactnet.services.sessions import Session
from pactnet.services.users import User
from pactnet.web.guard import FormFields, PageRefusedError, Publisher, checked_form, refused
from pactnet.web.pages.sign_in import see_other
from pactnet.web.templating import Pages

T = TypeVar("T")
# Each form the page renders carries a random id of its own (see sent_once).
_FORM_ID = re.compile(r"[0-9a-f]{32}")
_LONGEST_TITLE = 500
_LONGEST_BODY = 100_000


def choices(node: Node, session: Session) -> dict[str, Any]:
    """What the form offers: the levels the user is cleared for, the world's categories, partners, precedences."""
    party = node.world.parties[node.party]
    user = session.user
    return {
        "levels": [level for level in party.levels if party.rank(level) <= user.rank],
        "categories": node.world.categories(),
        "partners": [code for code in node.world.parties if code != node.party],
        "precedences": list(PRECEDENCES),
        "compartments": sorted(user.compartments),
    }


def publication_of(fields: FormFields) -> Publication:
    """The form as a publication; what is missing or too long is named, before any use case sees it."""
    title = fields.get("title", "").strip()
    if not title or len(title) > _LONGEST_TITLE:
        raise PageRefusedError(422, f"Title: write one, of at most {_LONGEST_TITLE} characters.")
    body = fields.get("body", "")
    if len(body) > _LONGEST_BODY:
        raise PageRefusedError(422, f"Content: at most {_LONGEST_BODY} characters.")
    recipients = fields.every("recipients")
    if not recipients:
        raise PageRefusedError(422, "Recipients: choose at least one partner to send it to.")
    return Publication(
        title=title,
        level=fields.get("level", ""),
        categories=fields.every("categories"),
        precedence=fields.get("precedence", "routine"),
        compartments=fields.every("compartments"),
        body=body,
        recipients=recipients,
    )


def sent_once(fields: FormFields, publication: Publication) -> Idempotency | None:
    """The idempotency key of a form sent with this content (None for a form without its id).

    The same form sent twice (a double click, a reload that posts again, Back and Publish) is published once;
    changed before it is sent again, it is another report.
    """
    form_id = _form_id(fields)
    if form_id is None:
        return None
    fingerprint = fingerprint_of({"route": "console", "request": asdict(publication)})
    return Idempotency(f"console {form_id} {fingerprint}", fingerprint)


def _form_id(fields: FormFields) -> str | None:
    """The id the form was rendered with, if it carries a well-formed one."""
    form_id = fields.get("form_id", "")
    return form_id if _FORM_ID.fullmatch(form_id) else None


def in_words(decision: dict[str, Any]) -> str:
    """A decision as a liaison officer reads it: "direct, 極秘", "via USA, 極秘", or "refused: why"."""
    if not decision["allowed"]:
        return "refused: " + "; ".join(reason["message"] for reason in decision["reasons"])
    route = decision["route"]
    way = "direct" if len(route) <= 2 else f"via {', '.join(route[1:-1])}"  # noqa: PLR2004 - holder, recipient
    marking = decision["marking"]
    return f"{way}, {marking['level']}" if marking else way


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the publish form, its preview and the publication."""

    def form(
        request: Request,
        session: Session,
        fields: FormFields | None,
        decided: list[dict[str, Any]] | None,
        status: int = 200,
    ) -> Response:
        filled = fields or FormFields([])
        form_id = _form_id(filled) or token_hex(16)
        context = choices(pages.node, session) | {"fields": filled, "decided": decided, "form_id": form_id}
        return pages.render(request, "publish.html", session, context | {"in_words": in_words}, status)

    @routes.get("/ui/publish", include_in_schema=False)
    def publish_form(request: Request, session: Publisher) -> Response:
        """The empty form."""
        return form(request, session, None, None)

    def taken(use_case: Callable[[Node, User, Publication], T], session: Session, fields: FormFields) -> T:
        """The use case's answer to the filled form, or the refusal page."""
        try:
            return use_case(pages.node, session.user, publication_of(fields))
        except ServiceError as error:
            raise refused(error) from error

    def published_once(fields: FormFields) -> Callable[[Node, User, Publication], dict[str, Any]]:
        return lambda node, user, publication: publish(node, user, publication, sent_once(fields, publication))

    @routes.post("/ui/publish/preview", include_in_schema=False)
    async def publish_preview(request: Request, session: Publisher) -> Response:
        """The decisions publishing would take now, under the filled form; nothing stored or sent."""
        fields = await checked_form(request, session)
        return form(request, session, fields, taken(preview, session, fields))

    @routes.post("/ui/publish", include_in_schema=False)
    async def publish_report(request: Request, session: Publisher) -> Response:
        """Store and decide; then the report's page, with the decisions taken."""
        fields = await checked_form(request, session)
        published = taken(published_once(fields), session, fields)
        return see_other(f"/ui/reports/{published['id']}")
