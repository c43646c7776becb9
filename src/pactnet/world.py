"""The world file: `pactnet.world/1` TOML in, validated policy objects out, every error at once, with paths."""

from __future__ import annotations

import gc
import json
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import tomli

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

from pactnet.errors import WorldError, WorldIssue
from pactnet.policy.clock import RFC3339, parse_instant, parse_timezone
from pactnet.policy.durations import Duration
from pactnet.policy.events import CONSENT_ACTS, NOTICE_ACTS, Event, EventType, in_order
from pactnet.policy.lifecycle import Terms, replay
from pactnet.policy.model import (
    ALL_CATEGORIES,
    Agreement,
    AgreementText,
    Arrangement,
    Consent,
    EquivalenceRow,
    LateNotice,
    OnwardRelease,
    Party,
    RelayConsent,
    Report,
    ResumedNotice,
    Scope,
    World,
)

_E = TypeVar("_E", bound=StrEnum)

FORMAT = "pactnet.world/1"
BUNDLED = ("gsomia-2019", "gsomia-2019-no-suspension")

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


_TOP_KEYS = frozenset({"format", "parties", "agreements", "arrangements", "events", "reports"})
_PARTY_KEYS = frozenset({"name", "levels", "aliases"})
_AGREEMENT_KEYS = frozenset(
    {
        "title",
        "parties",
        "equivalence",
        "scope",
        "timezone",
        "term",
        "renewal",
        "notice_period",
        "late_notice",
        "resumed_notice",
        "onward_release",
    }
)
_ARRANGEMENT_KEYS = frozenset({"title", "hub", "members", "scope", "consent"})
_REPORT_KEYS = frozenset({"id", "originator", "level", "categories", "rel_to", "created"})
_EVENT_KEYS: dict[EventType, frozenset[str]] = {
    kind: frozenset({"at", "type", "id", "agreement"})
    for kind in (EventType.SIGN, EventType.ENTER_INTO_FORCE, EventType.TERMINATE)
}
_EVENT_KEYS |= {kind: frozenset({"at", "type", "id", "agreement", "by"}) for kind in NOTICE_ACTS}
_EVENT_KEYS[EventType.AMEND] = frozenset({"at", "type", "id", "agreement", "set"})
_EVENT_KEYS[EventType.GRANT_CONSENT] = frozenset({"at", "type", "id", "by", "report", "to", "arrangement", "until"})
_EVENT_KEYS[EventType.REVOKE_CONSENT] = frozenset({"at", "type", "id", "by", "report", "to", "arrangement"})
_EVENT_TYPES = {member.value: member for member in EventType}
_ARRANGEMENT_EVENTS = frozenset({EventType.SIGN, EventType.ENTER_INTO_FORCE, EventType.TERMINATE, EventType.AMEND})


def _strings(value: object) -> frozenset[str] | None:
    """The set of a list of non-empty strings, or None when it is anything else."""
    if not isinstance(value, list):
        return None
    for item in value:
        if not isinstance(item, str) or not item:
            return None
    return frozenset(value)


def _instant(value: object) -> datetime | None:
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


def _choices(values: Iterable[object]) -> str:
    return ", ".join(str(value) for value in values)


@dataclass(slots=True)
class _Static:
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
class _StaticArrangement:
    id: str
    title: str
    hub: str
    members: tuple[str, ...]
    scope: Scope
    consent: RelayConsent


