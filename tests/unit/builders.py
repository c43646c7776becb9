"""Builders shared by the unit tests: the reference worlds as plain data, a tiny TOML writer, and lookups."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli

from pactnet.errors import WorldError
from pactnet.world import parse_world

if TYPE_CHECKING:
    from pactnet.errors import WorldIssue
    from pactnet.policy import Report, World

REPO = Path(__file__).resolve().parents[2]
SHARED_DOMAIN = REPO.parent / "shared" / "domain"
COPIED_DOMAIN = REPO / "tests" / "fixtures" / "domain"
DOMAIN = SHARED_DOMAIN if (SHARED_DOMAIN / "checks").is_dir() else COPIED_DOMAIN

JK = "JPN-ROK-GSOMIA-2016"
US_ROK = "USA-ROK-GSOMIA-1987"
US_JPN = "USA-JPN-GSOMIA-2007"
TISA = "TISA-2014"


# -- a tiny TOML writer ---------------------------------------------------------------------------------------
def _key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # A JSON string is a TOML basic string as long as it holds no DEL character.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()  # a TOML date-time (local when naive)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(key)} = {_value(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def toml(document: dict[str, Any]) -> str:
    """TOML text for a document: one `key = value` line per top-level key, arrays of tables one per line."""
    lines: list[str] = []
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            items = ",\n  ".join(_value(item) for item in value)
            lines.append(f"{_key(key)} = [\n  {items},\n]")
        elif isinstance(value, dict) and all(isinstance(item, dict) for item in value.values()):
            lines.extend(f"{_key(key)}.{_key(name)} = {_value(item)}" for name, item in value.items())
            if not value:
                lines.append(f"{_key(key)} = {{}}")
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"


# -- the reference worlds as data -------------------------------------------------------------------------
def reference(name: str = "gsomia-2019") -> dict[str, Any]:
    """A bundled world as a fresh, mutable document (tables, arrays and strings, in file order)."""
    data = resources.files("pactnet.worlds").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return copy.deepcopy(tomli.loads(data))


def build(document: dict[str, Any]) -> World:
    """The world a document describes; a WorldError fails the test with every issue shown."""
    text = toml(document)
    try:
        return parse_world(text, "test-world")
    except WorldError as error:
        shown = "\n".join(str(issue) for issue in error.issues)
        pytest.fail(f"the test world is invalid:\n{shown}\n---\n{text}")


def issues_of(document: dict[str, Any] | str | bytes) -> list[WorldIssue]:
    """The issues a world that must be invalid is rejected with."""
    text = toml(document) if isinstance(document, dict) else document
    with pytest.raises(WorldError) as caught:
        parse_world(text, "test-world")
    assert caught.value.issues, "a WorldError must carry at least one issue"
    return caught.value.issues


def issue_at(issues: list[WorldIssue], path: str) -> WorldIssue:
    """The one issue reported at `path`; fails with every path found when there is none."""
    found = [issue for issue in issues if issue.path == path]
    assert found, f"no issue at {path}; issues: {[str(issue) for issue in issues]}"
    return found[0]


def event(at: str, kind: str, agreement: str | None = None, **fields: Any) -> dict[str, Any]:
    """An event table with its fields in the usual order."""
    table: dict[str, Any] = {"at": at, "type": kind}
    if agreement is not None:
        table["agreement"] = agreement
    table.update(fields)
    return table


def instant(text: str) -> datetime:
    """An RFC 3339 instant."""
    return datetime.fromisoformat(text)


def report_of(world: World, report_id: str) -> Report:
    """A report of a world by id."""
    return world.reports[report_id]


def checks() -> dict[str, Any]:
    """The public checks (domain/checks/gsomia-2019.json)."""
    return dict(json.loads((DOMAIN / "checks" / "gsomia-2019.json").read_text(encoding="utf-8")))
