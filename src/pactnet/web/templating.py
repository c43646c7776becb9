"""The console's templates (Jinja2, autoescaped) and the headers every page is sent with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse

from pactnet.services.roles import Duty

if TYPE_CHECKING:
    from jinja2 import Environment
    from starlette.requests import Request

    from pactnet.services.context import Node
    from pactnet.services.sessions import Session

# Nothing from elsewhere, no inline script, no framing (OWASP secure headers): the console ships what it uses.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Tab:
    """One entry of the navigation: shown only to a user whose roles carry its duty."""

    path: str
    label: str
    duty: Duty


# The second helper's pages add their tab here as they land.
TABS: tuple[Tab, ...] = (
    Tab("/ui/agreements", "Agreements", Duty.VIEW_AGREEMENTS),
    Tab("/ui/network", "Network", Duty.VIEW_AGREEMENTS),
    Tab("/ui/what-if", "What if", Duty.VIEW_AGREEMENTS),
    Tab("/ui/traffic", "Traffic", Duty.READ),
    Tab("/ui/publish", "Publish", Duty.PUBLISH),
    Tab("/ui/inboxes", "Inboxes", Duty.VIEW_INBOXES),
    Tab("/ui/partners", "Partners", Duty.MANAGE_PARTNERS),
    Tab("/ui/audit", "Audit", Duty.READ_AUDIT),
)


class Pages:
    """Renders a template with what every page shows: the party, the user, their tabs and the form secret."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @cached_property
    def environment(self) -> Environment:
        """The templates, loaded at the first page: a node serving only its API never imports Jinja2."""
        # Imported here, not at the top: Jinja2 is a tenth of a node's start-up imports, and the API needs none.
        from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: PLC0415

        environment = Environment(
            loader=PackageLoader("pactnet.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Jinja's `tojson` writes \uXXXX for every non-ASCII letter; labels are Korean and Japanese. Plain text
        # here, escaped by autoescape like any other value.
        environment.filters["as_json"] = partial(json.dumps, ensure_ascii=False, sort_keys=True)
        return environment

    def render(
        self,
        request: Request,
        template: str,
        session: Session | None,
        context: dict[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        """The page, with the console's security headers."""
        user = None if session is None else session.user
        shown = {
            "party": self.node.party,
            "session": session,
            "user": user,
            "csrf": None if session is None else session.csrf,
            "tabs": [tab for tab in TABS if user is not None and user.may(tab.duty)],
            "path": request.url.path,
            **(context or {}),
        }
        html = self.environment.get_template(template).render(shown)
        return HTMLResponse(html, status_code=status, headers=HEADERS)
