"""Small worlds for the lifecycle tests: one agreement, PACT, between AAA and BBB, written as inline TOML."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pactnet.errors import WorldError
from pactnet.policy.clock import parse_instant
from pactnet.world import parse_world

if TYPE_CHECKING:
    from datetime import datetime

    from pactnet.errors import WorldIssue
    from pactnet.policy import Agreement, Status, World

PACT = "PACT"

# GSOMIA art. 21 as world-format.md writes it: a year, renewed yearly, notice 90 days ahead, in KST.
GSOMIA = {"timezone": "+09:00", "term": "P1Y", "renewal": "P1Y", "notice_period": "P90D"}

_HEAD = """\
format = "pactnet.world/1"

[parties.AAA]
levels = ["LOW", "HIGH"]

[parties.BBB]
levels = ["low", "high"]

[agreements.PACT]
parties = ["AAA", "BBB"]
equivalence = [{ AAA = "LOW", BBB = "low" }]
"""


def instant(text: str) -> datetime:
    """An RFC 3339 instant with its offset."""
    return parse_instant(text)


def event(at: str, kind: str, by: str | None = None, **fields: str) -> str:
    """One `[[events]]` table for PACT; `fields` are raw TOML values (`set = '{ scope = ["x"] }'`)."""
    lines = ["[[events]]", f'at = "{at}"', f'type = "{kind}"', f'agreement = "{PACT}"']
    if by is not None:
        lines.append(f'by = "{by}"')
    lines += [f"{key} = {value}" for key, value in fields.items()]
    return "\n".join(lines)


def sign(at: str) -> str:
    """PACT is signed at `at`."""
    return event(at, "sign")


def in_force(at: str) -> str:
    """PACT enters into force at `at`."""
    return event(at, "enter_into_force")


def notice(at: str, by: str = "BBB") -> str:
    """A termination notice from `by`, received at `at`."""
    return event(at, "notify_termination", by)


def suspend(at: str, by: str = "BBB") -> str:
    """The pending notice stops taking effect."""
    return event(at, "suspend_notice", by)


def resume(at: str, by: str = "BBB") -> str:
    """The suspended notice takes effect again."""
    return event(at, "resume_notice", by)


def withdraw(at: str, by: str = "BBB") -> str:
    """The notice is cancelled."""
    return event(at, "withdraw_notice", by)


def terminate(at: str) -> str:
    """PACT ends at `at` by mutual consent."""
    return event(at, "terminate")


def amend(at: str, changes: str) -> str:
    """From `at`, PACT reads as `changes` (a raw TOML inline table) says."""
    return event(at, "amend", set=changes)


def world_text(*events: str, **settings: str) -> str:
    """The TOML of a world with PACT set up by `settings` (term, renewal, timezone, ...) and `events`."""
    lines = [_HEAD]
    lines += [f'{key} = "{value}"' for key, value in settings.items()]
    lines += ["", *events]
    return "\n".join(lines) + "\n"


def world(*events: str, **settings: str) -> World:
    """The world `world_text` describes; an invalid one fails the test with every issue shown."""
    text = world_text(*events, **settings)
    try:
        return parse_world(text, "test")
    except WorldError as error:
        shown = "\n".join(str(issue) for issue in error.issues)
        pytest.fail(f"the test world is invalid:\n{shown}\n---\n{text}")


def issues(*events: str, **settings: str) -> list[WorldIssue]:
    """The issues a world that must be invalid is rejected with."""
    with pytest.raises(WorldError) as caught:
        parse_world(world_text(*events, **settings), "test")
    return caught.value.issues


def paths(*events: str, **settings: str) -> list[str]:
    """The paths of the issues an invalid world is rejected with."""
    return [issue.path for issue in issues(*events, **settings)]


def pact(of: World) -> Agreement:
    """PACT in a world."""
    return of.agreements[PACT]


def status(of: World, at: str) -> Status:
    """PACT's status at `at`."""
    return pact(of).history.status(instant(at))


def shown(of: World, at: str) -> dict[str, str | None]:
    """PACT's status at `at` as JSON shows it, instants in the agreement's clock."""
    agreement = pact(of)
    return agreement.history.status(instant(at)).as_dict(agreement.zone)
