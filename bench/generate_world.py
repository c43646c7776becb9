"""Generate a large, valid, deterministic `pactnet.world/1` world (seeded) for the policy benchmarks."""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from pactnet.errors import WorldError
from pactnet.policy.clock import parse_timezone
from pactnet.world import FORMAT, parse_world

if TYPE_CHECKING:
    from collections.abc import Sequence

# Lifecycle events lie in [EARLIEST, HORIZON); consents may come later. The benchmark asks about 2025-2026.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
HORIZON = datetime(2028, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)

# Classification schemes, lowest level first, with aliases (label -> level). A party takes 3 or 4 levels.
SCHEMES: tuple[tuple[tuple[str, ...], dict[str, str]], ...] = (
    (
        ("RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"),
        {"OFFICIAL-SENSITIVE": "RESTRICTED", "SECRET//REL": "SECRET"},
    ),
    (
        ("DIFFUSION RESTREINTE", "CONFIDENTIEL DÉFENSE", "SECRET DÉFENSE", "TRÈS SECRET DÉFENSE"),
        {"SECRET": "SECRET DÉFENSE", "TRÈS SECRET": "TRÈS SECRET DÉFENSE"},
    ),
    (
        ("VS-NUR FÜR DEN DIENSTGEBRAUCH", "VS-VERTRAULICH", "GEHEIM", "STRENG GEHEIM"),
        {"VS-NfD": "VS-NUR FÜR DEN DIENSTGEBRAUCH"},
    ),
    (("注意", "秘", "極秘", "機密"), {"特定秘密": "極秘"}),
    (("대외비", "군사III급비밀", "군사II급비밀", "군사I급비밀"), {"III급비밀": "군사III급비밀"}),
)
CATEGORIES = (
    "dprk-missile",
    "dprk-nuclear",
    "maritime",
    "cyber",
    "counter-terrorism",
    "space",
    "air-defence",
    "logistics",
    "sigint",
    "imagery",
    "cbrn",
    "arctic",
)
FIXED_ZONES = ("+00:00", "+09:00", "-04:00", "+05:30", "+01:00", "-03:00", "+08:00", "-07:00")
IANA_ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/London",
    "Australia/Sydney",
    "America/Los_Angeles",
)
RENEWING_TERMS = ("P1Y", "P2Y", "P3Y", "P5Y", "P6M", "P1Y6M")
FIXED_TERMS = ("P3Y", "P5Y", "P10Y", "P15Y", "P20Y")
NOTICE_PERIODS = ("P90D", "P6M", "P30D", "P3M", "P2W", "P1Y", "P60D")
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

Value: TypeAlias = "str | Sequence[Value] | Mapping[str, Value]"


