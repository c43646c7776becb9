"""The policy objects a world is made of: parties and their schemes, agreements, arrangements, reports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime, tzinfo

    from pactnet.policy.durations import Duration
    from pactnet.policy.events import Event
    from pactnet.policy.lifecycle import History

ALL_CATEGORIES = "*"


# The options of an agreement or arrangement a world file may set (world-format.md), each a pair of spellings.
# What a termination notice received after the deadline of the current term does.
LateNotice = StrEnum("LateNotice", [("NEXT_TERM", "next-term"), ("LAPSE", "lapse")])
# When a suspended notice that is resumed takes effect.
ResumedNotice = StrEnum("ResumedNotice", [("AT_TERM_END", "at-term-end"), ("IMMEDIATE", "immediate")])
# Whether a receiver may pass a received item to a third party (GSOMIA art. 6: prior written consent).
OnwardRelease = StrEnum("OnwardRelease", [("ORIGINATOR_CONSENT", "originator-consent"), ("FORBIDDEN", "forbidden")])
# When a hub may pass an item on under an arrangement (TISA: with the originator's approval).
RelayConsent = StrEnum("RelayConsent", [("PER_ITEM", "per-item"), ("STANDING", "standing")])


@dataclass(frozen=True, slots=True)
class Party:
    """A party and its own classification scheme, lowest level first."""

    code: str
    name: str
    levels: tuple[str, ...]
    aliases: Mapping[str, str]
    # label (level or alias) -> the level it ranks as
    canonical: Mapping[str, str] = field(repr=False)

    @classmethod
    def build(cls, code: str, name: str, levels: tuple[str, ...], aliases: Mapping[str, str]) -> Party:
        """A party whose labels resolve to levels; aliases must already name levels of `levels`."""
        canonical = {level: level for level in levels} | dict(aliases)
        return cls(code, name, levels, dict(aliases), canonical)

    def level_of(self, label: str) -> str | None:
        """The level a label ranks as, or None when the label is not in this party's scheme."""
        return self.canonical.get(label)

    def rank(self, label: str) -> int:
        """0 for the lowest level; raises KeyError for a label outside the scheme."""
        return self.levels.index(self.canonical[label])


@dataclass(frozen=True, slots=True)
class Scope:
    """The categories of information an agreement or arrangement covers."""

    categories: tuple[str, ...]
    everything: bool = field(init=False)
    _set: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "everything", ALL_CATEGORIES in self.categories)
        object.__setattr__(self, "_set", frozenset(self.categories))

    def covers(self, categories: frozenset[str]) -> bool:
        """A report with no categories is covered only by "*" (world-format.md, fine print)."""
        return self.everything or (bool(categories) and categories <= self._set)

    def missing(self, categories: frozenset[str]) -> list[str]:
        """The categories of a report this scope does not cover, in a stable order."""
        return sorted(categories - self._set) if not self.everything else []

    def __str__(self) -> str:
        return ", ".join(self.categories)


@dataclass(frozen=True, slots=True)
class EquivalenceRow:
    """One shareable level pair: for each party, its labels; the first is written on received items."""

    labels: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class AgreementText:
    """What an agreement reads at some instant: its equivalence table and its scope."""

    equivalence: tuple[EquivalenceRow, ...]
    scope: Scope
    # (sender, receiver) -> {sender's level: receiver's label}; derived once, looked up on every decision.
    translation: Mapping[tuple[str, str], Mapping[str, str]] = field(repr=False)

    @classmethod
    def build(
        cls, equivalence: tuple[EquivalenceRow, ...], scope: Scope, parties: Mapping[str, Party]
    ) -> AgreementText:
        """Derive the level translation in both directions from the equivalence rows."""
        translation: dict[tuple[str, str], dict[str, str]] = {}
        for row in equivalence:
            for sender, sender_labels in row.labels.items():
                for receiver, receiver_labels in row.labels.items():
                    if sender == receiver:
                        continue
                    table = translation.setdefault((sender, receiver), {})
                    for label in sender_labels:
                        level = parties[sender].level_of(label)
                        if level is not None:
                            table.setdefault(level, receiver_labels[0])
        return cls(equivalence, scope, translation)

    def translate(self, sender: str, receiver: str, level: str) -> str | None:
        """The receiver's label for the sender's level, or None when no row maps it (not shareable)."""
        table = self.translation.get((sender, receiver))
        return None if table is None else table.get(level)


@dataclass(frozen=True, slots=True)
class Agreement:
    """A bilateral agreement: its terms, its text over time, and its lifecycle history."""

    id: str
    title: str
    parties: tuple[str, str]
    zone: tzinfo
    zone_name: str
    term: Duration | None
    renewal: Duration | None
    notice_period: Duration | None
    late_notice: LateNotice
    resumed_notice: ResumedNotice
    onward_release: OnwardRelease
    # (since, text): the original text (since None) and every amendment in order; see text_at().
    texts: tuple[tuple[datetime | None, AgreementText], ...]
    history: History
    kind: str = "agreement"

    def text_at(self, at: datetime) -> AgreementText:
        """The text as amended by every amendment at or before `at`."""
        texts = self.texts
        if len(texts) == 1:
            return texts[0][1]
        current = texts[0][1]
        for since, text in texts[1:]:
            if since is not None and since <= at:
                current = text
        return current

    def other(self, party: str) -> str:
        """The party on the other side of `party`."""
        return self.parties[1] if party == self.parties[0] else self.parties[0]


