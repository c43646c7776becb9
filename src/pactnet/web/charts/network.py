"""The parties and what binds them at one instant: agreements as lines, arrangements through their hub."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pactnet.policy.lifecycle import Notice, State
from pactnet.policy.model import Arrangement
from pactnet.web.charts.svg import element, figure, label, tooltip

if TYPE_CHECKING:
    from markupsafe import Markup

    from pactnet.policy.lifecycle import Status
    from pactnet.services.timelines import Network

SIZE = 600.0
RADIUS = 200.0
NODE = 34.0


def state_class(status: Status) -> str:
    """A pact's colour at the instant: in force (with its notice), signed, not in force, ended."""
    if status.state is State.IN_FORCE and status.notice is not Notice.NONE:
        return f"notice-{status.notice.value}"
    return f"state-{status.state.value.replace('_', '-')}"


def state_words(status: Status) -> str:
    """A pact's state at the instant in words."""
    if status.state is State.IN_FORCE:
        return "in force" if status.notice is Notice.NONE else f"in force, notice {status.notice.value}"
    return status.state.value.replace("_", " ")


def _places(codes: list[str]) -> dict[str, tuple[float, float]]:
    """Each party on a circle, the first at the top, clockwise."""
    centre = SIZE / 2
    count = max(len(codes), 1)
    return {
        code: (
            centre + RADIUS * math.sin(2 * math.pi * index / count),
            centre - RADIUS * math.cos(2 * math.pi * index / count),
        )
        for index, code in enumerate(codes)
    }


def _links(picture: Network, places: dict[str, tuple[float, float]]) -> str:
    parts = []
    for pact, status in picture.pacts:
        css = f"link {state_class(status)}"
        words = tooltip(f"{pact.id}: {state_words(status)}")
        if isinstance(pact, Arrangement):
            hx, hy = places[pact.hub]
            for member in pact.members:
                if member != pact.hub:
                    mx, my = places[member]
                    parts.append(element("line", words, x1=hx, y1=hy, x2=mx, y2=my, class_=f"{css} relay"))
            continue
        (ax, ay), (bx, by) = places[pact.parties[0]], places[pact.parties[1]]
        parts.append(element("line", words, x1=ax, y1=ay, x2=bx, y2=by, class_=css))
        mid_x, mid_y = (ax + bx) / 2, (ay + by) / 2
        parts.append(label(mid_x, mid_y - 6, f"{pact.id} · {state_words(status)}", "link-label", "middle"))
    return "".join(parts)


def _parties(picture: Network, places: dict[str, tuple[float, float]]) -> str:
    hubs = {
        pact.hub for pact, status in picture.pacts if isinstance(pact, Arrangement) and status.state is State.IN_FORCE
    }
    parts = []
    for code, name in picture.parties:
        x, y = places[code]
        css = "party hub" if code in hubs else "party"
        words = tooltip(f"{code}: {name}{' (a hub in force)' if code in hubs else ''}")
        parts.append(element("circle", words, cx=x, cy=y, r=NODE, class_=css))
        parts.append(label(x, y + 5, code, "party-code", "middle"))
    return "".join(parts)


def describe(picture: Network) -> str:
    """The picture in words: each pact, who it binds and its state at the instant."""
    said = []
    for pact, status in picture.pacts:
        who = (
            f"hub {pact.hub} for {', '.join(pact.members)}"
            if isinstance(pact, Arrangement)
            else " and ".join(pact.parties)
        )
        said.append(f"{pact.id} ({who}): {state_words(status)}")
    return "; ".join(said) + "."


def draw(picture: Network) -> Markup:
    """The network at the picture's instant, as an SVG picture."""
    places = _places([code for code, _ in picture.parties])
    body = _links(picture, places) + _parties(picture, places)
    title = f"Parties and agreements at {picture.at.isoformat()}"
    return figure("network", (SIZE, SIZE), (title, describe(picture)), body, "network")