class _Reader:
    """Reads a parsed TOML document into a World, collecting every issue on the way."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[WorldIssue] = []
        self.parties: dict[str, Party] = {}
        self.agreements: dict[str, _Static] = {}
        self.arrangements: dict[str, _StaticArrangement] = {}
        self.reports: dict[str, Report] = {}
        self.pact_ids: set[str] = set()

    # -- primitives -----------------------------------------------------------------------------------
    def issue(self, path: str, found: str, expected: str) -> None:
        self.issues.append(WorldIssue(path, found, expected))

    def keys(self, table: dict[str, Any], path: str, allowed: frozenset[str], required: tuple[str, ...]) -> None:
        prefix = f"{path}." if path else ""
        for key in table:
            if key not in allowed:
                name = key or '""'
                self.issue(f"{prefix}{name}", f"the unknown key {key!r}", f"one of {_choices(sorted(allowed))}")
        for key in required:
            if key not in table:
                self.issue(f"{prefix}{key}", "nothing", f"the required key {key!r}")

    def table(self, value: object, path: str, what: str = "a table") -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.issue(path, show(value), what)
        return None

    def text(self, value: object, path: str, what: str = "a non-empty string") -> str | None:
        if isinstance(value, str) and value:
            return value
        self.issue(path, show(value), what)
        return None

    def identifier(self, value: object, path: str) -> str | None:
        if isinstance(value, str) and is_identifier(value):
            return value
        self.issue(path, show(value), "an id of letters, digits, '-', '_' and '.'")
        return None

    def strings(self, value: object, path: str, *, allow_empty: bool = False) -> list[str] | None:
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
        if isinstance(value, str) and value in self.parties:
            return value
        self.issue(path, f"the party {show(value)}", f"a party of the world ({_choices(self.parties)})")
        return None

    def party_list(self, value: object, path: str, minimum: int) -> list[str] | None:
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
        if value is None:
            return default
        for member in kind:
            if member.value == value:
                return member
        self.issue(path, show(value), f"one of {_choices(f'{chr(34)}{member}{chr(34)}' for member in kind)}")
        return default

    def scope(self, value: object, path: str, *, default_all: bool) -> Scope | None:
        if value is None and default_all:
            return Scope(("*",))
        categories = self.strings(value, path)
        return None if categories is None else Scope(tuple(categories))

    # -- sections ---------------------------------------------------------------------------------------
    def read(self, document: dict[str, Any]) -> World:
        self.keys(document, "", _TOP_KEYS, ("format", "parties"))
        fmt = document.get("format")
        if "format" in document and fmt != FORMAT:
            self.issue("format", show(fmt), f'exactly "{FORMAT}"')
        self.read_parties(document.get("parties", {}))
        self.read_agreements(self.section(document, "agreements"))
        self.read_arrangements(self.section(document, "arrangements"))
        self.read_reports(self.array(document, "reports"))
        events = self.read_events(self.array(document, "events"))
        agreements, arrangements = self.replay_all(events)
        consents = self.read_consents(events)
        if self.issues:
            raise WorldError(self.source, self.issues)
        return World.build(self.source, self.parties, agreements, arrangements, tuple(events), self.reports, consents)

    def section(self, document: dict[str, Any], key: str) -> dict[str, Any]:
        return self.table(document.get(key, {}), key, "a table of tables") or {}

    def array(self, document: dict[str, Any], key: str) -> list[Any]:
        value = document.get(key, [])
        if isinstance(value, list):
            return value
        self.issue(key, show(value), f"an array of tables ([[{key}]])")
        return []

    def read_parties(self, value: object) -> None:
        parties = self.table(value, "parties", "a table of parties, e.g. [parties.JPN]")
        for code, raw in (parties or {}).items():
            path = f"parties.{code}"
            if self.identifier(code, path) is None:
                continue
            table = self.table(raw, path)
            if table is None:
                continue
            self.keys(table, path, _PARTY_KEYS, ("levels",))
            name = self.text(table.get("name", code), f"{path}.name")
            levels = self.strings(table.get("levels"), f"{path}.levels") if "levels" in table else None
            if levels is None:
                continue
            for index, level in enumerate(levels):
                if level in levels[:index]:
                    self.issue(f"{path}.levels[{index}]", f"{show(level)} a second time", "each level once")
            aliases = self.table(table.get("aliases", {}), f"{path}.aliases", "a table label = level") or {}
            good_aliases: dict[str, str] = {}
            for label, level in aliases.items():
                if label in levels:
                    self.issue(
                        f"{path}.aliases.{label}",
                        "an alias that is already a level",
                        "a label other than the levels",
                    )
                elif level not in levels:
                    self.issue(f"{path}.aliases.{label}", show(level), f"a level of {code} ({_choices(levels)})")
                else:
                    good_aliases[label] = level
            self.parties[code] = Party.build(code, name or code, tuple(levels), good_aliases)

    def claim_id(self, pact_id: str, path: str) -> bool:
        if self.identifier(pact_id, path) is None:
            return False
        if pact_id in self.pact_ids:
            self.issue(path, f"the id {pact_id} a second time", "ids unique across agreements and arrangements")
            return False
        self.pact_ids.add(pact_id)
        return True

    def read_agreements(self, agreements: dict[str, Any]) -> None:
        for pact_id, raw in agreements.items():
            path = f"agreements.{pact_id}"
            if not self.claim_id(pact_id, path):
                continue
            table = self.table(raw, path)
            if table is None:
                continue
            static = self.read_agreement(pact_id, table, path)
            if static is not None:
                self.agreements[pact_id] = static

    def read_agreement(self, pact_id: str, table: dict[str, Any], path: str) -> _Static | None:
        self.keys(table, path, _AGREEMENT_KEYS, ("parties", "equivalence"))
        title = self.text(table.get("title", pact_id), f"{path}.title") or pact_id
        codes = self.party_list(table.get("parties"), f"{path}.parties", 2) if "parties" in table else None
        if codes is not None and len(codes) != 2:  # noqa: PLR2004 - bilateral
            self.issue(f"{path}.parties", show(codes), "exactly 2 party codes (an agreement is bilateral)")
            codes = None
        pair = (codes[0], codes[1]) if codes else None
        equivalence = None
        if pair is not None and "equivalence" in table:
            equivalence = self.equivalence(table["equivalence"], f"{path}.equivalence", pair)
        scope = self.scope(table.get("scope"), f"{path}.scope", default_all=True)
        zone_name = table.get("timezone", "+00:00")
        zone: tzinfo | None = None
        try:
            zone = parse_timezone(zone_name) if isinstance(zone_name, str) else parse_timezone("")
        except ValueError as error:
            self.issue(f"{path}.timezone", show(zone_name), str(error))
        term = self.duration(table.get("term"), f"{path}.term")
        renewal = self.duration(table.get("renewal"), f"{path}.renewal")
        notice_period = self.duration(table.get("notice_period"), f"{path}.notice_period")
        durations = {"term": term, "renewal": renewal, "notice_period": notice_period}
        if renewal is not None and term is None and "term" not in table:
            self.issue(f"{path}.renewal", "renewal without a term", "a term to renew (or no renewal)")
        fixed_term = table.get("term") is not None and table.get("renewal") is None
        if table.get("notice_period") is None and not fixed_term:
            self.issue(f"{path}.notice_period", "nothing", "a notice period (required unless a term has no renewal)")
        late = self.choice(table.get("late_notice"), f"{path}.late_notice", LateNotice, LateNotice.NEXT_TERM)
        resumed = self.choice(
            table.get("resumed_notice"), f"{path}.resumed_notice", ResumedNotice, ResumedNotice.AT_TERM_END
        )
        onward = self.choice(
            table.get("onward_release"),
            f"{path}.onward_release",
            OnwardRelease,
            OnwardRelease.ORIGINATOR_CONSENT,
        )
        # Other issues are already reported; the agreement is still replayed, so that its events are checked
        # too, whenever what the replay needs (parties, clock, durations) is sound. A broken equivalence or
        # scope does not stop the replay: the world is not built anyway, as an issue is already recorded.
        if pair is None or zone is None:
            return None
        equivalence = equivalence if equivalence is not None else ()
        scope = scope if scope is not None else Scope((ALL_CATEGORIES,))
        unreadable = any(table.get(key) is not None and value is None for key, value in durations.items())
        if unreadable or (renewal is not None and term is None) or (notice_period is None and not fixed_term):
            return None
        terms = Terms(pact_id, pair, zone, term, renewal, notice_period, late, resumed)
        return _Static(pact_id, title, pair, equivalence, scope, zone, str(zone_name), terms, late, resumed, onward)

    def equivalence(self, value: object, path: str, pair: tuple[str, str]) -> tuple[EquivalenceRow, ...] | None:
        if not isinstance(value, list) or not value:
            self.issue(path, show(value), 'a non-empty array of rows such as { JPN = "秘", ROK = "군사III급비밀" }')
            return None
        before = len(self.issues)
        rows: list[EquivalenceRow] = []
        seen: dict[tuple[str, str], tuple[int, str]] = {}
        for index, raw in enumerate(value):
            row_path = f"{path}[{index}]"
            row = self.table(raw, row_path, f"a table with the keys {pair[0]} and {pair[1]}")
            if row is None:
                continue
            self.keys(row, row_path, frozenset(pair), pair)
            labels: dict[str, tuple[str, ...]] = {}
            for code in pair:
                if code not in row:
                    continue
                side = self.side(row[code], f"{row_path}.{code}", code, index, seen)
                if side is not None:
                    labels[code] = side
            rows.append(EquivalenceRow(labels))
        return tuple(rows) if len(self.issues) == before else None

    def side(
        self, value: object, path: str, code: str, index: int, seen: dict[tuple[str, str], tuple[int, str]]
    ) -> tuple[str, ...] | None:
        """One side of an equivalence row: labels of one level of `code`, a level named in no other row."""
        labels = [value] if isinstance(value, str) else value
        if not isinstance(labels, list) or not labels:
            self.issue(path, show(value), f"a level of {code}, or a non-empty array of its labels")
            return None
        party = self.parties[code]
        good = True
        row_levels: dict[str, str] = {}  # level -> the first label naming it on this side
        for position, label in enumerate(labels):
            where = path if isinstance(value, str) else f"{path}[{position}]"
            level = party.level_of(label) if isinstance(label, str) else None
            if level is None:
                scheme = _choices(list(party.levels) + list(party.aliases))
                self.issue(where, show(label), f"a level or alias of {code} ({scheme})")
                good = False
            elif (code, level) in seen and level not in row_levels:
                other, named = seen[(code, level)]
                also = "" if named == label else f" as {show(named)}, which ranks as the same level {show(level)}"
                self.issue(where, f"{show(label)}, already named in row {other}{also}", "each level in one row only")
                good = False
            elif row_levels and level not in row_levels:
                # Fine print: one side of a row names labels of one level only.
                first = next(iter(row_levels.values()))
                found = f"{show(label)}, of the level {show(level)}, beside {show(first)} of another level"
                self.issue(where, found, f"labels of one level of {code} on one side of a row")
                good = False
            else:
                seen.setdefault((code, level), (index, label))
                row_levels.setdefault(level, label)
        return tuple(labels) if good else None

    def read_arrangements(self, arrangements: dict[str, Any]) -> None:
        for pact_id, raw in arrangements.items():
            path = f"arrangements.{pact_id}"
            if not self.claim_id(pact_id, path):
                continue
            table = self.table(raw, path)
            if table is None:
                continue
            self.keys(table, path, _ARRANGEMENT_KEYS, ("hub", "members", "scope"))
            title = self.text(table.get("title", pact_id), f"{path}.title") or pact_id
            hub = self.party(table.get("hub"), f"{path}.hub") if "hub" in table else None
            members = self.party_list(table.get("members"), f"{path}.members", 2) if "members" in table else None
            if hub is not None and members is not None and hub in members:
                self.issue(f"{path}.members", f"the hub {hub} among the members", "members other than the hub")
            scope = self.scope(table.get("scope"), f"{path}.scope", default_all=False) if "scope" in table else None
            consent = self.choice(table.get("consent"), f"{path}.consent", RelayConsent, RelayConsent.PER_ITEM)
            if hub and members and scope and hub not in members:
                self.arrangements[pact_id] = _StaticArrangement(pact_id, title, hub, tuple(members), scope, consent)

    def read_reports(self, reports: list[Any]) -> None:
        known = self.reports
        # Reports share a few combinations of categories: each is checked once, and its tuple and set are shared.
        seen_categories: dict[tuple[Any, ...], tuple[tuple[str, ...], frozenset[str] | None]] = {}
        for index, raw in enumerate(reports):
            # The common case first and cheaply; anything unusual goes to the plain reader, which says what.
            report = self.fast_report(raw, seen_categories)
            if report is None:
                report = self.plain_report(raw, f"reports[{index}]")
            if report is not None:
                known[report.id] = report

    def fast_report(
        self, raw: object, seen_categories: dict[tuple[Any, ...], tuple[tuple[str, ...], frozenset[str] | None]]
    ) -> Report | None:
        """A plainly valid report, read without a word; None for anything else (plain_report then decides).

        It accepts exactly what plain_report accepts and builds the same Report (a property test holds them equal).
        """
        if not isinstance(raw, dict) or not raw.keys() <= _REPORT_KEYS:
            return None
        report_id, originator, label = raw.get("id"), raw.get("originator"), raw.get("level")
        categories, rel_to, created = raw.get("categories", []), raw.get("rel_to"), raw.get("created")
        party = self.parties.get(originator) if isinstance(originator, str) else None
        level = party.canonical.get(label) if party is not None and isinstance(label, str) else None
        if level is None or party is None or not isinstance(report_id, str) or report_id in self.reports:
            return None
        if not isinstance(categories, list) or not all(type(category) is str for category in categories):
            return None
        key = tuple(categories)
        known_categories = seen_categories.get(key)
        if known_categories is None:
            known_categories = seen_categories.setdefault(key, (key, _strings(categories)))
        category_tuple, category_set = known_categories
        rel_set = None if rel_to is None else _strings(rel_to)
        moment = None if created is None else _instant(created)
        if (
            not is_identifier(report_id)
            or category_set is None
            or (
                rel_to is not None
                and (rel_set is None or len(rel_set) != len(rel_to) or not rel_set <= self.parties.keys())
            )
            or (created is not None and moment is None)
        ):
            return None
        return Report(report_id, party.code, label, level, category_tuple, category_set, rel_set, moment)  # type: ignore[arg-type]  # label: a str, it resolved to a level

    def plain_report(self, raw: object, path: str) -> Report | None:
        """The report a table describes, checked rule by rule; None with every issue recorded when it is invalid."""
        before = len(self.issues)
        self.report_issues(raw, path)
        if len(self.issues) > before:
            return None
        if not isinstance(raw, dict):  # report_issues said so; this tells the type checker
            return None
        party = self.parties[raw["originator"]]
        categories = tuple(raw.get("categories", []))
        rel_to = raw.get("rel_to")
        created = raw.get("created")
        moment = None if created is None else self.instant(created, f"{path}.created")
        return Report(
            raw["id"],
            party.code,
            raw["level"],
            party.canonical[raw["level"]],
            categories,
            frozenset(categories),
            None if rel_to is None else frozenset(rel_to),
            moment,
        )

    def report_issues(self, raw: object, path: str) -> None:
        """The slow path: say precisely what is wrong with a report."""
        if not isinstance(raw, dict):
            self.issue(path, show(raw), "a table ([[reports]])")
            return
        self.keys(raw, path, _REPORT_KEYS, ("id", "originator", "level"))
        if raw.get("created") is not None:
            self.instant(raw["created"], f"{path}.created")
        report_id = self.identifier(raw.get("id"), f"{path}.id") if "id" in raw else None
        if report_id is not None and report_id in self.reports:
            self.issue(f"{path}.id", f"the report id {report_id} a second time", "unique report ids")
        originator = self.party(raw.get("originator"), f"{path}.originator") if "originator" in raw else None
        if originator is not None and "level" in raw:
            party = self.parties[originator]
            label = raw["level"]
            if not isinstance(label, str) or party.level_of(label) is None:
                scheme = _choices(list(party.levels) + list(party.aliases))
                self.issue(f"{path}.level", show(label), f"a level or alias of {originator} ({scheme})")
        self.strings(raw.get("categories", []), f"{path}.categories", allow_empty=True)
        rel_to = raw.get("rel_to")
        if rel_to is not None and rel_to != []:
            self.party_list(rel_to, f"{path}.rel_to", 0)

    def read_events(self, raw_events: list[Any]) -> list[Event]:
        events: list[Event] = []
        ids: dict[str, int] = {}
        for index, raw in enumerate(raw_events):
            path = f"events[{index}]"
            table = self.table(raw, path, "a table ([[events]])")
            if table is None:
                continue
            before = len(self.issues)
            event = self.read_event(index, table, path, ids)
            if event is not None:
                events.append(event)
            event_id = table.get("id")
            if isinstance(event_id, str) and is_identifier(event_id):
                self.name_event(before, event_id)
        return in_order(events)

    def name_event(self, since: int, event_id: str) -> None:
        """Issues about an event name it by its id too, not only by its place in the file."""
        for position in range(since, len(self.issues)):
            issue = self.issues[position]
            self.issues[position] = replace(issue, found=f"{issue.found} (in the event {event_id!r})")

    def read_event(self, index: int, table: dict[str, Any], path: str, ids: dict[str, int]) -> Event | None:
        before = len(self.issues)
        raw_type = table.get("type")
        kind = _EVENT_TYPES.get(raw_type) if isinstance(raw_type, str) else None
        if kind is None:
            found = show(table["type"]) if "type" in table else "nothing"
            self.issue(f"{path}.type", found, f"one of {_choices(member.value for member in EventType)}")
        allowed = _EVENT_KEYS.get(kind, frozenset(table)) if kind is not None else frozenset(table)
        required = ("at",) + (("agreement",) if kind is not None and kind not in CONSENT_ACTS else ())
        self.keys(table, path, allowed, required)
        at = self.instant(table["at"], f"{path}.at") if "at" in table else None
        event_id = self.identifier(table["id"], f"{path}.id") if "id" in table else None
        if event_id is not None:
            if event_id in ids:
                self.issue(
                    f"{path}.id",
                    f"the event id {event_id} a second time (first at events[{ids[event_id]}])",
                    "unique event ids",
                )
            ids.setdefault(event_id, index)
        if kind is None or at is None or len(self.issues) > before:
            return None
        if kind in CONSENT_ACTS:
            return self.read_consent_event(index, kind, at, event_id, table, path)
        return self.read_lifecycle_event(index, kind, at, event_id, table, path)

    def read_lifecycle_event(
        self,
        index: int,
        kind: EventType,
        at: datetime,
        event_id: str | None,
        table: dict[str, Any],
        path: str,
    ) -> Event | None:
        pact_id = table["agreement"]
        if not isinstance(pact_id, str) or pact_id not in self.pact_ids:
            known = _choices(sorted(self.pact_ids))
            self.issue(f"{path}.agreement", show(pact_id), f"the id of an agreement or arrangement ({known})")
            return None
        if pact_id in self.arrangements and kind not in _ARRANGEMENT_EVENTS:
            allowed = _choices(sorted(_ARRANGEMENT_EVENTS))
            self.issue(
                f"{path}.type",
                f"{kind} on the arrangement {pact_id}",
                f"one of {allowed} (no terms or notices)",
            )
            return None
        by = None
        if kind in NOTICE_ACTS:
            by = self.text(table.get("by"), f"{path}.by", "the party code that acts") if "by" in table else None
            if by is None:
                if "by" not in table:
                    self.issue(f"{path}.by", "nothing", 'the party that acts (by = "ROK")')
                return None
        changes = None
        if kind is EventType.AMEND:
            changes = self.read_amendment(table.get("set"), f"{path}.set", pact_id)
            if changes is None:
                return None
        return Event(index, kind, at, event_id, pact_id, by, changes=changes)

    def read_amendment(self, value: object, path: str, pact_id: str) -> dict[str, Any] | None:
        changes = self.table(value, path, "a table with equivalence and/or scope")
        if changes is None:
            return None
        is_arrangement = pact_id in self.arrangements
        allowed = frozenset({"scope"} if is_arrangement else {"equivalence", "scope"})
        if not changes:
            self.issue(path, "an empty table", f"at least one of {_choices(sorted(allowed))}")
            return None
        before = len(self.issues)
        for key in changes:
            if key not in allowed:
                why = " (an arrangement is amended in scope only)" if is_arrangement else ""
                self.issue(f"{path}.{key}", f"the key {key!r}", f"one of {_choices(sorted(allowed))}{why}")
        result: dict[str, Any] = {}
        if "scope" in changes:
            result["scope"] = self.scope(changes["scope"], f"{path}.scope", default_all=False)
        static = self.agreements.get(pact_id)
        if "equivalence" in changes and static is not None:
            result["equivalence"] = self.equivalence(changes["equivalence"], f"{path}.equivalence", static.parties)
        return result if len(self.issues) == before else None

    def read_consent_event(
        self,
        index: int,
        kind: EventType,
        at: datetime,
        event_id: str | None,
        table: dict[str, Any],
        path: str,
    ) -> Event | None:
        before = len(self.issues)
        report_id = table.get("report")
        report = self.reports.get(report_id) if isinstance(report_id, str) else None
        if report is None:
            self.issue(f"{path}.report", show(report_id), "the id of a report of the world")
        by = table.get("by")
        if report is not None and by != report.originator:
            self.issue(f"{path}.by", show(by), f"{report.originator}, the originator of {report.id}")
        has_to, has_arrangement = "to" in table, "arrangement" in table
        if has_to == has_arrangement:
            self.issue(
                path,
                "both to and arrangement" if has_to else "neither to nor arrangement",
                "exactly one of them",
            )
        to = self.party(table["to"], f"{path}.to") if has_to else None
        arrangement = table.get("arrangement")
        if has_arrangement and (not isinstance(arrangement, str) or arrangement not in self.arrangements):
            known = _choices(self.arrangements)
            self.issue(f"{path}.arrangement", show(arrangement), f"the id of an arrangement ({known})")
        until = self.instant(table["until"], f"{path}.until") if "until" in table else None
        if until is not None and until <= at:
            self.issue(f"{path}.until", show(table["until"]), "an instant after the grant")
        if len(self.issues) > before:
            return None
        return Event(index, kind, at, event_id, None, by, report_id, to, arrangement, until)

    # -- replay -----------------------------------------------------------------------------------------
    def replay_all(self, events: list[Event]) -> tuple[dict[str, Agreement], dict[str, Arrangement]]:
        per_pact: dict[str, list[Event]] = {}
        for event in events:
            if event.agreement is not None:
                per_pact.setdefault(event.agreement, []).append(event)
        agreements: dict[str, Agreement] = {}
        for pact_id, static in self.agreements.items():
            replayed = replay(static.terms, per_pact.get(pact_id, []))
            self.event_problems(replayed.problems)
            texts: list[tuple[datetime | None, AgreementText]] = [
                (None, AgreementText.build(static.equivalence, static.scope, self.parties))
            ]
            for amendment in replayed.amendments:
                changes = amendment.changes or {}
                current = texts[-1][1]
                equivalence = changes.get("equivalence") or current.equivalence
                scope = changes.get("scope") or current.scope
                texts.append((amendment.at, AgreementText.build(equivalence, scope, self.parties)))
            agreements[pact_id] = Agreement(
                pact_id,
                static.title,
                static.parties,
                static.zone,
                static.zone_name,
                static.terms.term,
                static.terms.renewal,
                static.terms.notice_period,
                static.late_notice,
                static.resumed_notice,
                static.onward_release,
                tuple(texts),
                replayed.history,
            )
        arrangements: dict[str, Arrangement] = {}
        for pact_id, static_arrangement in self.arrangements.items():
            terms = Terms(pact_id, static_arrangement.members, UTC, is_arrangement=True)
            replayed = replay(terms, per_pact.get(pact_id, []))
            self.event_problems(replayed.problems)
            scopes: list[tuple[datetime | None, Scope]] = [(None, static_arrangement.scope)]
            scopes += [(amendment.at, (amendment.changes or {})["scope"]) for amendment in replayed.amendments]
            arrangements[pact_id] = Arrangement(
                pact_id,
                static_arrangement.title,
                static_arrangement.hub,
                static_arrangement.members,
                static_arrangement.consent,
                tuple(scopes),
                replayed.history,
                UTC,
            )
        return agreements, arrangements

    def event_problems(self, problems: list[Any]) -> None:
        for problem in problems:
            named = f" (in the event {problem.event.id!r})" if problem.event.id else ""
            self.issue(problem.event.path, problem.found + named, problem.expected)

    def read_consents(self, events: list[Event]) -> list[Consent]:
        consents: list[Consent] = []
        # (report, to, arrangement) -> positions in `consents`: a revocation looks only at its own grants.
        granted: dict[tuple[str | None, str | None, str | None], list[int]] = {}
        for event in events:
            key = (event.report, event.to, event.arrangement)
            if event.type is EventType.GRANT_CONSENT:
                granted.setdefault(key, []).append(len(consents))
                consents.append(
                    Consent(event.report or "", event.by or "", event.to, event.arrangement, event.at, event.until)
                )
            elif event.type is EventType.REVOKE_CONSENT:
                self.revoke(consents, granted.get(key, []), event)
        return consents

    def revoke(self, consents: list[Consent], positions: list[int], event: Event) -> None:
        revoked = False
        for position in positions:
            consent = consents[position]
            if consent.holds_at(event.at):
                consents[position] = replace(consent, stop=event.at)
                revoked = True
        if not revoked:
            target = f"to {event.to}" if event.to else f"under {event.arrangement}"
            found = f"revoke_consent of {event.report} {target}, which is not in effect at {event.at.isoformat()}"
            found += f" (in the event {event.id!r})" if event.id else ""
            self.issue(event.path, found, "a consent granted earlier and still in effect")


def parse_document(text: str | bytes, source: str) -> dict[str, Any]:
    """Parse TOML text into a document; raises WorldError when it is not UTF-8 TOML."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            found = f"bytes that are not UTF-8 (at byte {error.start})"
            raise WorldError(source, [WorldIssue("(file)", found, "a UTF-8 TOML text")]) from error
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        found = f"text that is not TOML ({error})"
        raise WorldError(source, [WorldIssue("(file)", found, "a TOML document")]) from error


