"""An agreement's life as a picture: in-force periods, notice bands, renewals, deadlines, amendments, now, the end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pactnet.policy.lifecycle import Notice, State
from pactnet.web.charts.network import state_class
from pactnet.web.charts.svg import Axis, element, figure, label, text_width, tooltip

if TYPE_CHECKING:
    from datetime import tzinfo

    from markupsafe import Markup

    from pactnet.policy.timeline import Period
    from pactnet.services.timelines import PactTimeline

WIDTH = 1000.0
LEFT, RIGHT = 20.0, 20.0
LANE = 17.0  # the height of one row of event labels
BAND = 34.0  # the height of the band of periods
LANES = 6  # rows of event labels above the band; a label that fits none is left to the table below the chart


def band_class(period: Period) -> str:
    """The CSS class of a period's band: its state, and its notice while in force."""
    return f"band {state_class(period.state, period.notice)}"


def band_words(period: Period) -> str:
    """A period's state in words, as the legend and the tooltips say it."""
    if period.state is State.IN_FORCE:
        return {
            Notice.NONE: "in force",
            Notice.PENDING: "in force, notice of termination pending",
            Notice.SUSPENDED: "in force, notice suspended",
        }[period.notice]
    return {State.SIGNED: "signed, not yet in force", State.TERMINATED: "ended"}.get(period.state, "not in force")


def day(at: datetime, zone: tzinfo) -> str:
    """A date as the agreement's zone reads it."""
    return at.astimezone(zone).strftime("%Y-%m-%d")


def countdown(chart: PactTimeline) -> str:
    """What comes next, counted in days from now: the scheduled end, else the end of the term."""
    status, now = chart.status, chart.now
    if status.ended_at is not None:
        return f"ended {day(status.ended_at, chart.pact.zone)}"
    if status.ends_at is not None:
        return f"scheduled end in {(status.ends_at - now).days} days"
    if status.term_ends is not None:
        return f"term ends in {(status.term_ends - now).days} days (renews unless notice is given)"
    return "no end scheduled"


def _axis(chart: PactTimeline) -> Axis:
    start = chart.periods[0].start if chart.periods else chart.now
    ends = [chart.now, *(p.stop for p in chart.periods if p.stop is not None), *(end.at for end in chart.term_ends)]
    ends += [moment for moment in (chart.status.ends_at, chart.status.ended_at) if moment is not None]
    stop = max(ends)
    margin = max((stop - start) / 40, timedelta(days=1))
    return Axis(start, stop + margin, LEFT, WIDTH - LEFT - RIGHT)


def _bands(chart: PactTimeline, axis: Axis, top: float) -> str:
    """A rectangle per period; what lies ahead of now (as it stands today) drawn paler."""
    shapes = []
    zone = chart.pact.zone
    for period in chart.periods:
        stop = period.stop if period.stop is not None else axis.stop
        until = "open-ended" if period.stop is None else day(period.stop, zone)
        words = tooltip(f"{day(period.start, zone)} to {until}: {band_words(period)}")
        pieces = ((period.start, min(stop, chart.now), ""), (max(period.start, chart.now), stop, " ahead"))
        for begin, end, css in pieces:
            if begin < end:
                x0, x1 = axis.x(begin), axis.x(end)
                width = max(x1 - x0, 1.0)
                shapes.append(
                    element("rect", words, x=x0, y=top, width=width, height=BAND, class_=band_class(period) + css)
                )
    return "".join(shapes)


def _events(chart: PactTimeline) -> list[tuple[datetime, str]]:
    """The moments worth a label: every period opening with something said, but not the renewals."""
    events = []
    for period in chart.periods:
        said = [part for part in period.what.split("; ") if part and not part.startswith("term ends")]
        if said:
            events.append((period.start, "; ".join(said)))
    events += [(at, "amended") for at in chart.amendments]
    return sorted(events)


def _lay_out(axis: Axis, events: list[tuple[datetime, str]], zone: tzinfo) -> list[tuple[float, int, str]]:
    """Each label (dated) with its x and lane: the lowest lane free at its x, so that no two labels overlap.

    A label that would run past the right edge is drawn leftwards from its mark, and takes its lane from there.
    """
    free_from = [0.0] * LANES
    placed = []
    for at, what in events:
        x = axis.x(at)
        text = f"{day(at, zone)} {what}"
        width = text_width(text, 11) + 12
        span = (x - width, x) if x + width > WIDTH - RIGHT else (x, x + width)
        for lane in range(LANES):
            if free_from[lane] <= span[0]:
                placed.append((x, lane, text))
                free_from[lane] = span[1]
                break
    return placed


def _labels(placed: list[tuple[float, int, str]], band_top: float) -> str:
    parts = []
    for x, lane, text in placed:
        y = band_top - 8 - lane * LANE
        parts.append(element("line", x1=x, y1=y + 3, x2=x, y2=band_top + BAND, class_="event-line"))
        anchor = "end" if x + text_width(text, 11) + 12 > WIDTH - RIGHT else "start"
        shift = -3 if anchor == "end" else 3
        parts.append(label(x + shift, y, text, "event", anchor))
    return "".join(parts)


