"""Reading a world file's equivalence rows, reports and events, every issue kept with its path."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from pactnet.policy.events import CONSENT_ACTS, NOTICE_ACTS, Event, EventType, in_order
from pactnet.policy.model import EquivalenceRow, Report
from pactnet.world_reading import ReaderBase, choices, instant_of, is_identifier, show, string_set

if TYPE_CHECKING:
    from datetime import datetime


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


class EventHead(NamedTuple):
    """What every event has, read before its kind's own keys: its place, its kind, its instant and its id."""

    position: int  # in the file's list of events
    kind: EventType
    at: datetime
    event_id: str | None
    path: str


class ItemReader(ReaderBase):
    """Reads equivalence rows, reports and events; the world reader adds the parties, pacts and replay."""

    def equivalence(self, value: object, path: str, pair: tuple[str, str]) -> tuple[EquivalenceRow, ...] | None:
        """The rows of an equivalence table between the two parties, or None with every issue recorded."""
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
                scheme = choices(list(party.levels) + list(party.aliases))
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

    def read_reports(self, reports: list[Any]) -> None:
        """Every report of the world: the fast reader first, the plain one for anything unusual."""
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
            known_categories = seen_categories.setdefault(key, (key, string_set(categories)))
        category_tuple, category_set = known_categories
        rel_set = None if rel_to is None else string_set(rel_to)
        moment = None if created is None else instant_of(created)
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
                scheme = choices(list(party.levels) + list(party.aliases))
                self.issue(f"{path}.level", show(label), f"a level or alias of {originator} ({scheme})")
        self.strings(raw.get("categories", []), f"{path}.categories", allow_empty=True)
        rel_to = raw.get("rel_to")
        if rel_to is not None and rel_to != []:
            self.party_list(rel_to, f"{path}.rel_to", 0)

    def read_events(self, raw_events: list[Any]) -> list[Event]:
        """Every readable event, in the order events apply."""
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
        """One event table; None with every issue recorded when it cannot apply."""
        before = len(self.issues)
        raw_type = table.get("type")
        kind = _EVENT_TYPES.get(raw_type) if isinstance(raw_type, str) else None
        if kind is None:
            found = show(table["type"]) if "type" in table else "nothing"
            self.issue(f"{path}.type", found, f"one of {choices(member.value for member in EventType)}")
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
        head = EventHead(index, kind, at, event_id, path)
        if kind in CONSENT_ACTS:
            return self.read_consent_event(head, table)
        return self.read_lifecycle_event(head, table)

    def read_lifecycle_event(self, head: EventHead, table: dict[str, Any]) -> Event | None:
        """An event of an agreement or arrangement (sign, notices, terminate, amend)."""
        index, kind, at, event_id, path = head
        pact_id = table["agreement"]
        if not isinstance(pact_id, str) or pact_id not in self.pact_ids:
            known = choices(sorted(self.pact_ids))
            self.issue(f"{path}.agreement", show(pact_id), f"the id of an agreement or arrangement ({known})")
            return None
        if pact_id in self.arrangements and kind not in _ARRANGEMENT_EVENTS:
            allowed = choices(sorted(_ARRANGEMENT_EVENTS))
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
        """The `set` table of an amendment, its equivalence and scope read; None when invalid."""
        changes = self.table(value, path, "a table with equivalence and/or scope")
        if changes is None:
            return None
        is_arrangement = pact_id in self.arrangements
        allowed = frozenset({"scope"} if is_arrangement else {"equivalence", "scope"})
        if not changes:
            self.issue(path, "an empty table", f"at least one of {choices(sorted(allowed))}")
            return None
        before = len(self.issues)
        for key in changes:
            if key not in allowed:
                why = " (an arrangement is amended in scope only)" if is_arrangement else ""
                self.issue(f"{path}.{key}", f"the key {key!r}", f"one of {choices(sorted(allowed))}{why}")
        result: dict[str, Any] = {}
        if "scope" in changes:
            result["scope"] = self.scope(changes["scope"], f"{path}.scope", default_all=False)
        static = self.agreements.get(pact_id)
        if "equivalence" in changes and static is not None:
            result["equivalence"] = self.equivalence(changes["equivalence"], f"{path}.equivalence", static.parties)
        return result if len(self.issues) == before else None

    def read_consent_event(self, head: EventHead, table: dict[str, Any]) -> Event | None:
        """A grant or revocation of consent, naming a report of the world and its originator."""
        index, kind, at, event_id, path = head
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
            known = choices(self.arrangements)
            self.issue(f"{path}.arrangement", show(arrangement), f"the id of an arrangement ({known})")
        until = self.instant(table["until"], f"{path}.until") if "until" in table else None
        if until is not None and until <= at:
            self.issue(f"{path}.until", show(table["until"]), "an instant after the grant")
        if len(self.issues) > before:
            return None
        return Event(index, kind, at, event_id, None, by, report_id, to, arrangement, until)