def parse_world(text: str | bytes, source: str) -> World:
    """Read a world from TOML text; raises WorldError listing every issue."""
    with _no_cyclic_gc():
        return read_document(parse_document(text, source), source)


def read_document(document: dict[str, Any], source: str) -> World:
    """Read a world from an already parsed TOML document; raises WorldError listing every issue."""
    return _Reader(source).read(document)


def load_document(reference: str | Path) -> tuple[dict[str, Any], str]:
    """The parsed document of a bundled world (by name) or a world file (by path), and its source name."""
    name = str(reference)
    if name in BUNDLED:
        data = resources.files("pactnet.worlds").joinpath(f"{name}.toml").read_bytes()
        return parse_document(data, name), name
    path = Path(reference)
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        expected = f"a world file, or a bundled world ({_choices(BUNDLED)})"
        raise WorldError(name, [WorldIssue("(file)", f"no file at {name}", expected)]) from error
    except IsADirectoryError as error:
        raise WorldError(name, [WorldIssue("(file)", f"a directory at {name}", "a world file")]) from error
    except OSError as error:
        found = f"a file that cannot be read ({error.strerror})"
        raise WorldError(name, [WorldIssue("(file)", found, "a readable world file")]) from error
    return parse_document(data, name), name


def load_world(reference: str | Path) -> World:
    """A bundled world by name (`gsomia-2019`), or a world file by path."""
    with _no_cyclic_gc():
        document, source = load_document(reference)
        return read_document(document, source)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a world is built.

    Loading makes millions of small objects and no reference cycles, so the collector's repeated full passes
    only cost time (more than half the load of a 100,000-report world); reference counting still frees memory.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
