"""The parties and what binds them at one instant: agreements as lines, arrangements through their hub."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pactnet.policy.lifecycle import Notice, State
from pactnet.policy.model import Arrangement
from pactnet.web.charts.svg import element, figure, label, text_width, tooltip

if TYPE_CHECKING:
    from markupsafe import Markup

    from pactnet.policy.lifecycle import Status
    from pactnet.services.timelines import Network

WIDTH, HEIGHT = 820.0, 560.0
CENTRE = (WIDTH / 2, HEIGHT / 2 - 10)
RADIUS = 180.0
NODE = 34.0
BOW = 90.0  # how far a relay's curve bows out from the straight line between hub and member
SIDEWAYS = 0.3  # a label whose link points this far sideways from the centre is anchored away from it


def state_class(state: State, notice: Notice) -> str:
    """A pact's colour (console.css): in force (with its notice), signed, not in force, ended; here and on timelines."""
    if state is State.IN_FORCE and notice is not Notice.NONE:
        return f"notice-{notice.value}"
    return f"state-{state.value.replace('_', '-')}"


def state_words(status: Status) -> str:
    """A pact's state at the instant in words."""
    if status.state is State.IN_FORCE:
        return "in force" if status.notice is Notice.NONE else f"in force, notice {status.notice.value}"
    return status.state.value.replace("_", " ")


def _places(codes: list[str]) -> dict[str, tuple[float, float]]:
    """Each party on a circle, the first at the top, clockwise."""
    count = max(len(codes), 1)
    return {
        code: (
            CENTRE[0] + RADIUS * math.sin(2 * math.pi * index / count),
            CENTRE[1] + 20 - RADIUS * math.cos(2 * math.pi * index / count),
        )
        for index, code in enumerate(codes)
    }


def _outward(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, float, float]:
    """The midpoint of a link and the unit vector from the picture's centre through it (labels go that way)."""
    mid_x, mid_y = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    dx, dy = mid_x - CENTRE[0], mid_y - CENTRE[1]
    length = math.hypot(dx, dy) or 1.0
    return mid_x, mid_y, dx / length, dy / length


def _link_label(x: float, y: float, nx: float, text: str) -> str:
    anchor = "start" if nx > SIDEWAYS else ("end" if nx < -SIDEWAYS else "middle")
    return label(x, y + 4, text, "link-label", anchor)


def _links(picture: Network, places: dict[str, tuple[float, float]]) -> str:
    """An agreement is a straight line; an arrangement's relay, a curve bowed outwards from its hub to a member."""
    parts = []
    for pact, status in picture.pacts:
        css = f"link {state_class(status.state, status.notice)}"
        words = f"{pact.id} · {state_words(status)}"
        if isinstance(pact, Arrangement):
            hub = places[pact.hub]
            for member in pact.members:
                if member == pact.hub:
                    continue
                mid_x, mid_y, nx, ny = _outward(hub, places[member])
                end = places[member]
                control = f"{mid_x + nx * BOW:.1f},{mid_y + ny * BOW:.1f}"
                bend = f"M{hub[0]:.1f},{hub[1]:.1f} Q{control} {end[0]:.1f},{end[1]:.1f}"
                parts.append(
                    element("path", tooltip(f"{words} (relay through {pact.hub})"), d=bend, class_=f"{css} relay")
                )
                top_x, top_y = mid_x + nx * (BOW / 2 + 26), mid_y + ny * (BOW / 2 + 26)
                parts.append(_link_label(top_x, top_y, nx, f"{pact.id} (via {pact.hub}) · {state_words(status)}"))
            continue
        a, b = places[pact.parties[0]], places[pact.parties[1]]
        parts.append(element("line", tooltip(words), x1=a[0], y1=a[1], x2=b[0], y2=b[1], class_=css))
        mid_x, mid_y, nx, ny = _outward(a, b)
        parts.append(_link_label(mid_x + nx * 10, mid_y + ny * 10, nx, words))
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
    body = _links(picture, places) + _parties(picture, places) + _legend()
    title = f"Parties and agreements at {picture.at.isoformat()}"
    return figure("network", (WIDTH, HEIGHT), (title, describe(picture)), body, "network")


LEGEND = (
    ("state-in-force", "in force"),
    ("notice-pending", "notice pending"),
    ("notice-suspended", "notice suspended"),
    ("state-terminated", "ended"),
    ("state-signed", "signed, not in force"),
)


def _legend() -> str:
    """What the colours and dashes say."""
    parts = []
    x, y = 20.0, HEIGHT - 16
    for css, words in LEGEND:
        parts.append(element("line", x1=x, y1=y - 4, x2=x + 24, y2=y - 4, class_=f"link {css}"))
        parts.append(label(x + 30, y, words, "link-label"))
        x += 44 + text_width(words, 11)
    parts.append(element("path", d=f"M{x:.1f},{y - 4} q12,-10 24,0", class_="link state-in-force relay"))
    parts.append(label(x + 30, y, "relay through a hub", "link-label"))
    return "".join(parts)
