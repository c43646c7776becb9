"""The operator's log: what a serving node does, one event a line, as JSON or text, never a secret.

Events are logged with `note(log, "delivery-failed", partner="JPN", cause=...)`: a name and fields. The fields
are chosen at each call to say what happened and to whom (parties, envelope ids, codes, causes), never a
token, a key, a password or a report's title or body; a field whose name says it holds one is dropped here as
well, in case a later call forgets. The audit log stays the record of what was decided; this log is for the
person who keeps the node running.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

FORMATS = ("text", "json")
LogFormat = Literal["text", "json"]
_FIELDS = "pactnet_fields"
# Field names that would carry what a log must never hold (dropped whatever the caller passed).
_SECRET_WORDS = ("token", "key", "password", "secret", "body", "title", "description", "purpose")


def note(log: logging.Logger, event: str, level: int = logging.INFO, **fields: object) -> None:
    """Log an event with its fields."""
    log.log(level, event, extra={_FIELDS: fields})


def _fields(record: logging.LogRecord) -> dict[str, object]:
    given: dict[str, object] = getattr(record, _FIELDS, {})
    return {name: value for name, value in given.items() if not any(word in name for word in _SECRET_WORDS)}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: `at`, `level`, `logger`, `event` and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line |= {name: value for name, value in _fields(record).items() if name not in line}
        if record.exc_info and record.exc_info[0] is not None:
            # The kind of error only: a database error's text may hold a statement's parameters.
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2019-11-23T00:00:00.000+00:00 WARNING delivery-failed partner=JPN cause=...`, one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of text."""
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields = " ".join(
            f"{name}={json.dumps(value, ensure_ascii=False, default=str)}" for name, value in _fields(record).items()
        )
        error = f" error={record.exc_info[0].__name__}" if record.exc_info and record.exc_info[0] is not None else ""
        return f"{at} {record.levelname} {record.getMessage()}" + (f" {fields}" if fields else "") + error


def configure(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Send pactnet's events to standard error in `log_format`; other libraries' at warning and above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("pactnet").setLevel(level)
