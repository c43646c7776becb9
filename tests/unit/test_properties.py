"""Invariants of the policy core over small random worlds, written as TOML and loaded like any world file."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import combinations
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pactnet.policy import decide
from tests.unit.builders import build

if TYPE_CHECKING:
    from pactnet.policy import Decision, World

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE = datetime(2010, 1, 1, tzinfo=UTC)
HOURS_A_DAY = 24
SPAN = 365 * HOURS_A_DAY  # entries into force fall in 2010
WINDOW = 300 * HOURS_A_DAY  # lifecycle events follow entry into force within 300 days
CATEGORIES = ("dprk-missile", "dprk-nuclear", "pla-navy")
OFFSETS = ("+00:00", "+09:00", "-04:00", "+05:30")
ZONES = ("+00:00", "+09:00", "-04:00", "Europe/Paris", "America/New_York")
PARTY_CODES = ("AA", "BB", "CC", "DD")
OFFSET = st.sampled_from(OFFSETS)
COIN = st.booleans()


def stamp(hours: int, offset: str) -> str:
    """The instant BASE + hours, written in RFC 3339 with the given offset."""
    moment = BASE + timedelta(hours=hours)
    return moment.astimezone(datetime.fromisoformat(f"2000-01-01T00:00:00{offset}").tzinfo).isoformat()


def moment(text: str) -> datetime:
    """An instant written in RFC 3339."""
    return datetime.fromisoformat(text)


@cache
def _one_in(count: int) -> st.SearchStrategy[bool]:
    return st.sampled_from([False] * (count - 1) + [True])


def one_in(draw: st.DrawFn, count: int) -> bool:
    """True about once in `count` draws (st.integers favours its bounds too much for this)."""
    return draw(_one_in(count))


# -- random worlds ------------------------------------------------------------------------------------------
@dataclass
class Scheme:
    """A generated party: its levels, lowest first, and its aliases (label -> level)."""

    levels: list[str]
    aliases: dict[str, str]

    def labels_of(self, level: str) -> list[str]:
        return [level] + [label for label, target in self.aliases.items() if target == level]

    def level_of(self, label: str) -> str:
        return self.aliases.get(label, label)


@st.composite
def schemes(draw: st.DrawFn, code: str) -> Scheme:
    levels = [f"{code}{rank}" for rank in range(draw(st.integers(1, 3)))]
    aliases = {}
    if draw(COIN):
        aliases[f"{code}-alias"] = draw(st.sampled_from(levels))
    return Scheme(levels, aliases)


@st.composite
def equivalences(draw: st.DrawFn, pair: tuple[str, str], parties: dict[str, Scheme]) -> list[dict[str, Any]]:
    """One to three rows; no level in two rows; a side is a label, or an array of labels of one level."""
    a, b = pair
    most = min(len(parties[a].levels), len(parties[b].levels))
    count = draw(st.integers(1, most)) if one_in(draw, 3) else most
    left = draw(st.permutations(parties[a].levels))[:count]
    right = draw(st.permutations(parties[b].levels))[:count]
    rows = []
    for level_a, level_b in zip(left, right, strict=True):
        rows.append({a: draw(side(parties[a], level_a)), b: draw(side(parties[b], level_b))})
    return rows


@st.composite
def side(draw: st.DrawFn, scheme: Scheme, level: str) -> str | list[str]:
    labels = draw(st.permutations(scheme.labels_of(level)))
    return labels[0] if len(labels) == 1 and draw(COIN) else labels


scopes = st.one_of(
    st.just(["*"]),
    st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True),
    st.just(list(CATEGORIES)),
)


@st.composite
def terms(draw: st.DrawFn) -> dict[str, str]:
    """Terms whose notices and resumptions, made within WINDOW of entry into force, end nothing in it."""
    kind = draw(st.sampled_from(["indefinite", "renewing", "fixed"]))
    if kind == "indefinite":
        return {"notice_period": draw(st.sampled_from(["P1Y", "P2Y", "P18M"]))}
    term = draw(st.sampled_from(["P2Y", "P3Y", "P104W"]))
    if kind == "fixed":
        return {"term": term} | ({"notice_period": "P90D"} if draw(COIN) else {})
    return {
        "term": term,
        "renewal": draw(st.sampled_from(["P1Y", "P2Y", "P6M"])),
        "notice_period": draw(st.sampled_from(["P30D", "P90D", "P3M", "P2W"])),
    }


@st.composite
def options(draw: st.DrawFn) -> dict[str, str]:
    chosen = {}
    for key, values in (
        ("late_notice", ["next-term", "lapse"]),
        ("resumed_notice", ["at-term-end", "immediate"]),
        ("onward_release", ["originator-consent", "forbidden"]),
        ("timezone", list(ZONES)),
    ):
        if draw(COIN):
            chosen[key] = draw(st.sampled_from(values))
    return chosen


# What a notice may do next, by the state it is in (world-format.md, "One notice at a time").
NOTICE_ACTS = {
    "none": ["notify_termination"],
    "pending": ["suspend_notice", "withdraw_notice"],
    "suspended": ["resume_notice", "withdraw_notice"],
}
NOTICE_AFTER = {"notify_termination": "pending", "suspend_notice": "suspended", "withdraw_notice": "none"}


@st.composite
def lifecycle(
    draw: st.DrawFn, pact_id: str, pair: tuple[str, ...], text: dict[str, Any], parties: dict[str, Scheme]
) -> list[dict[str, Any]]:
    """A valid sequence of events for one agreement (or arrangement, when it has no `parties` key)."""
    is_arrangement = "parties" not in text
    offset = draw(OFFSET)
    events: list[dict[str, Any]] = []
    entry = draw(st.integers(0, SPAN if one_in(draw, 3) else 60 * HOURS_A_DAY))  # most in the first two months
    if draw(COIN):
        events.append({"at": stamp(entry - draw(st.integers(0, 2000)), offset), "type": "sign"})
    if one_in(draw, 20):
        return [dict(item, agreement=pact_id) for item in events]  # never enters into force
    events.append({"at": stamp(entry, offset), "type": "enter_into_force"})
    # Arrangements take no notices, fixed-term agreements no notice of termination.
    notices = not is_arrangement and not ("term" in text and "renewal" not in text)
    ends_on_resumption = text.get("resumed_notice") == "immediate"
    notice, notifier = "none", None
    for hours in sorted(draw(st.lists(st.integers(0, WINDOW), max_size=5))):
        item: dict[str, Any] = {"at": stamp(entry + hours, draw(OFFSET))}
        acts = ["amend"] + (NOTICE_ACTS[notice] if notices else [])
        item["type"] = act = "terminate" if one_in(draw, 20) else draw(st.sampled_from(acts))
        if act == "amend":
            item["set"] = draw(amendments(is_arrangement, pair, parties))
        elif act != "terminate":
            notifier = draw(st.sampled_from(pair)) if act == "notify_termination" else notifier
            item["by"], notice = notifier, NOTICE_AFTER.get(act, "pending")
        events.append(item)
        if act == "terminate" or (act == "resume_notice" and ends_on_resumption):
            break
    return [dict(item, agreement=pact_id) for item in events]


@st.composite
def amendments(
    draw: st.DrawFn, is_arrangement: bool, pair: tuple[str, ...], parties: dict[str, Scheme]
) -> dict[str, Any]:
    if is_arrangement:
        return {"scope": draw(scopes)}
    changes: dict[str, Any] = {}
    if draw(COIN):
        changes["scope"] = draw(scopes)
    if not changes or draw(COIN):
        changes["equivalence"] = draw(equivalences((pair[0], pair[1]), parties))
    return changes


def rel_tos(codes: list[str], originator: str) -> st.SearchStrategy[list[str]]:
    """Everyone but the originator, everyone but the originator and one other, or any parties at all."""
    others = sorted(set(codes) - {originator})
    return st.one_of(
        st.just(others),
        st.sampled_from(others).map(lambda left_out: sorted(set(others) - {left_out})),
        st.lists(st.sampled_from(codes), max_size=len(codes), unique=True),
    )


@st.composite
def reports(draw: st.DrawFn, parties: dict[str, Scheme]) -> list[dict[str, Any]]:
    codes = list(parties)
    made = []
    for index in range(draw(st.integers(1, 4))):
        originator = draw(st.sampled_from(codes))
        scheme = parties[originator]
        report: dict[str, Any] = {
            "id": f"r{index}",
            "originator": originator,
            "level": draw(st.sampled_from(scheme.levels + list(scheme.aliases))),
            "categories": draw(st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True)),
        }
        if one_in(draw, 4):
            report["rel_to"] = draw(rel_tos(codes, originator))
        if draw(COIN):
            report["created"] = stamp(draw(st.integers(0, SPAN)), draw(OFFSET))
        made.append(report)
    return made


@st.composite
def consents(
    draw: st.DrawFn, made: list[dict[str, Any]], codes: list[str], arrangements: list[str]
) -> list[dict[str, Any]]:
    """At most one grant per report and target, sometimes with `until`, sometimes revoked while in effect."""
    events: list[dict[str, Any]] = []
    for report in made:
        targets = [("to", code) for code in codes] + [("arrangement", pact) for pact in arrangements]
        for key, target in draw(st.lists(st.sampled_from(targets), max_size=3, unique=True)):
            start = draw(st.integers(0, SPAN + WINDOW))
            grant = {"at": stamp(start, "+00:00"), "type": "grant_consent", "by": report["originator"]}
            grant |= {"report": report["id"], key: target}
            stop = None
            if draw(COIN):
                stop = start + draw(st.integers(1, 4000))
                grant["until"] = stamp(stop, "+09:00")
            events.append(grant)
            if draw(COIN):
                end = stop if stop is not None else start + 4000
                revoked = draw(st.integers(start + 1, end - 1)) if end - start > 1 else None
                if revoked is not None:
                    revocation = {"at": stamp(revoked, "-04:00"), "type": "revoke_consent"}
                    events.append(revocation | {"by": report["originator"], "report": report["id"], key: target})
    return events


@st.composite
def arrangement_plans(draw: st.DrawFn, codes: list[str]) -> list[dict[str, Any]]:
    """Up to two arrangements, each a hub and two or more other parties as members."""
    plans: list[dict[str, Any]] = []
    if len(codes) < 3:
        return plans
    for _ in range(draw(st.sampled_from([1, 2, 0]))):
        order = draw(st.permutations(codes))
        members = order[1 : 1 + draw(st.integers(2, len(codes) - 1))]
        plan: dict[str, Any] = {"hub": order[0], "members": members, "scope": draw(scopes)}
        if not one_in(draw, 3):
            plan["consent"] = "standing"
        elif draw(COIN):
            plan["consent"] = "per-item"
        plans.append(plan)
    return plans


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Scheme]]:
    """A world document with 2-4 parties, agreements, arrangements, reports, events and consents."""
    codes = list(PARTY_CODES[: draw(st.sampled_from([4, 3, 2]))])
    parties = {code: draw(schemes(code)) for code in codes}
    document: dict[str, Any] = {"format": "pactnet.world/1", "parties": {}}
    for code, scheme in parties.items():
        document["parties"][code] = {"levels": scheme.levels}
        if scheme.aliases:
            document["parties"][code]["aliases"] = scheme.aliases
    plans = draw(arrangement_plans(codes))
    legs = {frozenset((plan["hub"], member)) for plan in plans for member in plan["members"]}
    shortcuts = {frozenset(pair) for plan in plans for pair in combinations(plan["members"], 2)}
    agreements: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    pairs = list(combinations(codes, 2))
    # Half the worlds with a hub are made for relaying: every leg bound with a scope of everything, no
    # member bound to another, and the arrangement covering everything with standing consent.
    relaying = bool(plans) and draw(COIN)
    for plan in plans if relaying else []:
        plan |= {"scope": ["*"], "consent": "standing"}
    bound = []
    for pair in draw(st.permutations(pairs)):
        if frozenset(pair) in legs:
            wanted = relaying or not one_in(draw, 8)
        elif frozenset(pair) in shortcuts:
            wanted = not relaying and draw(COIN)
        else:
            wanted = not one_in(draw, 3)
        bound += [pair] if wanted else []
    bound += draw(st.lists(st.sampled_from(pairs), max_size=2))  # a second agreement between the same two
    for index, (a, b) in enumerate(bound):
        pair = (a, b) if draw(COIN) else (b, a)
        text: dict[str, Any] = {"parties": list(pair), "equivalence": draw(equivalences(pair, parties))}
        if draw(COIN) and not (relaying and frozenset(pair) in legs):
            text["scope"] = draw(scopes)
        text |= draw(terms()) | draw(options())
        agreements[f"AG-{index}"] = text
        events += draw(lifecycle(f"AG-{index}", pair, text, parties))
    arrangements: dict[str, Any] = {}
    for index, plan in enumerate(plans):
        arrangements[f"AR-{index}"] = plan
        events += draw(lifecycle(f"AR-{index}", tuple(plan["members"]), plan, parties))
    made = draw(reports(parties))
    events += draw(consents(made, codes, list(arrangements)))
    document |= {"agreements": agreements, "arrangements": arrangements, "events": events, "reports": made}
    return document, parties


@st.composite
def instants(draw: st.DrawFn, document: dict[str, Any]) -> datetime:
    """Mostly near an event of the world (where the answers change), sometimes anywhere."""
    anchors = [moment(item["at"]) for item in document["events"]]
    if anchors and not one_in(draw, 4):
        return draw(st.sampled_from(anchors)) + timedelta(hours=draw(st.integers(-48, 200 * HOURS_A_DAY)))
    return BASE + timedelta(hours=draw(st.integers(-365 * HOURS_A_DAY, SPAN + 3 * 365 * HOURS_A_DAY)))


@st.composite
def questions(draw: st.DrawFn, document: dict[str, Any]) -> list[tuple[str, str, str, datetime]]:
    """Transfer questions: mostly asked by the originator of another party, often between members of a hub."""
    codes = list(document["parties"])
    asked = []
    for _ in range(draw(st.integers(1, 6))):
        report = draw(st.sampled_from(document["reports"]))
        holder: str = draw(st.sampled_from(codes)) if one_in(draw, 3) else report["originator"]
        others = [code for code in codes if code != holder]
        recipient = draw(st.sampled_from(codes if one_in(draw, 10) or not others else others))
        members = [arrangement["members"] for arrangement in document["arrangements"].values()]
        if draw(COIN) and members:
            group = draw(st.sampled_from(members))
            holder, recipient = draw(st.permutations(group))[:2]
            mine = [item for item in document["reports"] if item["originator"] == holder]
            report = draw(st.sampled_from(mine)) if mine and not one_in(draw, 4) else report
        asked.append((report["id"], holder, recipient, draw(instants(document))))
    return asked


@st.composite
def worlds_and_questions(draw: st.DrawFn) -> Case:
    document, parties = draw(worlds())
    return document, parties, draw(questions(document))


Question = tuple[str, str, str, datetime]  # report, holder, recipient, instant
Case = tuple[dict[str, Any], dict[str, Scheme], list[Question]]


@st.composite
def relay_cases(draw: st.DrawFn) -> Case:
    """A world made for relaying: the members are bound only to the hub, which relays everything freely."""
    codes = list(PARTY_CODES[: draw(st.sampled_from([3, 4]))])
    hub = draw(st.sampled_from(codes))
    members = [code for code in codes if code != hub]
    parties = {code: Scheme([f"{code}{rank}" for rank in range(3)], {}) for code in codes}
    start = stamp(0, "+00:00")
    agreements: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for index, member in enumerate(members):
        pair = (hub, member) if draw(COIN) else (member, hub)
        rows = draw(equivalences(pair, parties))
        agreements[f"AG-{index}"] = {"parties": list(pair), "equivalence": rows, "notice_period": "P1Y"}
        events.append({"at": start, "type": "enter_into_force", "agreement": f"AG-{index}"})
    arrangement = {"hub": hub, "members": members, "scope": ["*"], "consent": "standing"}
    events.append({"at": start, "type": "enter_into_force", "agreement": "AR-0"})
    made = []
    for index, originator in enumerate(draw(st.lists(st.sampled_from(members), min_size=1, max_size=4))):
        report: dict[str, Any] = {
            "id": f"r{index}",
            "originator": originator,
            "level": draw(st.sampled_from(parties[originator].levels)),
        }
        if not one_in(draw, 4):
            report["rel_to"] = draw(rel_tos(codes, originator))
        made.append(report)
    document = {
        "format": "pactnet.world/1",
        "parties": {code: {"levels": scheme.levels} for code, scheme in parties.items()},
        "agreements": agreements,
        "arrangements": {"AR-0": arrangement},
        "events": events,
        "reports": made,
    }
    asked = []
    for _ in range(draw(st.integers(1, 6))):
        report = draw(st.sampled_from(made))
        recipient = draw(st.sampled_from([code for code in members if code != report["originator"]]))
        at = BASE + timedelta(hours=draw(st.integers(0, 365 * HOURS_A_DAY)))
        asked.append((report["id"], report["originator"], recipient, at))
    return document, parties, asked


# Random worlds, and worlds made for relaying, where hubs and rel_to matter most.
CASES = st.one_of(worlds_and_questions(), relay_cases())


def ask(world: World, question: Question) -> Decision:
    report, holder, recipient, at = question
    return decide(world, world.reports[report], holder, recipient, at)


def outcome(decision: Decision) -> tuple[object, ...]:
    """What a decision says, without the wording of its messages (which may name later instants)."""
    return (
        decision.allowed,
        decision.route,
        decision.legs,
        decision.marking,
        sorted(reason.code for reason in decision.reasons),
    )


# -- an independent reading of the equivalence tables -------------------------------------------------------
def rows_at(document: dict[str, Any], agreement: str, at: datetime) -> list[dict[str, Any]]:
    """The equivalence rows of an agreement as amended by the amendments at or before `at`."""
    rows: list[dict[str, Any]] = document["agreements"][agreement]["equivalence"]
    amendments = [
        (moment(item["at"]), index, item["set"]["equivalence"])
        for index, item in enumerate(document["events"])
        if item.get("agreement") == agreement and item["type"] == "amend" and "equivalence" in item["set"]
    ]
    for since, _, amended in sorted(amendments, key=lambda entry: (entry[0], entry[1])):
        if since <= at:
            rows = amended
    return rows


def labels(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def row_maps(row: dict[str, Any], sender: str, level: str, receiver: str, parties: dict[str, Scheme]) -> str | None:
    """The receiver's label when this row holds the sender's level, else None."""
    if sender not in row or receiver not in row:
        return None
    if any(parties[sender].level_of(label) == level for label in labels(row[sender])):
        return labels(row[receiver])[0]
    return None


def held_levels(
    document: dict[str, Any], parties: dict[str, Scheme], report: dict[str, Any], holder: str, at: datetime
) -> set[str]:
    """The levels at which a holder can hold a report: its own, or any mapped by an agreement with its originator."""
    originator, level = report["originator"], parties[report["originator"]].level_of(report["level"])
    if holder == originator:
        return {level}
    held = set()
    for agreement, text in document["agreements"].items():
        if set(text["parties"]) == {originator, holder}:
            for row in rows_at(document, agreement, at):
                label = row_maps(row, originator, level, holder, parties)
                if label is not None:
                    held.add(parties[holder].level_of(label))
    return held


# -- the properties ---------------------------------------------------------------------------------------
class TestStatusDependsOnlyOnThePast:
    """A status, and a decision, depend only on the events at or before the instant asked about."""

    @SETTINGS
    @given(case=worlds(), data=st.data())
    def test_dropping_every_later_event_leaves_every_status_unchanged(
        self, case: tuple[dict[str, Any], dict[str, Scheme]], data: st.DataObject
    ) -> None:
        document, _ = case
        at = data.draw(instants(document))
        world = build(document)
        earlier = copy.deepcopy(document)
        earlier["events"] = [item for item in document["events"] if moment(item["at"]) <= at]
        past = build(earlier)
        for pacts, past_pacts in ((world.agreements, past.agreements), (world.arrangements, past.arrangements)):
            for pact_id, pact in pacts.items():
                assert pact.history.status(at) == past_pacts[pact_id].history.status(at), pact_id

    @SETTINGS
    @given(case=CASES)
    def test_dropping_every_later_event_leaves_every_decision_unchanged(self, case: Case) -> None:
        document, _, asked = case
        world = build(document)
        for question in asked:
            at = question[3]
            earlier = copy.deepcopy(document)
            earlier["events"] = [item for item in document["events"] if moment(item["at"]) <= at]
            assert outcome(ask(world, question)) == outcome(ask(build(earlier), question)), question


class TestLevels:
    """Nothing is ever allowed at a level without an equivalence row on each leg."""

    @SETTINGS
    @given(case=CASES)
    def test_every_leg_of_an_allowed_route_maps_its_level_through_a_row_of_its_agreement(self, case: Case) -> None:
        document, parties, asked = case
        world = build(document)
        for question in asked:
            decision = ask(world, question)
            if not decision.allowed:
                continue
            report_id, holder, _, at = question
            report = next(item for item in document["reports"] if item["id"] == report_id)
            sending = held_levels(document, parties, report, holder, at)
            assert decision.legs, decision
            assert decision.route == (decision.legs[0].sender, *(leg.receiver for leg in decision.legs))
            for leg in decision.legs:
                assert set(document["agreements"][leg.under]["parties"]) == {leg.sender, leg.receiver}
                rows = rows_at(document, leg.under, at)
                mapped = {row_maps(row, leg.sender, level, leg.receiver, parties) for row in rows for level in sending}
                assert leg.level in mapped, (question, leg, rows)
                sending = {parties[leg.receiver].level_of(leg.level)}
            assert decision.marking is not None
            assert decision.marking.level == decision.legs[-1].level
            assert decision.marking.originator == report["originator"]


class TestRelTo:
    """No route passes through a party outside the report's rel_to."""

    @SETTINGS
    @given(case=CASES, data=st.data())
    def test_every_party_after_the_holder_on_an_allowed_route_is_in_rel_to(
        self, case: Case, data: st.DataObject
    ) -> None:
        document, _, asked = copy.deepcopy(case)
        codes = list(document["parties"])
        for report in document["reports"]:  # every report releasable to some parties only
            report["rel_to"] = data.draw(rel_tos(codes, report["originator"]))
        world = build(document)
        for question in asked:
            decision = ask(world, question)
            rel_to = world.reports[question[0]].rel_to
            if decision.allowed and rel_to is not None:
                assert set(decision.route[1:]) <= rel_to, (question, decision.route, rel_to)


