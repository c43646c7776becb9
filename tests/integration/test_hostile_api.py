"""Input at the edges of what JSON, Unicode and the calendar allow is refused with a 422, never a server error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from httpx import Client

LAUNCH: dict[str, Any] = {
    "title": "DPRK SRBM launch, Wonsan",
    "level": "군사II급비밀",
    "categories": ["dprk-missile"],
    "body": "two projectiles, 06:00 KST",
}
BUNDLE_ID = "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"
# Instants that parse (RFC 3339 allows years 0001 to 9999) but fall outside Python's calendar once in UTC.
EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def _refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == 422
    return error


class TestInstantsAtTheCalendarsEdge:
    """An instant whose UTC form is outside years 1 to 9999 is invalid input, named as such."""

    @pytest.mark.parametrize("since", EDGES)
    def test_a_listing_since_the_edge_is_refused(self, client: Client, officer: dict[str, str], since: str) -> None:
        error = _refused(client.get("/api/v1/reports", params={"since": since}, headers=officer))
        assert "since" in error["message"]

    @pytest.mark.parametrize("until", EDGES)
    def test_a_consent_until_the_edge_is_refused(self, client: Client, officer: dict[str, str], until: str) -> None:
        published = client.post("/api/v1/reports", json=LAUNCH, headers=officer).json()
        response = client.post(
            f"/api/v1/reports/{published['id']}/consents", json={"to": "USA", "until": until}, headers=officer
        )
        assert "until" in _refused(response)["message"]


class TestDeepAndBrokenJson:
    """A STIX bundle nested beyond the node's bound, or a string that is not Unicode text, is refused."""

    def test_a_stix_object_256_levels_deep_is_refused(self, client: Client, officer: dict[str, str]) -> None:
        bundle = {"type": "bundle", "id": BUNDLE_ID, "objects": [{"type": "note", "deep": _nested(256)}]}
        error = _refused(client.post("/api/v1/reports", json=LAUNCH | {"body": bundle}, headers=officer))
        assert "deep" in error["message"]

    def test_a_stix_object_a_few_levels_deep_is_accepted(self, client: Client, officer: dict[str, str]) -> None:
        bundle = {"type": "bundle", "id": BUNDLE_ID, "objects": [{"type": "note", "deep": _nested(20)}]}
        response = client.post("/api/v1/reports", json=LAUNCH | {"body": bundle}, headers=officer)
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(
        "body",
        [
            '{"type": "bundle", "id": "%s", "objects": [{"type": "note", "content": "\\ud800"}]}' % BUNDLE_ID,  # noqa: UP031 - JSON text
            '{"type": "bundle", "id": "%s", "objects": [{"type": "note", "\\udfff": 1}]}' % BUNDLE_ID,  # noqa: UP031
            '"two projectiles \\ud800"',
        ],
    )
    def test_a_lone_surrogate_in_a_value_is_refused(self, client: Client, officer: dict[str, str], body: str) -> None:
        text = '{"title": "t", "level": "군사II급비밀", "body": %s}' % body  # noqa: UP031 - JSON text
        headers = officer | {"content-type": "application/json"}
        error = _refused(client.post("/api/v1/reports", content=text.encode(), headers=headers))
        assert "surrogate" in error["message"] or "unicode" in error["message"].lower()

    def test_a_lone_surrogate_in_the_title_is_refused(self, client: Client, officer: dict[str, str]) -> None:
        text = '{"title": "t\\ud800", "level": "군사II급비밀", "body": "x"}'
        headers = officer | {"content-type": "application/json"}
        _refused(client.post("/api/v1/reports", content=text.encode(), headers=headers))

    @pytest.mark.parametrize("number", ["1" * 5000, "1" * 100, "1e999", "NaN"])
    def test_a_number_json_or_the_node_cannot_hold_is_refused(
        self, client: Client, officer: dict[str, str], number: str
    ) -> None:
        bundle = '{"type": "bundle", "id": "%s", "objects": [{"type": "note", "n": %s}]}' % (BUNDLE_ID, number)  # noqa: UP031
        text = '{"title": "t", "level": "군사II급비밀", "body": %s}' % bundle  # noqa: UP031 - JSON text
        headers = officer | {"content-type": "application/json"}
        response = client.post("/api/v1/reports", content=text.encode(), headers=headers)
        assert response.status_code in {400, 422}, response.text
