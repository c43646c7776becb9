"""The rows and audit records a transfer decision leaves, the same wherever it is taken (publish, receive, send)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pactnet.policy.decisions import Decision


def decision_row(report_id: str, holder: str, recipient: str, at: str, decision: Decision) -> dict[str, Any]:
    """The `decisions` row of one decision (`at` as stored: pactnet.node.instant_text)."""
    return {
        "report_id": report_id,
        "holder": holder,
        "recipient": recipient,
        "at": at,
        "allowed": decision.allowed,
        "route": list(decision.route),
        "legs": [leg.as_dict() for leg in decision.legs],
        "marking": decision.as_dict()["marking"],
        "reasons": [reason.as_dict() for reason in decision.reasons],
    }


def decision_summary(recipient: str, decision: Decision) -> dict[str, Any]:
    """The data of a `decide` audit entry."""
    return {
        "to": recipient,
        "allowed": decision.allowed,
        "route": list(decision.route),
        "under": [leg.under for leg in decision.legs],
        "reasons": [reason.code.value for reason in decision.reasons],
    }
