"""Small pieces of SVG, escaped: the one place the charts build markup, so nothing unescaped reaches a page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from datetime import datetime

# An average glyph of the console's 12-unit sans-serif, for laying labels out without a font at hand; CJK glyphs
# are square, so they count double.
_GLYPH = 6.6
_FIRST_SQUARE = 0x2E80  # the CJK radicals: from here on, CJK and Hangul glyphs are square


def text_width(text: str, size: float = 12) -> float:
    """About how wide `text` is drawn at `size` units."""
    wide = sum(1 for char in text if ord(char) >= _FIRST_SQUARE)
    return (len(text) + wide) * _GLYPH * size / 12


def attributes(**values: object) -> str:
    """`name="value"` pairs, escaped; underscores in names become hyphens, None leaves a name out."""
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{escape(shown)}"')
    return " ".join(parts)


def element(tag: str, content: str = "", **values: object) -> str:
    """One element; `content` must already be markup (escape text with `escape`)."""
    given = attributes(**values)
    return f"<{tag} {given}>{content}</{tag}>" if given else f"<{tag}>{content}</{tag}>"


def label(x: float, y: float, text: str, css: str, anchor: str = "start") -> str:
    """A line of text, escaped."""
    return element("text", str(escape(text)), x=x, y=y, class_=css, text_anchor=anchor)


def tooltip(text: str) -> str:
    """A `<title>` child: what a pointer or a screen reader says of a shape."""
    return element("title", str(escape(text)))


@dataclass(frozen=True, slots=True)
class Axis:
    """Instants onto x: `start` at `left`, `stop` at `left + width`."""

    start: datetime
    stop: datetime
    left: float
    width: float

    def x(self, at: datetime) -> float:
        """Where `at` is drawn (clamped to the axis)."""
        span = (self.stop - self.start).total_seconds() or 1.0
        share = (at - self.start).total_seconds() / span
        return self.left + self.width * min(max(share, 0.0), 1.0)


def figure(ident: str, size: tuple[float, float], words: tuple[str, str], body: str, css: str) -> Markup:
    """A whole picture with its accessible name and description (WAI-ARIA: role img, labelled by its title).

    `ident` must be unique on the page; `words` are the title and the description.
    """
    width, height = size
    title, description = words
    head = element("title", str(escape(title)), id=f"{ident}-title") + element(
        "desc", str(escape(description)), id=f"{ident}-desc"
    )
    opening = attributes(
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width:.0f} {height:.0f}",
        role="img",
        aria_labelledby=f"{ident}-title {ident}-desc",
        class_=f"chart {css}",
    )
    return Markup(f"<svg {opening}>{head}{body}</svg>")  # noqa: S704 - every part above is escaped
