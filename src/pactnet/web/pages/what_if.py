"""What if an agreement ended at an instant: routes per pair and category as a heat map, and the counts.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
Asking changes nothing, so the form is a GET: the question can be bookmarked and shared.
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.policy.impact import Impact, PairImpact, RouteKind
from pactnet.services import ServiceError, agreements
from pactnet.services.impact import WhatIf, what_if
from pactnet.web.guard import AgreementViewer, refused
from pactnet.web.instants import instant_field
from pactnet.web.templating import Pages

# A cell's letter: the route is told by a word as well as by a colour.
LETTERS = {RouteKind.DIRECT: "D", RouteKind.HUB: "H", RouteKind.NONE: "–"}
# The page lists this many changed flows; the counts above cover them all.
MOST_FLOWS_SHOWN = 200
WORDS = {RouteKind.DIRECT: "direct", RouteKind.HUB: "through a hub", RouteKind.NONE: "none"}


def heat_rows(found: Impact) -> tuple[list[str], list[dict[str, Any]]]:
    """The heat map: a row per ordered pair of parties, a cell per category, before and after."""
    categories = sorted({pair.category for pair in found.pairs})
    rows: dict[tuple[str, str], dict[str, PairImpact]] = {}
    for pair in found.pairs:
        rows.setdefault((pair.sender, pair.receiver), {})[pair.category] = pair
    table = [
        {
            "sender": sender,
            "receiver": receiver,
            "cells": [cells[category] for category in categories],
            "changed": any(cells[category].changed for category in categories),
        }
        for (sender, receiver), cells in rows.items()
    ]
    return categories, table


def _context(answer: WhatIf) -> dict[str, Any]:
    found = answer.impact
    categories, rows = heat_rows(found)
    changed = [flow for flow in found.flows if flow.before != flow.after]
    return {
        "found": found,
        "categories": categories,
        "rows": rows,
        "counted": answer.counted,
        "titles": answer.titles,
        "changed_flows": changed[:MOST_FLOWS_SHOWN],
        "more_flows": max(len(changed) - MOST_FLOWS_SHOWN, 0),
        "before": found.counts(after=False),
        "after": found.counts(after=True),
        "changed_pairs": sum(pair.changed for pair in found.pairs),
    }


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the what-if page."""

    @routes.get("/ui/what-if", include_in_schema=False)
    def what_if_page(request: Request, session: AgreementViewer) -> Response:
        """The form; with an agreement and an instant, the impact as a heat map and the counts."""
        node = pages.node
        pacts = [pact["id"] for pact in agreements.list_agreements(node)]
        chosen = request.query_params.get("agreement", "")[:200]
        at, problem = instant_field(request, "at", node.now())
        context: dict[str, Any] = {"pacts": pacts, "chosen": chosen, "at": at, "problem": problem}
        if chosen and problem is None:
            try:
                context |= _context(what_if(node, session.user, chosen, at))
            except ServiceError as error:
                raise refused(error) from error
        context |= {"letters": LETTERS, "words": WORDS}
        return pages.render(request, "what_if.html", session, context, 422 if problem else 200)
