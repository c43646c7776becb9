"""The database out of reach or out of space: a condition to wait out or fix, answered 503, not a defect.

A request meets it while PostgreSQL restarts (connection refused, "the database system is starting up", a
connection the restart cut) or while SQLite's disk is full ("database or disk is full", a write the file-size
limit refused as a disk I/O error). The transaction it was in is rolled back whole, so nothing of the request was
written; the API answers 503 with Retry-After in the one error shape (pactnet.api.errors) and the operator's log
gets one line, never a stack trace.
"""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError

# What SQLAlchemy raises for the driver's errors of this kind (psycopg's and sqlite3's OperationalError).
OUTAGES: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
_FULL = ("disk is full", "disk i/o error", "no space left", "file too large")


def is_full(error: BaseException) -> bool:
    """Whether the error says the database's storage is full (or a write beyond its size was refused)."""
    return any(words in cause(error).lower() for words in _FULL)


def cause(error: BaseException) -> str:
    """The driver's error class and the first line of its message: no statement, no parameters, no password."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0][:300] if lines else ''}"


def message(error: BaseException) -> str:
    """What the user is told: what is wrong, that nothing was written, and what to do."""
    if is_full(error):
        return "the node's database is out of space: nothing was written; retry once its operator has made room"
    return (
        "the node's database cannot be reached at the moment: nothing was written, unless it went away while "
        "committing (then the request may be stored whole: send it again with the same Idempotency-Key, or look "
        "before sending it again); retry shortly"
    )
