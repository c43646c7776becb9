"""Whatever a world file holds, loading it gives a World or a WorldError: never any other exception."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pactnet.errors import WorldError, WorldIssue
from pactnet.world import parse_world, read_document

if TYPE_CHECKING:
    from collections.abc import Callable

GSOMIA: dict[str, Any] = tomllib.loads(
    resources.files("pactnet.worlds").joinpath("gsomia-2019.toml").read_text(encoding="utf-8")
)

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["JPN", "ROK", "USA", "秘", "P1Y", "P0D", "PT1H", "2019-11-23T00:00:00+09:00", "2019-11-23", "*"]),
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(node: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(document: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    if not path:
        return value if isinstance(value, dict) else {"format": value}
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


def _issues(load: Callable[[], object]) -> list[WorldIssue]:
    """The issues of a world that fails to load (never empty), or none for a world that loads."""
    try:
        load()
    except WorldError as error:
        if not error.issues:
            raise AssertionError("a WorldError without issues") from error
        return error.issues
    return []


class TestMalformedWorlds:
    """Random damage to a valid world is reported as issues, never as a crash."""

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_any_damage_to_the_gsomia_world_gives_a_world_or_a_world_error(self, data: st.DataObject) -> None:
        document = copy.deepcopy(GSOMIA)
        for _ in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from(_paths(document)))
            document = _replace(document, path, data.draw(values))
        issues = _issues(lambda: read_document(document, "fuzz"))
        assert all(issue.path and issue.found and issue.expected for issue in issues)

    @settings(max_examples=200, deadline=None)
    @given(text=st.text(max_size=200) | st.binary(max_size=200))
    def test_any_text_gives_a_world_error(self, text: str | bytes) -> None:
        issues = _issues(lambda: parse_world(text, "fuzz"))
        assert all(issue.path and issue.found and issue.expected for issue in issues)
