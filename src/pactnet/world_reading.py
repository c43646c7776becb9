"""The primitives of reading a world file: every value checked where it stands, every issue kept with its path."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pactnet.errors import WorldIssue
from pactnet.policy.clock import RFC3339, parse_instant
from pactnet.policy.durations import Duration
from pactnet.policy.model import (
    EquivalenceRow,
    LateNotice,
    OnwardRelease,
    Party,
    RelayConsent,
    Report,
    ResumedNotice,
    Scope,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pactnet.policy.lifecycle import Terms

_E = TypeVar("_E", bound=StrEnum)

_ASCII_ID = re.compile(r"[A-Za-z0-9_.-]+")
_ID_SYMBOLS = frozenset("_.-")


def is_identifier(text: str) -> bool:
    """Fine print: ids and codes are letters and marks of any script, decimal digits, '-', '_' and '.'."""
    if _ASCII_ID.fullmatch(text) is not None:
        return True  # the common case, at the cost of one match
    return bool(text) and all(
        char in _ID_SYMBOLS or unicodedata.category(char)[0] in "LM" or unicodedata.category(char) == "Nd"
        for char in text
    )


def string_set(value: object) -> frozenset[str] | None:
    """The set of a list of non-empty strings, or None when it is anything else."""
    if not isinstance(value, list):
        return None
    for item in value:
        if not isinstance(item, str) or not item:
            return None
    return frozenset(value)


def instant_of(value: object) -> datetime | None:
    """An RFC 3339 instant in UTC, or None when it is not one (the reader then says why)."""
    try:
        if isinstance(value, str):
            if RFC3339.fullmatch(value) is None:
                return None
            try:
                return datetime.fromisoformat(value.upper()).astimezone(UTC)
            except (ValueError, OverflowError):
                return parse_instant(value).astimezone(UTC)  # the year 0 of an offset, or an error
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None
    return None


def show(value: object) -> str:  # noqa: PLR0911 - one answer per TOML type
    """How a value found in a file is named in an error message."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date):
        return f"the TOML date-time {value.isoformat()}"
    return type(value).__name__


def choices(values: Iterable[object]) -> str:
    """Values listed for a message: `a, b, c`."""
    return ", ".join(str(value) for value in values)


@dataclass(slots=True)
class StaticAgreement:
    """An agreement's parts as read, before its events are replayed."""

    id: str
    title: str
    parties: tuple[str, str]
    equivalence: tuple[EquivalenceRow, ...]
    scope: Scope
    zone: tzinfo
    zone_name: str
    terms: Terms
    late_notice: LateNotice
    resumed_notice: ResumedNotice
    onward_release: OnwardRelease


@dataclass(slots=True)
class StaticArrangement:
    """An arrangement as read, before its events are replayed."""

    id: str
    title: str
    hub: str
    members: tuple[str, ...]
    scope: Scope
    consent: RelayConsent


