"""The pure policy core: classifications, agreements and their lifecycle, decisions, routes, impact.

It imports nothing of pactnet's adapters, no I/O library and never reads the clock: time comes in as `at`.
"""

from pactnet.policy.decisions import Code, Decision, Leg, Marking, Reason, decide
from pactnet.policy.lifecycle import History, Notice, State, Status
from pactnet.policy.model import Agreement, Arrangement, Party, Report, World
from pactnet.policy.precedence import Precedence

__all__ = [
    "Agreement",
    "Arrangement",
    "Code",
    "Decision",
    "History",
    "Leg",
    "Marking",
    "Notice",
    "Party",
    "Precedence",
    "Reason",
    "Report",
    "State",
    "Status",
    "World",
    "decide",
]
