"""The audit log: whether it verifies and up to which entry, the last checkpoint, and the entries, filterable.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
Entries are shown exactly as `GET /api/v1/audit` shows them to the same user: an entry about an item the user
may not read is redacted (docs/node.md, "The audit log, redacted").
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.services import audit
from pactnet.services.context import Node
from pactnet.services.users import User
from pactnet.web.guard import AuditReader
from pactnet.web.templating import Pages

SHOWN = 100  # entries on a page
WINDOW = 1000  # entries read to fill a page when a kind is asked for
_LONGEST_KIND = 40


def _number(request: Request, name: str) -> tuple[int, str | None]:
    given = request.query_params.get(name, "").strip()
    if not given:
        return 0, None
    if not given.isdigit() or len(given) > len(str(2**63)):
        return 0, f"{name}: {given[:20]!r} is not an entry number; write a whole number such as 120."
    return int(given), None


def entries_page(node: Node, user: User, after: int, kind: str) -> tuple[list[dict[str, Any]], int | None]:
    """Up to SHOWN entries after `after` (of `kind` if given), as the user may see them; where to go on from."""
    window = audit.page(node, user, after, WINDOW if kind else SHOWN, with_verification=False)
    entries = window["entries"]
    if not kind:
        return entries, window["next_after"]
    matched = [entry for entry in entries if entry["kind"] == kind]
    if len(matched) > SHOWN:
        return matched[:SHOWN], matched[SHOWN - 1]["seq"]
    return matched, window["next_after"]


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the audit page."""

    @routes.get("/ui/audit", include_in_schema=False)
    def audit_page(request: Request, session: AuditReader) -> Response:
        """Verification, the last checkpoint, and a page of entries (after an entry, of a kind)."""
        node = pages.node
        after, problem = _number(request, "after")
        kind = request.query_params.get("kind", "").strip()[:_LONGEST_KIND]
        verification = audit.verify(node)
        entries, next_after = entries_page(node, session.user, after, kind)
        context = {
            "verification": verification,
            "checkpoint": audit.last_checkpoint(node),
            "entries": entries,
            "next_after": next_after,
            "after": after,
            "kind": kind,
            "problem": problem,
            "latest": max(verification.entries - SHOWN, 0),
        }
        return pages.render(request, "audit.html", session, context, 422 if problem else 200)
