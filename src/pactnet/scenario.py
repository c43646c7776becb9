"""The demo's scenario clock: every node of a demo reads the same scenario instant from a file.

Only `pactnet demo` uses it (`pactnet node serve --scenario-clock FILE`, a hidden option): in production a
node takes its time from the system clock and nothing else. The file holds the scenario's offset from the wall
clock, so the scenario's time flows at the wall clock's pace between the instants the demo sets.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from pathlib import Path


class ScenarioError(PactnetError):
    """The scenario clock's file cannot be read as one; the message names it."""


class ScenarioClock:
    """A clock reading the scenario's offset from `path` whenever the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: int | None = None
        self._offset = timedelta()

    def __call__(self) -> datetime:
        """The scenario's current instant."""
        try:
            changed = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            changed = None
        if changed is not None and changed != self._seen:
            try:
                self._offset = timedelta(
                    seconds=float(json.loads(self.path.read_text(encoding="utf-8"))["offset_seconds"])
                )
            except (OSError, ValueError, KeyError, TypeError, OverflowError) as error:
                raise ScenarioError(
                    f"{self.path}: not a scenario clock file ({type(error).__name__}: {error})"
                ) from error
            self._seen = changed
        return datetime.now(UTC) + self._offset


def set_scenario(path: Path, at: datetime) -> None:
    """Move every clock reading `path` to the instant `at` (atomically: a reader never sees half a file)."""
    offset = (at - datetime.now(UTC)).total_seconds()
    staging = path.with_name(path.name + ".new")
    staging.write_text(json.dumps({"offset_seconds": offset, "at": at.isoformat()}), encoding="utf-8")
    staging.replace(path)