class TestRefusals:
    """A refusal always carries at least one reason with a code and a message."""

    @SETTINGS
    @given(case=CASES)
    def test_every_refusal_has_a_reason_with_a_non_empty_code_and_message(self, case: Case) -> None:
        document, _, asked = case
        world = build(document)
        for question in asked:
            decision = ask(world, question)
            if decision.allowed:
                assert decision.reasons == ()
                continue
            assert decision.reasons, question
            for reason in decision.reasons:
                assert reason.code.value
                assert reason.message.strip()
            assert decision.route == ()
            assert decision.marking is None


class TestMoreAgreements:
    """Adding an agreement in force never removes an allowed route."""

    @SETTINGS
    @given(case=CASES, data=st.data())
    def test_an_added_agreement_in_force_keeps_every_allowed_transfer_allowed(
        self, case: Case, data: st.DataObject
    ) -> None:
        document, parties, asked = case
        world = build(document)
        codes = list(parties)
        first, second = data.draw(st.permutations(codes))[:2]
        pair = (first, second)
        rows = data.draw(equivalences(pair, parties))
        earliest = min(question[3] for question in asked)
        entry = data.draw(st.integers(0, 1000))
        richer = copy.deepcopy(document)
        richer["agreements"]["AG-NEW"] = {"parties": list(pair), "equivalence": rows, "notice_period": "P90D"}
        entry_at = (earliest - timedelta(hours=entry)).isoformat()
        richer["events"].append({"at": entry_at, "type": "enter_into_force", "agreement": "AG-NEW"})
        wider = build(richer)
        for question in asked:
            if ask(world, question).allowed:
                assert ask(wider, question).allowed, (question, pair, rows)