class ReaderBase:
    """Reads values of a parsed TOML document, collecting every issue on the way."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[WorldIssue] = []
        self.parties: dict[str, Party] = {}
        self.agreements: dict[str, StaticAgreement] = {}
        self.arrangements: dict[str, StaticArrangement] = {}
        self.reports: dict[str, Report] = {}
        self.pact_ids: set[str] = set()

    # -- primitives -----------------------------------------------------------------------------------
    def issue(self, path: str, found: str, expected: str) -> None:
        """Record one issue: where, what was found, what was expected."""
        self.issues.append(WorldIssue(path, found, expected))

    def keys(self, table: dict[str, Any], path: str, allowed: frozenset[str], required: tuple[str, ...]) -> None:
        """Every unknown key and every missing required key of a table."""
        prefix = f"{path}." if path else ""
        for key in table:
            if key not in allowed:
                name = key or '""'
                self.issue(f"{prefix}{name}", f"the unknown key {key!r}", f"one of {choices(sorted(allowed))}")
        for key in required:
            if key not in table:
                self.issue(f"{prefix}{key}", "nothing", f"the required key {key!r}")

    def table(self, value: object, path: str, what: str = "a table") -> dict[str, Any] | None:
        """The value if it is a table, else None with an issue."""
        if isinstance(value, dict):
            return value
        self.issue(path, show(value), what)
        return None

    def text(self, value: object, path: str, what: str = "a non-empty string") -> str | None:
        """The value if it is a non-empty string, else None with an issue."""
        if isinstance(value, str) and value:
            return value
        self.issue(path, show(value), what)
        return None

    def identifier(self, value: object, path: str) -> str | None:
        """The value if it is an id (is_identifier), else None with an issue."""
        if isinstance(value, str) and is_identifier(value):
            return value
        self.issue(path, show(value), "an id of letters, digits, '-', '_' and '.'")
        return None

    def strings(self, value: object, path: str, *, allow_empty: bool = False) -> list[str] | None:
        """The value if it is an array of non-empty strings, else None with an issue per bad item."""
        if not isinstance(value, list) or (not value and not allow_empty):
            self.issue(path, show(value), "an array of strings" if allow_empty else "a non-empty array of strings")
            return None
        good = True
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                self.issue(f"{path}[{index}]", show(item), "a non-empty string")
                good = False
        return value if good else None

    def party(self, value: object, path: str) -> str | None:
        """The value if it names a party of the world, else None with an issue."""
        if isinstance(value, str) and value in self.parties:
            return value
        self.issue(path, f"the party {show(value)}", f"a party of the world ({choices(self.parties)})")
        return None

    def party_list(self, value: object, path: str, minimum: int) -> list[str] | None:
        """An array of distinct party codes of the world, at least `minimum` long; None if not."""
        codes = self.strings(value, path)
        if codes is None:
            return None
        good = len(codes) >= minimum
        if not good:
            self.issue(path, show(codes), f"at least {minimum} party codes")
        for index, code in enumerate(codes):
            if self.party(code, f"{path}[{index}]") is None:
                good = False
            elif code in codes[:index]:
                self.issue(f"{path}[{index}]", f"{code} a second time", "each party once")
                good = False
        return codes if good else None

    def instant(self, value: object, path: str) -> datetime | None:
        """An RFC 3339 instant (text or TOML date-time) in UTC; None with an issue if not one."""
        if isinstance(value, datetime) and value.tzinfo is not None:
            try:
                return value.astimezone(UTC)
            except OverflowError:
                self.issue(path, show(value), "an instant from the year 1 to the year 9999 in UTC")
                return None
        if isinstance(value, str):
            try:
                return parse_instant(value).astimezone(UTC)
            except ValueError as error:
                self.issue(path, show(value), str(error))
                return None
        self.issue(path, show(value), 'an RFC 3339 instant with an offset, e.g. "2019-11-23T00:00:00+09:00"')
        return None

    def duration(self, value: object, path: str) -> Duration | None:
        """An ISO 8601 duration, None when absent; None with an issue when invalid."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.issue(path, show(value), 'an ISO 8601 duration string such as "P1Y" or "P90D"')
            return None
        try:
            return Duration.parse(value)
        except ValueError as error:
            self.issue(path, show(value), str(error))
            return None

    def choice(self, value: object, path: str, kind: type[_E], default: _E) -> _E:
        """The member of `kind` the value names, the default when absent; the default with an issue if none."""
        if value is None:
            return default
        for member in kind:
            if member.value == value:
                return member
        self.issue(path, show(value), f"one of {choices(f'{chr(34)}{member}{chr(34)}' for member in kind)}")
        return default

    def scope(self, value: object, path: str, *, default_all: bool) -> Scope | None:
        """A scope: an array of categories ("*" covers all), or "*" when absent and `default_all`."""
        if value is None and default_all:
            return Scope(("*",))
        categories = self.strings(value, path)
        return None if categories is None else Scope(tuple(categories))