def _ticks(chart: PactTimeline, axis: Axis, top: float) -> str:
    """Term ends (renewals) as ticks across the band, and each deadline for notice as a small mark below it."""
    parts = []
    zone = chart.pact.zone
    for end in chart.term_ends:
        x = axis.x(end.at)
        renewal = tooltip(f"term ends {day(end.at, zone)}")
        parts.append(element("line", renewal, x1=x, y1=top - 4, x2=x, y2=top + BAND + 4, class_="term-end"))
        if end.deadline is not None and axis.start <= end.deadline:
            d = axis.x(end.deadline)
            words = f"deadline for notice to end the agreement on {day(end.at, zone)}: before {day(end.deadline, zone)}"
            parts.append(element("path", tooltip(words), d=f"M{d:.1f},{top + BAND + 2} l-4,8 h8 z", class_="deadline"))
    return "".join(parts)


def _years(axis: Axis, top: float) -> str:
    """A tick and a label at each new year (every second one on a long axis)."""
    parts = []
    first, last = axis.start.year + 1, axis.stop.year
    step = 1 if last - first < 16 else 2  # noqa: PLR2004 - a label every year fits up to 16 years
    for year in range(first, last + 1, step):
        x = axis.x(datetime(year, 1, 1, tzinfo=axis.start.tzinfo))
        parts.append(element("line", x1=x, y1=top, x2=x, y2=top + 5, class_="axis"))
        parts.append(label(x, top + 17, str(year), "year", "middle"))
    return element("line", x1=axis.left, y1=top, x2=axis.left + axis.width, y2=top, class_="axis") + "".join(parts)


def _marks(chart: PactTimeline, axis: Axis, top: float) -> str:
    """Now (with what comes next, counted down), the scheduled end, and the end itself."""
    parts = []
    zone = chart.pact.zone
    bottom = top + BAND + 14
    ends = (chart.status.ends_at, "scheduled end"), (chart.status.ended_at, "ended")
    for at, word in ends:
        if at is not None:
            x = axis.x(at)
            words = f"{word} {day(at, zone)}"
            parts.append(element("line", tooltip(words), x1=x, y1=top - 6, x2=x, y2=bottom, class_="end-mark"))
    x = axis.x(chart.now)
    words = f"now ({day(chart.now, zone)}): {countdown(chart)}"
    parts.append(element("line", tooltip(words), x1=x, y1=top - 6, x2=x, y2=bottom + 34, class_="now"))
    anchor = "end" if x > WIDTH / 2 else "start"
    parts.append(label(x + (-4 if anchor == "end" else 4), bottom + 32, words, "now-label", anchor))
    return "".join(parts)


LEGEND = (
    ("swatch state-in-force", "in force"),
    ("swatch notice-pending", "notice pending"),
    ("swatch notice-suspended", "notice suspended"),
    ("swatch state-terminated", "ended"),
)


def _legend(top: float) -> str:
    parts = []
    x = LEFT
    for css, words in LEGEND:
        parts.append(element("rect", x=x, y=top, width=18.0, height=12.0, class_=css))
        parts.append(label(x + 24, top + 10, words, "legend"))
        x += 40 + text_width(words, 11)
    parts.append(element("line", x1=x, y1=top - 1, x2=x, y2=top + 13, class_="term-end"))
    parts.append(label(x + 6, top + 10, "term end (renewal)", "legend"))
    x += 30 + text_width("term end (renewal)", 11)
    parts.append(element("path", d=f"M{x:.1f},{top + 1} l-5,10 h10 z", class_="deadline"))
    parts.append(label(x + 10, top + 10, "deadline for notice", "legend"))
    return "".join(parts)


def describe(chart: PactTimeline) -> str:
    """The picture in words, for a screen reader: each period in turn, then what comes next."""
    zone = chart.pact.zone
    said = []
    for period in chart.periods:
        what = f" ({period.what})" if period.what else ""
        said.append(f"from {day(period.start, zone)}: {band_words(period)}{what}")
    return "; ".join(said) + f". Now: {countdown(chart)}."


def draw(chart: PactTimeline, ident: str) -> Markup:
    """The whole timeline of one agreement or arrangement, as an SVG picture."""
    axis = _axis(chart)
    placed = _lay_out(axis, _events(chart), chart.pact.zone)
    lanes = 1 + max((lane for _, lane, _ in placed), default=0)
    band_top = 16 + lanes * LANE
    body = "".join(
        [
            _bands(chart, axis, band_top),
            _ticks(chart, axis, band_top),
            _labels(placed, band_top),
            _years(axis, band_top + BAND + 14),
            _marks(chart, axis, band_top),
            _legend(band_top + BAND + 66),
        ]
    )
    title = f"{chart.pact.id}: {chart.pact.title}"
    return figure(ident, (WIDTH, band_top + BAND + 86), (title, describe(chart)), body, "timeline")
