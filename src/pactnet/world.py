"""The world file: `pactnet.world/1` TOML in, validated policy objects out, every error at once, with paths."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli

if TYPE_CHECKING:
    from collections.abc import Iterator

from pactnet.errors import WorldError, WorldIssue
from pactnet.policy.clock import parse_timezone
from pactnet.policy.events import Event, EventType
from pactnet.policy.lifecycle import Terms, replay
from pactnet.policy.model import (
    ALL_CATEGORIES,
    Agreement,
    AgreementText,
    Arrangement,
    Consent,
    LateNotice,
    OnwardRelease,
    Party,
    RelayConsent,
    ResumedNotice,
    Scope,
    World,
)
from pactnet.world_items import ItemReader
from pactnet.world_reading import StaticAgreement, StaticArrangement, choices, is_identifier, show

__all__ = [
    "BUNDLED",
    "FORMAT",
    "is_identifier",
    "load_document",
    "load_world",
    "parse_document",
    "parse_world",
    "read_document",
    "show",
]

FORMAT = "pactnet.world/1"
BUNDLED = ("gsomia-2019", "gsomia-2019-no-suspension")
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


class _Reader(ItemReader):
    """Reads a parsed TOML document into a World, collecting every issue on the way."""

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
                    self.issue(f"{path}.aliases.{label}", show(level), f"a level of {code} ({choices(levels)})")
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

    def pact_tables(self, section: str, pacts: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
        """Each pact of `section` whose id is its own and whose value is a table: its id, table and path."""
        for pact_id, raw in pacts.items():
            path = f"{section}.{pact_id}"
            if not self.claim_id(pact_id, path):
                continue
            table = self.table(raw, path)
            if table is not None:
                yield pact_id, table, path

    def read_agreements(self, agreements: dict[str, Any]) -> None:
        for pact_id, table, path in self.pact_tables("agreements", agreements):
            static = self.read_agreement(pact_id, table, path)
            if static is not None:
                self.agreements[pact_id] = static

    def read_agreement(self, pact_id: str, table: dict[str, Any], path: str) -> StaticAgreement | None:
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
        return StaticAgreement(
            pact_id, title, pair, equivalence, scope, zone, str(zone_name), terms, late, resumed, onward
        )

    def read_arrangements(self, arrangements: dict[str, Any]) -> None:
        for pact_id, table, path in self.pact_tables("arrangements", arrangements):
            self.keys(table, path, _ARRANGEMENT_KEYS, ("hub", "members", "scope"))
            title = self.text(table.get("title", pact_id), f"{path}.title") or pact_id
            hub = self.party(table.get("hub"), f"{path}.hub") if "hub" in table else None
            members = self.party_list(table.get("members"), f"{path}.members", 2) if "members" in table else None
            if hub is not None and members is not None and hub in members:
                self.issue(f"{path}.members", f"the hub {hub} among the members", "members other than the hub")
            scope = self.scope(table.get("scope"), f"{path}.scope", default_all=False) if "scope" in table else None
            consent = self.choice(table.get("consent"), f"{path}.consent", RelayConsent, RelayConsent.PER_ITEM)
            if hub and members and scope and hub not in members:
                self.arrangements[pact_id] = StaticArrangement(pact_id, title, hub, tuple(members), scope, consent)

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
        expected = f"a world file, or a bundled world ({choices(BUNDLED)})"
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