def shortest_days(duration: str) -> int:
    """A lower bound, in days, of a calendar duration wherever it starts (months of 28 days, 2 days spare)."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        raise ValueError(duration)
    years, months, weeks, days = (int(part) if part else 0 for part in match.groups())
    return years * 365 + months * 28 + weeks * 7 + days - 2


@dataclass(slots=True)
class Party:
    code: str
    levels: tuple[str, ...]
    aliases: dict[str, str]
    zone: str

    def labels_of(self, level: str) -> list[str]:
        return [label for label, target in self.aliases.items() if target == level]


@dataclass(slots=True)
class Pact:
    """An agreement or arrangement being generated, with its own events (instant, fields)."""

    id: str
    table: dict[str, Value]
    zone: tzinfo
    pair: tuple[str, str] = ("", "")
    events: list[tuple[datetime, dict[str, Value]]] = field(default_factory=list)


@dataclass(slots=True)
class Counts:
    parties: int
    agreements: int
    events: int
    reports: int
    arrangements: int
    members: int


class Generator:
    """Builds the world in memory; every choice comes from one seeded Random."""

    def __init__(self, counts: Counts, seed: int) -> None:
        self.counts = counts
        self.rng = random.Random(seed)
        self.parties: list[Party] = []
        self.agreements: list[Pact] = []
        self.arrangements: list[Pact] = []
        self.reports: list[dict[str, Value]] = []
        self.report_meta: list[tuple[str, datetime]] = []  # (originator, created)
        self.consents: list[tuple[datetime, dict[str, Value]]] = []
        self.partners: dict[str, list[str]] = {}
        self.member_of: dict[str, list[int]] = {}  # party -> arrangement indexes (per-item consent)

    # -- small helpers -------------------------------------------------------------------------------
    def instant(self, start: datetime, stop: datetime) -> datetime:
        span = int((stop - start).total_seconds())
        return start + timedelta(seconds=self.rng.randrange(max(span, 1)))

    def later(self, at: datetime, low_days: float, high_days: float) -> datetime:
        return at + timedelta(seconds=self.rng.randint(int(low_days * 86400), int(high_days * 86400)))

    def zone_name(self) -> str:
        return self.rng.choice(IANA_ZONES) if self.rng.random() < 0.4 else self.rng.choice(FIXED_ZONES)  # noqa: PLR2004 - share of IANA zones

    # -- parties ---------------------------------------------------------------------------------------
    def make_parties(self) -> None:
        for index in range(self.counts.parties):
            scheme, pool = SCHEMES[index % len(SCHEMES)]
            levels = scheme if self.rng.random() < 0.6 else (scheme[1:] if self.rng.random() < 0.5 else scheme[:3])  # noqa: PLR2004 - shares of schemes
            aliases = (
                {label: level for label, level in pool.items() if level in levels}
                if self.rng.random() < 0.4  # noqa: PLR2004 - share of parties with aliases
                else {}
            )
            party = Party(f"P{index:03d}", levels, aliases, self.zone_name())
            self.parties.append(party)
            self.partners[party.code] = []

    # -- agreements ------------------------------------------------------------------------------------
    def side(self, party: Party, level: str) -> Value:
        """A level, or (sometimes) an array of labels with an alias; the first label marks received items."""
        aliases = party.labels_of(level)
        if aliases and self.rng.random() < 0.5:  # noqa: PLR2004 - half the rows name the aliases too
            labels = [level, *aliases]
            if self.rng.random() < 0.3:  # noqa: PLR2004 - sometimes the alias is what is written on arrival
                labels.reverse()
            return labels
        return level

    def equivalence(self, a: Party, b: Party, *, complete: bool) -> list[Value]:
        """One row per rank the two schemes share; a level of the longer scheme is left unmapped."""
        shared = min(len(a.levels), len(b.levels))
        a_levels = a.levels[-shared:] if self.rng.random() < 0.5 else a.levels[:shared]  # noqa: PLR2004 - which end is dropped
        b_levels = b.levels[-shared:] if self.rng.random() < 0.5 else b.levels[:shared]  # noqa: PLR2004 - which end is dropped
        pairs = list(zip(a_levels, b_levels, strict=True))
        if not complete and self.rng.random() < 0.3:  # noqa: PLR2004 - deliberately unshareable top level
            pairs.pop()
        self.rng.shuffle(pairs)
        return [{a.code: self.side(a, x), b.code: self.side(b, y)} for x, y in pairs]

    def scope(self) -> list[Value]:
        if self.rng.random() < 0.5:  # noqa: PLR2004 - half the agreements cover everything
            return ["*"]
        return list(self.rng.sample(CATEGORIES, self.rng.randint(2, 6)))

    def make_agreement(self, a: Party, b: Party, *, hub_leg: bool) -> None:
        rng = self.rng
        number = len(self.agreements)
        pact_id = f"GSA-{number:05d}-{a.code}-{b.code}"
        zone_name = rng.choice((a.zone, b.zone, self.zone_name()))
        table: dict[str, Value] = {
            "title": f"Security agreement {number} between {a.code} and {b.code}",
            "parties": [a.code, b.code],
            "equivalence": self.equivalence(a, b, complete=hub_leg),
            "scope": ["*"] if hub_leg else self.scope(),
            "timezone": zone_name,
        }
        kind = rng.choices(("renewing", "indefinite", "fixed"), (5, 3, 1 if not hub_leg else 0))[0]
        if kind == "renewing":
            term = rng.choice(RENEWING_TERMS)
            table["term"] = term
            table["renewal"] = term if rng.random() < 0.7 else "P1Y"  # noqa: PLR2004 - usually renewed alike
            table["notice_period"] = rng.choice(NOTICE_PERIODS)
        elif kind == "indefinite":
            table["notice_period"] = rng.choice(NOTICE_PERIODS)
        else:
            table["term"] = rng.choice(FIXED_TERMS)
        if kind != "fixed" and rng.random() < 0.2:  # noqa: PLR2004 - some notices lapse when late
            table["late_notice"] = "lapse"
        if kind != "fixed" and rng.random() < 0.3:  # noqa: PLR2004 - some resumed notices act at once
            table["resumed_notice"] = "immediate"
        if rng.random() < 0.1:  # noqa: PLR2004 - a few forbid onward release
            table["onward_release"] = "forbidden"
        pact = Pact(pact_id, table, parse_timezone(zone_name), (a.code, b.code))
        self.agreements.append(pact)
        self.partners[a.code].append(b.code)
        self.partners[b.code].append(a.code)
        early = datetime(2010, 1, 1, tzinfo=UTC) if hub_leg else datetime(2023, 6, 1, tzinfo=UTC)
        self.agreement_story(pact, (a, b), kind, self.instant(EARLIEST + 365 * DAY, early), hub_leg=hub_leg)

    def agreement_story(
        self, pact: Pact, pair: tuple[Party, Party], kind: str, in_force: datetime, *, hub_leg: bool
    ) -> None:
        """Sign, entry into force, amendments, then at most one notice story; nothing after the end."""
        rng, table = self.rng, pact.table
        signed = in_force if rng.random() < 0.3 else in_force - timedelta(days=rng.randint(1, 400))  # noqa: PLR2004
        pact.events.append((signed, {"type": "sign"}))
        pact.events.append((in_force, {"type": "enter_into_force"}))
        limit = HORIZON
        if kind == "fixed":
            # Fine print: a fixed-term agreement ends with its term, counted from the local date of entry.
            limit = min(limit, in_force + timedelta(days=shortest_days(str(table["term"]))))
        at = in_force
        for _ in range(rng.choices((0, 1, 2), (80, 15, 5))[0]):
            at = self.later(at, 30, 1000)
            if at >= limit:
                return
            pact.events.append((at, {"type": "amend", "set": self.amendment(pair)}))
        at = self.later(at, 30, 3000)
        if at >= limit:
            return
        if kind == "fixed" or hub_leg:
            if rng.random() < 0.08:  # noqa: PLR2004 - mutual termination
                pact.events.append((at, {"type": "terminate"}))
            return
        lapse = table.get("late_notice") == "lapse"
        stories = ("none", "terminate", "final-notice") + (() if lapse else ("withdrawn", "suspended"))
        story = rng.choices(stories, (70, 5, 7) + (() if lapse else (9, 9)))[0]
        if story == "terminate":
            pact.events.append((at, {"type": "terminate"}))
        elif story != "none":
            self.notice_story(pact, pair, story, at, limit)

    def notice_story(self, pact: Pact, pair: tuple[Party, Party], story: str, at: datetime, limit: datetime) -> None:
        """A notice ends the agreement no sooner than one notice period later: follow-ups come well before."""
        rng = self.rng
        by = rng.choice(pair).code
        soon = max(1, shortest_days(str(pact.table["notice_period"])) // 3)
        pact.events.append((at, {"type": "notify_termination", "by": by}))
        if story == "final-notice":
            return
        at = self.later(at, 0.05, soon)
        if at >= limit:
            return
        if story == "withdrawn":
            pact.events.append((at, {"type": "withdraw_notice", "by": by}))
            return
        pact.events.append((at, {"type": "suspend_notice", "by": by}))
        at = self.later(at, 30, 1500)
        if at >= limit:
            return
        ending = rng.choices(("withdraw", "resume", "stay"), (50, 25, 25))[0]
        if ending == "withdraw":
            pact.events.append((at, {"type": "withdraw_notice", "by": by}))
        elif ending == "resume":
            pact.events.append((at, {"type": "resume_notice", "by": by}))
            if pact.table.get("resumed_notice") != "immediate" and rng.random() < 0.5:  # noqa: PLR2004
                at = self.later(at, 0.05, soon)
                if at < limit:
                    pact.events.append((at, {"type": "withdraw_notice", "by": by}))

    def amendment(self, pair: tuple[Party, Party]) -> dict[str, Value]:
        what = self.rng.choice(("scope", "equivalence", "both"))
        changes: dict[str, Value] = {}
        if what != "equivalence":
            changes["scope"] = self.scope()
        if what != "scope":
            changes["equivalence"] = self.equivalence(*pair, complete=False)
        return changes

    # -- arrangements and the agreements around them ---------------------------------------------------
    def make_network(self) -> None:
        counts, rng = self.counts, self.rng
        hubs = self.parties[: counts.arrangements]
        others = self.parties[counts.arrangements :]
        groups: list[list[Party]] = []
        for number, hub in enumerate(hubs):
            members = sorted(rng.sample(others, min(counts.members, len(others))), key=lambda p: p.code)
            groups.append(members)
            self.make_arrangement(number, hub, members)
            for member in members:
                pair = (hub, member) if rng.random() < 0.5 else (member, hub)  # noqa: PLR2004 - either order
                self.make_agreement(*pair, hub_leg=True)
        together = {(a.code, b.code) for group in groups for a in group for b in group if a.code < b.code}
        used = {(min(pact.pair), max(pact.pair)) for pact in self.agreements}
        attempts = 0
        while len(self.agreements) < counts.agreements:
            attempts += 1
            a, b = sorted(rng.sample(self.parties, 2), key=lambda p: p.code)
            fresh = (a.code, b.code) not in used or attempts > 50 * counts.agreements
            # Members of one arrangement mostly share through the hub; a few also have a direct agreement.
            relayed = (a.code, b.code) in together and rng.random() < 0.85  # noqa: PLR2004
            duplicate = rng.random() < 0.01  # noqa: PLR2004 - a few pairs have two agreements
            if (fresh and not relayed) or (duplicate and (a.code, b.code) in used):
                used.add((a.code, b.code))
                self.make_agreement(*((a, b) if rng.random() < 0.5 else (b, a)), hub_leg=False)  # noqa: PLR2004

    def make_arrangement(self, number: int, hub: Party, members: list[Party]) -> None:
        rng = self.rng
        standing = number % 2 == 1
        # The first covers everything, the second most categories, the others a few.
        width = (len(CATEGORIES) - 2) if number == 1 else rng.randint(3, 6)
        scope: list[Value] = ["*"] if number == 0 else list(rng.sample(CATEGORIES, width))
        table: dict[str, Value] = {
            "title": f"Relay arrangement {number} through {hub.code}",
            "hub": hub.code,
            "members": [member.code for member in members],
            "scope": scope,
            "consent": "standing" if standing else "per-item",
        }
        pact = Pact(f"ARR-{number:02d}-{hub.code}", table, parse_timezone(hub.zone))
        signed = self.instant(datetime(2000, 1, 1, tzinfo=UTC), datetime(2012, 1, 1, tzinfo=UTC))
        pact.events.append((signed, {"type": "sign"}))
        pact.events.append((self.later(signed, 0, 200), {"type": "enter_into_force"}))
        if number == 2:  # noqa: PLR2004 - one arrangement is amended, one (the last of several) ends
            pact.events.append(
                (datetime(2020, 3, 1, 9, tzinfo=UTC), {"type": "amend", "set": {"scope": list(CATEGORIES[:8])}})
            )
        if number == self.counts.arrangements - 1 and number > 0:
            pact.events.append((datetime(2024, 6, 30, 12, tzinfo=UTC), {"type": "terminate"}))
        self.arrangements.append(pact)
        if not standing:
            for member in members:
                self.member_of.setdefault(member.code, []).append(number)

    # -- reports and consents --------------------------------------------------------------------------
    def make_reports(self) -> None:
        rng = self.rng
        start, stop = datetime(2012, 1, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)
        for index in range(self.counts.reports):
            party = rng.choice(self.parties)
            level = rng.choice(party.levels)
            aliases = party.labels_of(level)
            label = rng.choice(aliases) if aliases and rng.random() < 0.2 else level  # noqa: PLR2004
            shape = rng.random()
            count = 0 if shape < 0.1 else (1 if shape < 0.6 else 2)  # noqa: PLR2004 - none, one or two
            created = self.instant(start, stop)
            report: dict[str, Value] = {
                "id": f"r{index:06d}",
                "originator": party.code,
                "level": label,
                "categories": list(rng.sample(CATEGORIES, count)),
                "created": self.local(created, party.zone),
            }
            if rng.random() < 0.05:  # noqa: PLR2004 - a few are releasable only to some parties
                pool = [code for code in self.partners[party.code] if rng.random() < 0.5] or [  # noqa: PLR2004
                    rng.choice(self.parties).code
                ]
                report["rel_to"] = sorted(set(pool))
            self.reports.append(report)
            self.report_meta.append((party.code, created))

    def make_consents(self, budget: int) -> None:
        """Grants by the originator, some with `until`, some revoked while in effect; exactly `budget`."""
        rng = self.rng
        given: set[tuple[int, str]] = set()
        while budget > 0:
            index = rng.randrange(len(self.reports))
            originator, created = self.report_meta[index]
            arrangements = self.member_of.get(originator, [])
            grant: dict[str, Value] = {"type": "grant_consent", "by": originator, "report": f"r{index:06d}"}
            if arrangements and rng.random() < 0.6:  # noqa: PLR2004 - most consents are to relay
                target = self.arrangements[rng.choice(arrangements)].id
                grant["arrangement"] = target
            else:
                target = rng.choice(self.partners[originator] or [p.code for p in self.parties])
                if target == originator:
                    continue
                grant["to"] = target
            if (index, target) in given:
                continue
            given.add((index, target))
            at = self.later(created, 0, 300)
            until = self.later(at, 30, 900) if rng.random() < 0.2 else None  # noqa: PLR2004
            if until is not None:
                grant["until"] = self.local(until, self.zone_of(originator))
            self.consents.append((at, grant))
            budget -= 1
            if budget > 0 and rng.random() < 0.1:  # noqa: PLR2004 - a few are taken back
                stop = until or at + 900 * DAY
                revoke = {key: value for key, value in grant.items() if key != "until"}
                revoke["type"] = "revoke_consent"
                self.consents.append((self.instant(at + DAY, stop - DAY), revoke))
                budget -= 1

    def zone_of(self, code: str) -> str:
        return self.parties[int(code[1:])].zone

    @staticmethod
    def local(at: datetime, zone_name: str) -> str:
        return at.astimezone(parse_timezone(zone_name)).isoformat(timespec="seconds")

    # -- the whole world -------------------------------------------------------------------------------
    def build(self) -> None:
        self.make_parties()
        self.make_network()
        self.make_reports()
        lifecycle = sum(len(pact.events) for pact in self.agreements + self.arrangements)
        if lifecycle > self.counts.events:
            msg = f"{self.counts.events} events cannot hold the {lifecycle} lifecycle events of this world"
            raise SystemExit(msg)
        self.make_consents(self.counts.events - lifecycle)

    def events(self) -> list[dict[str, Value]]:
        """Every event, in order of instant (ties in the order generated, so sign comes before entry)."""
        timed: list[tuple[datetime, int, dict[str, Value]]] = []
        for pact in self.agreements + self.arrangements:
            for at, fields in pact.events:
                event: dict[str, Value] = {"at": at.astimezone(pact.zone).isoformat(timespec="seconds")}
                event |= {"type": fields["type"], "agreement": pact.id} | fields
                timed.append((at, len(timed), event))
        for at, fields in self.consents:
            zone = self.zone_of(str(fields["by"]))
            timed.append((at, len(timed), {"at": self.local(at, zone)} | fields))
        timed.sort(key=lambda item: (item[0], item[1]))
        ordered = [event for _, _, event in timed]
        for number, event in enumerate(ordered):
            if number % 2 == 0:  # half the events are named
                ordered[number] = {"id": f"ev{number:06d}"} | event
        return ordered

    def render(self) -> str:
        c = self.counts
        lines = [
            f"# Generated by bench/generate_world.py: {c.parties} parties, {c.agreements} agreements,",
            f"# {c.arrangements} arrangements, {c.events} events, {c.reports} reports. Do not edit.",
            f"format = {toml(FORMAT)}",
            "reports = [",
            *(f"  {toml(report)}," for report in self.reports),
            "]",
            "events = [",
            *(f"  {toml(event)}," for event in self.events()),
            "]",
        ]
        for party in self.parties:
            lines += ["", f"[parties.{party.code}]", f'name = "Party {party.code[1:]}"']
            lines.append(f"levels = {toml(list(party.levels))}")
            if party.aliases:
                lines.append(f"aliases = {toml(dict(party.aliases))}")
        for section, pacts in (("agreements", self.agreements), ("arrangements", self.arrangements)):
            for pact in pacts:
                lines += ["", f"[{section}.{pact.id}]"]
                lines += [f"{key} = {toml(value)}" for key, value in pact.table.items()]
        return "\n".join(lines) + "\n"


def toml(value: Value) -> str:
    """A TOML value on one line: strings as basic strings, arrays, and inline tables."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        pairs = (f"{key if _BARE_KEY.fullmatch(key) else toml(key)} = {toml(item)}" for key, item in value.items())
        return "{ " + ", ".join(pairs) + " }"
    return "[" + ", ".join(toml(item) for item in value) + "]"


