"""Transfer decisions: may a holder pass a report to a recipient now, by which route, marked how.

A refusal is a value, not an exception: `Decision(allowed=False, reasons=...)` lists every rule that failed,
each with a stable code (docs/reasons.md) and a message a liaison officer understands. The rules themselves are
in `rules`; here is the fast path of the common case, which a property test holds equal to them.
"""

from __future__ import annotations

from datetime import UTC
from functools import partial
from typing import TYPE_CHECKING

from pactnet.errors import PolicyError
from pactnet.policy.answers import Code, Decision, Leg, Marking, Reason
from pactnet.policy.clock import show_instant
from pactnet.policy.rules import Question, carries, unique

if TYPE_CHECKING:
    from datetime import datetime

    from pactnet.policy.model import Report, World

__all__ = ["Code", "Decision", "DirectAnswers", "Leg", "Marking", "Reason", "decide", "decide_by_the_rules"]

# The fast path's answers in one world at one instant, by all they read of the question besides the world: the
# holder (the originator), the recipient, the level and categories, the instant. None: not direct, ask the rules.
DirectAnswers = dict[tuple[str, str, str, frozenset[str], "datetime"], "Decision | None"]


def decide(
    world: World,
    report: Report,
    holder: str,
    recipient: str,
    at: datetime,
    *,
    assume_consent: bool = False,
    ignore_created: bool = False,
    fast_path: bool = True,
    direct: DirectAnswers | None = None,
) -> Decision:
    """Whether `holder` may pass `report` to `recipient` at `at`, by which route, marked how; or why not.

    Direct transfer under a bilateral agreement is preferred; a hub is used only when no direct agreement
    allows it (agreements.md §4, routing order). Deny by default: every path that is not proven allowed is
    refused. `assume_consent` and `ignore_created` serve impact analysis, which asks about routes, not items;
    `fast_path=False` decides by the plain rules alone (`decide_by_the_rules`). `direct`: the fast path's answers
    kept for the caller's next questions, which must be asked of the same world (a publish of many reports asks
    the same few questions of each, the report's id aside, which the fast path does not read).
    """
    asked = at.tzinfo
    if asked is not UTC:  # written out, not a helper: a call costs as much as a fifth of a direct decision
        if asked is None:
            raise PolicyError(f"decide: the instant {at.isoformat()} has no UTC offset; time zones are explicit")
        try:
            at = at.astimezone(UTC)
        except OverflowError as error:
            raise PolicyError(f"decide: the instant {at.isoformat()} is outside the years 1 to 9999 in UTC") from error
    originator = report.originator
    if (
        fast_path
        and holder == originator
        and recipient != holder
        and (report.rel_to is None or recipient in report.rel_to)
        and (ignore_created or report.created is None or report.created <= at)
    ):
        # The common case, first and cheaply: the originator's own item, sent directly. Only an allowed
        # transfer returns here, exactly as decide_by_the_rules would (a property test compares the two);
        # anything else is decided (and explained) by the rules, one by one.
        key = (holder, recipient, report.level, report.category_set, at)
        if direct is None or key not in direct:
            answer = _direct(world, holder, recipient, report.level, report.category_set, at)
            if direct is not None:
                direct[key] = answer
        else:
            answer = direct[key]
        if answer is not None:
            return answer
    return _by_the_rules(Question(world, report, holder, recipient, at, assume_consent, asked), ignore_created)


def _direct(
    world: World, holder: str, recipient: str, level: str, categories: frozenset[str], at: datetime
) -> Decision | None:
    """The holder's (the originator's) transfer straight to the recipient, if an agreement carries it; else None."""
    for agreement in world.between.get((holder, recipient), ()):
        label = carries(agreement, holder, recipient, level, categories, at)
        if label is not None:
            leg = Leg(holder, recipient, agreement.id, label)
            return Decision(True, (holder, recipient), (leg,), Marking(holder, label))  # noqa: FBT003
    return None


# What `decide` answers by the plain rules alone, without its fast path: a property test holds the two equal.
decide_by_the_rules = partial(decide, fast_path=False)


def _by_the_rules(question: Question, ignore_created: bool) -> Decision:
    """The checks on the report and the holder, then the routes; a refusal lists every rule that failed."""
    report, holder, recipient, at = question.report, question.holder, question.recipient, question.at
    if holder == recipient:
        # Fine print: a transfer whose holder is its recipient has its own reason, and nothing else is checked.
        message = f"{holder} already holds {report.id}: nothing to transfer"
        return Decision(allowed=False, reasons=(Reason(Code.SAME_PARTY, message),))
    fails = question.fails
    if not ignore_created and report.created is not None and at < report.created:
        when = show_instant(report.created, question.asked)
        fails.append(Reason(Code.REPORT_NOT_CREATED, f"{report.id} does not exist before {when}"))
    if report.rel_to is not None and recipient not in report.rel_to:
        message = f"{report.id} is releasable only to {', '.join(sorted(report.rel_to))}; not {recipient}"
        fails.append(Reason(Code.NOT_IN_REL_TO, message))
    level, shown = question.held_level()
    question.check_onward_release()
    direct_fails: list[Reason] = []
    route = question.direct(level, shown, direct_fails)
    if route is not None:
        return Decision(allowed=False, reasons=unique(fails)) if fails else route
    relay_fails: list[Reason] = []
    route = question.relay(level, shown, relay_fails)
    if route is None:
        return Decision(allowed=False, reasons=unique(fails + direct_fails + relay_fails))
    if fails:
        return Decision(allowed=False, reasons=unique(fails))
    notes = unique(direct_fails + relay_fails)  # why the direct route (and earlier arrangements) were not taken
    return Decision(allowed=True, route=route.route, legs=route.legs, marking=route.marking, notes=notes)
