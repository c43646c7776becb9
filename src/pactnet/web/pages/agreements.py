"""The agreements: each one the party is in, its state now and its timeline; and the network at an instant.

No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from pactnet.services import ServiceError, timelines
from pactnet.services.roles import Duty
from pactnet.web.charts import network, timeline
from pactnet.web.guard import AgreementViewer, refused
from pactnet.web.instants import instant_field
from pactnet.web.templating import Pages


def install(routes: APIRouter, pages: Pages) -> None:
    """Add the agreements pages."""

    @routes.get("/ui/agreements", include_in_schema=False)
    def agreements(request: Request, session: AgreementViewer) -> Response:
        """Every agreement and arrangement the party is in: state now, countdown, and the timeline."""
        charts = [
            {"chart": chart, "svg": timeline.draw(chart, f"t{index}"), "next": timeline.countdown(chart)}
            for index, chart in enumerate(timelines.party_timelines(pages.node))
        ]
        return pages.render(request, "agreements.html", session, {"charts": charts})

    @routes.get("/ui/agreements/{pact_id}", include_in_schema=False)
    def agreement(request: Request, pact_id: str, session: AgreementViewer) -> Response:
        """One agreement: the timeline, and every period in a table."""
        try:
            chart = timelines.pact_timeline(pages.node, pact_id[:200])
        except ServiceError as error:
            raise refused(error) from error
        context = {
            "chart": chart,
            "svg": timeline.draw(chart, "t0"),
            "next": timeline.countdown(chart),
            "words": timeline.band_words,
            "record_act": Duty.RECORD_ACT,
        }
        return pages.render(request, "agreement.html", session, context)

    @routes.get("/ui/network", include_in_schema=False)
    def network_page(request: Request, session: AgreementViewer) -> Response:
        """Parties, agreements and hubs, coloured by their state at the instant asked (now by default)."""
        at, problem = instant_field(request, "at", pages.node.now())
        picture = timelines.network_at(pages.node, at)
        context = {"svg": network.draw(picture), "picture": picture, "at": at, "problem": problem}
        return pages.render(request, "network.html", session, context, 422 if problem else 200)
