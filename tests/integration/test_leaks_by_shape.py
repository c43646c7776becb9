"""Nothing leaks by the shape of an answer: cursors, the level filter, and refusals of unauthenticated envelopes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pactnet.crypto.keys import NodeKeys, b64
from pactnet.node import init_node, open_node
from pactnet.services.users import add_user
from tests.integration.conftest import LoopbackServer
from tests.integration.test_hostile_envelopes import rok_and_jpn  # noqa: F401 - the fixture `pair`
from tests.integration.test_inbound import Pair, transfer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from httpx import Client

    from tests.integration.conftest import Clock

REPORT: dict[str, Any] = {"title": "t", "level": "군사III급비밀", "categories": ["dprk-missile"], "body": "b"}


def _first_page(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/reports", params={"limit": 1}, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


class TestOpaqueCursors:
    """A cursor reveals no position, cannot be altered or forged, and serves only the user it was given to."""

    @pytest.fixture
    def listed(self, client: Client, officer: dict[str, str]) -> None:
        for _ in range(3):
            assert client.post("/api/v1/reports", json=REPORT, headers=officer).status_code == 201

    @pytest.mark.usefixtures("listed")
    def test_the_same_position_is_never_given_out_as_the_same_string(
        self, client: Client, officer: dict[str, str]
    ) -> None:
        first, again = _first_page(client, officer)["next"], _first_page(client, officer)["next"]
        assert first is not None
        assert first != again
        assert not first[1:].isdigit()

    @pytest.mark.usefixtures("listed")
    def test_the_cursor_pages_on(self, client: Client, officer: dict[str, str]) -> None:
        cursor = _first_page(client, officer)["next"]
        page = client.get("/api/v1/reports", params={"limit": 1, "cursor": cursor}, headers=officer).json()
        assert len(page["items"]) == 1

    @pytest.mark.usefixtures("listed")
    def test_a_cursor_altered_or_given_to_another_user_is_refused(
        self, client: Client, officer: dict[str, str], clerk: dict[str, str]
    ) -> None:
        cursor = _first_page(client, officer)["next"]
        altered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
        for headers, given in ((officer, altered), (clerk, cursor), (officer, "c" + "A" * 48)):
            response = client.get("/api/v1/reports", params={"cursor": given}, headers=headers)
            assert response.status_code == 409, (given, response.text)  # a cursor in form, not one given out
        response = client.get("/api/v1/reports", params={"cursor": "c2"}, headers=officer)
        assert response.status_code == 422  # not even a cursor in form


@pytest.fixture
def jpn_client(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[tuple[Client, dict[str, str]]]:
    """JPN's API (its scheme has an alias, 特定秘密 for 極秘) and a user cleared to 機密."""
    folder = tmp_path / "jpn"
    init_node(folder, "gsomia-2019", "JPN", None if database_url.startswith("sqlite") else database_url)
    node = open_node(folder, clock=clock)
    _, token = add_user(node, "analyst", "機密", [])
    try:
        with LoopbackServer(node) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
            yield http, {"Authorization": f"Bearer {token}"}
    finally:
        node.close()


class TestTheLevelFilter:
    """`level` filters by the level, whichever of its labels an item was published under."""

    @pytest.mark.parametrize("label", ["極秘", "特定秘密"])
    def test_an_alias_and_its_level_find_the_same_items(
        self, jpn_client: tuple[Client, dict[str, str]], label: str
    ) -> None:
        client, headers = jpn_client
        for published in ("極秘", "特定秘密", "秘"):
            body = REPORT | {"level": published, "title": published}
            assert client.post("/api/v1/reports", json=body, headers=headers).status_code == 201
        items = client.get("/api/v1/reports", params={"level": label}, headers=headers).json()["items"]
        assert sorted(item["title"] for item in items) == ["極秘", "特定秘密"]


class TestTrustIsNotTold:
    """An unauthenticated caller gets the same answer whether or not the party it names is trusted."""

    def _answer(self, pair: Pair, envelope: dict[str, Any]) -> tuple[int, Any]:
        with LoopbackServer(pair.jpn) as base_url:
            single = httpx.post(f"{base_url}/federation/v1/envelopes", json=envelope, timeout=30)
            batch = httpx.post(f"{base_url}/federation/v1/envelopes/batch", json={"envelopes": [envelope]}, timeout=30)
        return single.status_code, (single.json(), batch.json())

    def test_an_unknown_sender_and_a_forged_signature_get_the_same_answer(self, pair: Pair) -> None:
        unknown = pair.envelope(transfer(), sender="USA", keys=NodeKeys.generate())
        forged = pair.envelope(transfer(), keys=NodeKeys.generate())
        assert self._answer(pair, unknown) == self._answer(pair, forged)
        assert self._answer(pair, forged)[0] == 403

    @pytest.mark.parametrize("change", [{"to": "USA"}, {"epk": "A"}, {"nonce": b64(b"\0" * 11)}])
    def test_a_bad_envelope_gets_the_same_answer_whoever_it_names(self, pair: Pair, change: dict[str, str]) -> None:
        unknown = pair.envelope(transfer(), sender="USA", keys=NodeKeys.generate()) | change
        trusted = pair.envelope(transfer()) | change
        assert self._answer(pair, unknown) == self._answer(pair, trusted)