@dataclass(frozen=True, slots=True)
class Arrangement:
    """A relay arrangement: members share with each other through the hub, within a scope."""

    id: str
    title: str
    hub: str
    members: tuple[str, ...]
    consent: RelayConsent
    scopes: tuple[tuple[datetime | None, Scope], ...]
    history: History
    zone: tzinfo
    zone_name: str = "+00:00"
    kind: str = "arrangement"

    def scope_at(self, at: datetime) -> Scope:
        """The scope as amended by every amendment at or before `at`."""
        current = self.scopes[0][1]
        for since, scope in self.scopes[1:]:
            if since is not None and since <= at:
                current = scope
        return current


class Report(NamedTuple):
    """An information item that questions can be asked about.

    A named tuple rather than a frozen dataclass: a world of 100,000 reports builds in a third of the time.
    """

    id: str
    originator: str
    label: str
    level: str
    categories: tuple[str, ...]
    category_set: frozenset[str]
    rel_to: frozenset[str] | None
    created: datetime | None


@dataclass(frozen=True, slots=True)
class Consent:
    """The originator's consent to onward release of a report to a party, or to relay under an arrangement."""

    report: str
    by: str
    to: str | None
    arrangement: str | None
    start: datetime
    stop: datetime | None

    def holds_at(self, at: datetime) -> bool:
        """From the grant (inclusive) until `until` or revocation (exclusive)."""
        return self.start <= at and (self.stop is None or at < self.stop)


@dataclass(frozen=True, slots=True)
class World:
    """Everything the core knows: who the parties are, what binds them, what happened, and the reports."""

    source: str
    parties: Mapping[str, Party]
    agreements: Mapping[str, Agreement]
    arrangements: Mapping[str, Arrangement]
    events: tuple[Event, ...]
    reports: Mapping[str, Report]
    consents: Mapping[tuple[str, str], tuple[Consent, ...]]
    # Indexes derived once: (a, b) -> agreements between a and b, in file order (both orders present);
    # (a, b) -> arrangements that relay between members a and b, in file order.
    between: Mapping[tuple[str, str], tuple[Agreement, ...]] = field(repr=False)
    relays: Mapping[tuple[str, str], tuple[Arrangement, ...]] = field(repr=False)

    @classmethod
    def build(
        cls,
        source: str,
        parties: Mapping[str, Party],
        agreements: Mapping[str, Agreement],
        arrangements: Mapping[str, Arrangement],
        events: tuple[Event, ...],
        reports: Mapping[str, Report],
        consents: Iterable[Consent],
    ) -> World:
        """A world with its lookup indexes."""
        between: dict[tuple[str, str], list[Agreement]] = {}
        for agreement in agreements.values():
            a, b = agreement.parties
            between.setdefault((a, b), []).append(agreement)
            between.setdefault((b, a), []).append(agreement)
        relays: dict[tuple[str, str], list[Arrangement]] = {}
        for arrangement in arrangements.values():
            for a in arrangement.members:
                for b in arrangement.members:
                    if a != b:
                        relays.setdefault((a, b), []).append(arrangement)
        by_target: dict[tuple[str, str], list[Consent]] = {}
        for consent in consents:
            target = consent.to if consent.to is not None else f"arrangement:{consent.arrangement}"
            by_target.setdefault((consent.report, target), []).append(consent)
        return cls(
            source,
            parties,
            agreements,
            arrangements,
            events,
            reports,
            {key: tuple(value) for key, value in by_target.items()},
            {key: tuple(value) for key, value in between.items()},
            {key: tuple(value) for key, value in relays.items()},
        )

    def pact(self, pact_id: str) -> Agreement | Arrangement | None:
        """The agreement or arrangement with this id."""
        return self.agreements.get(pact_id) or self.arrangements.get(pact_id)

    def consents_to(self, report: str, to: str, at: datetime) -> bool:
        """Whether the originator's consent to release `report` to party `to` holds at `at`."""
        return any(consent.holds_at(at) for consent in self.consents.get((report, to), ()))

    def consents_to_relay(self, report: str, arrangement: str, at: datetime) -> bool:
        """Whether the originator's consent to relay `report` under `arrangement` holds at `at`."""
        key = (report, f"arrangement:{arrangement}")
        return any(consent.holds_at(at) for consent in self.consents.get(key, ()))

    def categories(self) -> list[str]:
        """Every category named in the world (scopes, amendments and reports), sorted."""
        named: set[str] = set()
        for agreement in self.agreements.values():
            for _, text in agreement.texts:
                named.update(text.scope.categories)
        for arrangement in self.arrangements.values():
            for _, scope in arrangement.scopes:
                named.update(scope.categories)
        for report in self.reports.values():
            named.update(report.categories)
        named.discard(ALL_CATEGORIES)
        return sorted(named)

    def with_consents(self, extra: Iterable[Consent]) -> World:
        """This world with more consents (granted at a node, for items the world file does not list)."""
        consents = [consent for group in self.consents.values() for consent in group]
        consents += extra
        return World.build(
            self.source, self.parties, self.agreements, self.arrangements, self.events, self.reports, consents
        )

    def ending(self, pact_id: str, at: datetime) -> World:
        """This world as if the agreement or arrangement `pact_id` ended at `at`."""
        agreements = dict(self.agreements)
        arrangements = dict(self.arrangements)
        if pact_id in agreements:
            agreement = agreements[pact_id]
            agreements[pact_id] = replace(agreement, history=agreement.history.ending_at(at))
        elif pact_id in arrangements:
            arrangement = arrangements[pact_id]
            arrangements[pact_id] = replace(arrangement, history=arrangement.history.ending_at(at))
        consents = [consent for group in self.consents.values() for consent in group]
        return World.build(self.source, self.parties, agreements, arrangements, self.events, self.reports, consents)