def verify(text: str, source: str, counts: Counts) -> float:
    """Load the world as pactnet does; fail loudly with the first issues if the core rejects it."""
    start = time.perf_counter()
    try:
        world = parse_world(text, source)
    except WorldError as error:
        print(f"INVALID: {error}", file=sys.stderr)
        for issue in error.issues[:20]:
            print(f"  {issue}", file=sys.stderr)
        raise SystemExit(1) from error
    seconds = time.perf_counter() - start
    found = (len(world.parties), len(world.agreements), len(world.events), len(world.reports))
    wanted = (counts.parties, counts.agreements, counts.events, counts.reports)
    if found != wanted:
        raise SystemExit(f"the loaded world has {found} parties/agreements/events/reports, not {wanted}")
    return seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parties", type=int, default=200)
    parser.add_argument("--agreements", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--arrangements", type=int, default=6, help="arrangements, each with its own hub")
    parser.add_argument("--members", type=int, default=25, help="members per arrangement")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--output", "-o", type=Path, default=Path(__file__).parent / "large-world.toml")
    parser.add_argument("--no-verify", action="store_true", help="skip loading the result with parse_world")
    args = parser.parse_args(argv)
    if args.parties < args.arrangements + 2 or args.agreements < 1 or args.reports < 1:
        parser.error("need at least arrangements + 2 parties, one agreement and one report")
    members = max(
        2, min(args.members, args.parties - args.arrangements, args.agreements // (2 * max(args.arrangements, 1)))
    )
    counts = Counts(args.parties, args.agreements, args.events, args.reports, args.arrangements, members)
    start = time.perf_counter()
    generator = Generator(counts, args.seed)
    generator.build()
    text = generator.render()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")
    if not args.no_verify:
        seconds = verify(text, str(args.output), counts)
        print(f"valid: parse_world accepted it in {seconds:.2f} s")


if __name__ == "__main__":
    main()
