"""The rows and audit records of reports and decisions, the same wherever they are written (publish, receive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, insert, select

from pactnet.store.tables import report_categories, reports

if TYPE_CHECKING:
    from pactnet.policy.decisions import Decision


# A report's categories by the report's id, so that they can be inserted in the same executemany round as other
# reports' (one statement per table for a whole batch), without waiting for each report's seq.
INSERT_CATEGORIES = insert(report_categories).from_select(
    ["report_seq", "category"],
    select(reports.c.seq, bindparam("category", type_=String)).where(reports.c.id == bindparam("report_id")),
)


def category_rows(report_id: str, categories: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of INSERT_CATEGORIES for one report."""
    return [{"report_id": report_id, "category": category} for category in categories]


def decision_parts(decision: Decision) -> dict[str, Any]:
    """The columns of a `decisions` row that the decision alone fills: its route, legs, marking and reasons."""
    return {
        "route": list(decision.route),
        "legs": [leg.as_dict() for leg in decision.legs],
        "marking": None if decision.marking is None else decision.marking._asdict(),
        "reasons": [reason.as_dict() for reason in decision.reasons],
    }


def decision_row(
    report_id: str,
    holder: str,
    recipient: str,
    at: str,
    decision: Decision,
    asked_by: str,
    parts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `decisions` row of one decision (`at` as stored: pactnet.node.instant_text), asked for by `asked_by`.

    `parts`: `decision_parts(decision)`, if the caller made them already (DecisionForms).
    """
    return {
        "report_id": report_id,
        "holder": holder,
        "recipient": recipient,
        "at": at,
        "allowed": decision.allowed,
        **(decision_parts(decision) if parts is None else parts),
        "asked_by": asked_by,
    }


def decision_summary(recipient: str, decision: Decision, asked_by: str) -> dict[str, Any]:
    """The data of a `decide` audit entry: the transfer, who asked for it, and the decision."""
    return {
        "to": recipient,
        "asked_by": asked_by,
        "allowed": decision.allowed,
        "route": list(decision.route),
        "under": [leg.under for leg in decision.legs],
        "reasons": [reason.code.value for reason in decision.reasons],
    }


class DecisionForms:
    """The stored forms of the decisions of one write, built once per distinct decision and recipient.

    A TAXII post publishes a hundred objects that share a handful of markings, so their decisions are a handful of
    equal values. Each form here is a pure function of (recipient, decision, asked_by): an equal decision gets the
    same objects, not equal copies, and the writers that meet an object twice in one call (store.bulk's JSON
    columns, the audit log's canonical JSON) encode it once. The objects are shared: nobody may change them.
    """

    def __init__(self, asked_by: str) -> None:
        self.asked_by = asked_by
        self._parts: dict[Decision, dict[str, Any]] = {}
        self._summaries: dict[tuple[str, Decision], dict[str, Any]] = {}
        self._dicts: dict[Decision, dict[str, Any]] = {}

    def row(self, report_id: str, holder: str, recipient: str, at: str, decision: Decision) -> dict[str, Any]:
        """The `decisions` row, as `decision_row` makes it (the same keys, in the same order)."""
        parts = self._parts.get(decision)
        if parts is None:
            parts = self._parts[decision] = decision_parts(decision)
        return decision_row(report_id, holder, recipient, at, decision, self.asked_by, parts)

    def summary(self, recipient: str, decision: Decision) -> dict[str, Any]:
        """The data of the `decide` audit entry, as `decision_summary` makes it."""
        key = (recipient, decision)
        found = self._summaries.get(key)
        if found is None:
            found = self._summaries[key] = decision_summary(recipient, decision, self.asked_by)
        return found

    def as_dict(self, decision: Decision) -> dict[str, Any]:
        """`decision.as_dict()`, as a transfer's payload carries it."""
        found = self._dicts.get(decision)
        if found is None:
            found = self._dicts[decision] = decision.as_dict()
        return found
