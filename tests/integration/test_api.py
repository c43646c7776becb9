"""The node's HTTP API on a real database: publish, read as cleared, agreements, one error shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from pactnet.services.users import add_user

if TYPE_CHECKING:
    from httpx import Client as TestClient

    from tests.integration.conftest import Clock

LAUNCH: dict[str, Any] = {
    "title": "DPRK SRBM launch, Wonsan",
    "level": "군사II급비밀",
    "categories": ["dprk-missile"],
    "precedence": "flash",
    "body": "two projectiles, 06:00 KST",
}
ERROR_KEYS = {"status", "code", "message", "details"}


def _publish(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/reports", json=LAUNCH | changes, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    return body


class TestPublishing:
    """A report is stored with a decision for every partner, taken at the instant of publication."""

    def test_a_launch_report_is_decided_for_every_partner(self, client: TestClient, officer: dict[str, str]) -> None:
        published = _publish(client, officer)
        by_recipient = {decision["to"]: decision for decision in published["decisions"]}
        assert set(by_recipient) == {"JPN", "USA"}
        assert by_recipient["JPN"]["allowed"] is True
        assert by_recipient["JPN"]["marking"] == {"originator": "ROK", "level": "極秘"}
        assert by_recipient["USA"]["legs"][0]["level"] == "SECRET"

    def test_named_recipients_are_the_only_ones_decided(self, client: TestClient, officer: dict[str, str]) -> None:
        published = _publish(client, officer, recipients=["USA"])
        assert [decision["to"] for decision in published["decisions"]] == ["USA"]

    def test_level_one_is_refused_to_japan_with_its_reason(self, client: TestClient, node: Any) -> None:
        _, token = add_user(node, "general", "군사I급비밀", [])
        published = _publish(client, {"Authorization": f"Bearer {token}"}, level="군사I급비밀", recipients=["JPN"])
        decision = published["decisions"][0]
        assert decision["allowed"] is False
        assert "no-equivalent-level" in [reason["code"] for reason in decision["reasons"]]

    def test_after_the_counterfactual_end_a_decision_follows_the_world_at_that_instant(
        self, client: TestClient, officer: dict[str, str], clock: Clock
    ) -> None:
        clock.at = datetime(2019, 11, 22, 15, 0, tzinfo=UTC)  # 2019-11-23T00:00+09:00: suspended, still in force
        published = _publish(client, officer, recipients=["JPN"])
        assert published["decisions"][0]["route"] == ["ROK", "JPN"]

    def test_a_user_cannot_publish_above_their_clearance(self, client: TestClient, clerk: dict[str, str]) -> None:
        _assert_error(client.post("/api/v1/reports", json=LAUNCH, headers=clerk), 403)

    def test_a_stix_bundle_is_accepted_as_a_body(self, client: TestClient, officer: dict[str, str]) -> None:
        bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": []}
        published = _publish(client, officer, body=bundle)
        stored = client.get(f"/api/v1/reports/{published['id']}", headers=officer).json()
        assert stored["body_type"] == "stix"

    def test_an_object_that_is_not_a_stix_bundle_is_refused(self, client: TestClient, officer: dict[str, str]) -> None:
        response = client.post("/api/v1/reports", json=LAUNCH | {"body": {"type": "indicator"}}, headers=officer)
        message = _assert_error(response, 422)["error"]["message"]
        # The field and the value found are named; the server's own type names are not (issue 14).
        assert "body.type: Input should be 'bundle'; found 'indicator'" in message
        assert "StixBundle" not in message

    def test_a_level_that_is_not_the_partys_names_the_value_found(
        self, client: TestClient, officer: dict[str, str]
    ) -> None:
        response = client.post("/api/v1/reports", json=LAUNCH | {"level": "SECRET"}, headers=officer)
        details = _assert_error(response, 422)["error"]["details"]
        assert details == [
            {
                "field": "level",
                "problem": "Input should be '군사III급비밀', '군사II급비밀' or '군사I급비밀'; found 'SECRET'",
            }
        ]

    def test_a_body_that_is_neither_text_nor_an_object_says_what_is_expected(
        self, client: TestClient, officer: dict[str, str]
    ) -> None:
        response = client.post("/api/v1/reports", json=LAUNCH | {"body": 5}, headers=officer)
        details = _assert_error(response, 422)["error"]["details"]
        assert details[0]["field"] == "body"
        assert "STIX 2.1 bundle" in details[0]["problem"]


class TestReading:
    """Users see only what they are cleared for; anything else is a 404 exactly like a missing report."""

    def test_a_cleared_user_reads_the_report(self, client: TestClient, officer: dict[str, str]) -> None:
        published = _publish(client, officer)
        response = client.get(f"/api/v1/reports/{published['id']}", headers=officer)
        assert response.status_code == 200
        assert response.json()["title"] == LAUNCH["title"]

    def test_an_uncleared_read_looks_exactly_like_a_missing_report(
        self, client: TestClient, officer: dict[str, str], clerk: dict[str, str]
    ) -> None:
        published = _publish(client, officer)
        hidden = client.get(f"/api/v1/reports/{published['id']}", headers=clerk)
        missing = client.get(f"/api/v1/reports/{'0' * 32}", headers=clerk)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["error"]["message"].replace(published["id"], "X") == missing.json()["error"][
            "message"
        ].replace("0" * 32, "X")

    def test_a_missing_compartment_hides_the_report(
        self, client: TestClient, officer: dict[str, str], node: Any
    ) -> None:
        _, token = add_user(node, "analyst", "군사II급비밀", [])
        published = _publish(client, officer, compartments=["sigint"])
        response = client.get(f"/api/v1/reports/{published['id']}", headers={"Authorization": f"Bearer {token}"})
        _assert_error(response, 404)

    def test_refused_reads_are_audited(
        self, client: TestClient, officer: dict[str, str], clerk: dict[str, str]
    ) -> None:
        published = _publish(client, officer)
        client.get(f"/api/v1/reports/{published['id']}", headers=clerk)
        entries = client.get("/api/v1/audit?limit=1000", headers=officer).json()["entries"]
        refused = [e for e in entries if e["kind"] == "refused-read" and e["subject"] == published["id"]]
        assert [e["actor"] for e in refused] == ["clerk"]

    def test_the_listing_is_filtered_by_clearance_and_paged_by_cursor(
        self, client: TestClient, officer: dict[str, str], clerk: dict[str, str], clock: Clock
    ) -> None:
        ids = []
        for index in range(5):
            level = "군사III급비밀" if index % 2 == 0 else "군사II급비밀"
            ids.append(_publish(client, officer, level=level, title=f"r{index}")["id"])
            clock.advance(seconds=1)
        seen, cursor = [], None
        while True:
            query = "/api/v1/reports?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = client.get(query, headers=clerk).json()
            seen += [item["title"] for item in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == ["r4", "r2", "r0"]

    def test_the_listing_filters_by_category_originator_and_since(
        self, client: TestClient, officer: dict[str, str], clock: Clock
    ) -> None:
        _publish(client, officer, title="old", categories=["pla-navy"])
        clock.advance(hours=1)
        _publish(client, officer, title="new", categories=["dprk-missile"])
        navy = client.get("/api/v1/reports?category=pla-navy", headers=officer).json()["items"]
        assert [item["title"] for item in navy] == ["old"]
        since = clock.at.isoformat()
        recent = client.get("/api/v1/reports", params={"since": since}, headers=officer).json()["items"]
        assert [item["title"] for item in recent] == ["new"]
        assert client.get("/api/v1/reports?originator=JPN", headers=officer).json()["items"] == []

    def test_the_decision_trail_lists_every_recipient(self, client: TestClient, officer: dict[str, str]) -> None:
        published = _publish(client, officer)
        trail = client.get("/api/v1/decisions", params={"report": published["id"]}, headers=officer).json()
        assert sorted(entry["to"] for entry in trail) == ["JPN", "USA"]
        assert all(entry["holder"] == "ROK" for entry in trail)


class TestAgreements:
    """Agreements show their status now; lifecycle acts are validated by the core."""

    def test_the_gsomia_is_in_force_in_july_2019(self, client: TestClient, officer: dict[str, str]) -> None:
        found = client.get("/api/v1/agreements/JPN-ROK-GSOMIA-2016", headers=officer).json()
        assert found["status"]["state"] == "in_force"
        assert any("notice of termination" in period["what"] for period in found["timeline"])

    def test_a_notice_is_recorded_and_changes_the_status(
        self, client: TestClient, officer: dict[str, str], clock: Clock
    ) -> None:
        clock.at = datetime(2024, 8, 1, tzinfo=UTC)
        response = client.post(
            "/api/v1/agreements/JPN-ROK-GSOMIA-2016/events", json={"type": "notify_termination"}, headers=officer
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"]["notice"] == "pending"
        assert response.json()["status"]["ends_at"] == "2024-11-23T00:00:00+09:00"

    def test_an_act_that_makes_no_sense_is_refused_and_nothing_is_stored(
        self, client: TestClient, officer: dict[str, str], clock: Clock
    ) -> None:
        clock.at = datetime(2024, 8, 1, tzinfo=UTC)
        response = client.post(
            "/api/v1/agreements/JPN-ROK-GSOMIA-2016/events", json={"type": "suspend_notice"}, headers=officer
        )
        assert "pending" in _assert_error(response, 409)["error"]["message"]
        status = client.get("/api/v1/agreements/JPN-ROK-GSOMIA-2016", headers=officer).json()["status"]
        assert status["notice"] == "none"

    def test_an_arrangement_takes_no_notice(self, client: TestClient, officer: dict[str, str]) -> None:
        response = client.post(
            "/api/v1/agreements/TISA-2014/events", json={"type": "notify_termination"}, headers=officer
        )
        _assert_error(response, 409)


class TestErrors:
    """Every error has one shape; no input gives a 500."""

    def test_no_token_is_a_401_with_a_bearer_challenge(self, client: TestClient) -> None:
        response = client.get("/api/v1/reports")
        _assert_error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    def test_a_wrong_token_is_a_401(self, client: TestClient) -> None:
        _assert_error(client.get("/api/v1/agreements", headers={"Authorization": "Bearer pn_nope"}), 401)

    def test_the_health_check_needs_no_token(self, client: TestClient) -> None:
        assert client.get("/api/v1/health").json() == {"status": "ok", "party": "ROK"}

    def test_malformed_json_is_a_422(self, client: TestClient, officer: dict[str, str]) -> None:
        headers = officer | {"Content-Type": "application/json"}
        _assert_error(client.post("/api/v1/reports", content=b"{not json", headers=headers), 422)

    def test_an_unknown_field_is_named(self, client: TestClient, officer: dict[str, str]) -> None:
        response = client.post("/api/v1/reports", json=LAUNCH | {"colour": "red"}, headers=officer)
        assert "colour" in _assert_error(response, 422)["error"]["message"]

    def test_an_unknown_level_is_named_with_the_schemes_levels(
        self, client: TestClient, officer: dict[str, str]
    ) -> None:
        response = client.post("/api/v1/reports", json=LAUNCH | {"level": "SECRET"}, headers=officer)
        assert "군사III급비밀" in _assert_error(response, 422)["error"]["message"]

    @pytest.mark.parametrize("blank", ["   ", "\x1c", "\n\t"])
    def test_a_description_of_spaces_only_is_a_422_naming_it(
        self, client: TestClient, officer: dict[str, str], blank: str
    ) -> None:
        # The published schema says what the service refuses: not only spaces (the Unicode and the ASCII ones).
        path = f"/api/v1/reports/{_publish(client, officer)['id']}/compromise"
        response = client.post(path, json={"description": blank}, headers=officer)
        assert "description" in _assert_error(response, 422)["error"]["message"]
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        pattern = schemas["CompromiseIn"]["properties"]["description"]["pattern"]
        assert re.search(pattern, blank) is None  # what a client generating from the schema would not send
        assert re.search(pattern, f"lost{blank}in transit") is not None

    def test_a_body_over_the_limit_is_a_413(self, client: TestClient, officer: dict[str, str]) -> None:
        response = client.post("/api/v1/reports", json=LAUNCH | {"body": "x" * 2_000_000}, headers=officer)
        _assert_error(response, 413)

    def test_a_page_size_over_the_bound_is_a_422(self, client: TestClient, officer: dict[str, str]) -> None:
        _assert_error(client.get("/api/v1/reports?limit=100000", headers=officer), 422)

    def test_a_forged_cursor_is_a_422(self, client: TestClient, officer: dict[str, str]) -> None:
        _assert_error(client.get("/api/v1/reports?cursor=abc", headers=officer), 422)

    def test_an_unknown_route_is_a_404_in_the_same_shape(self, client: TestClient) -> None:
        _assert_error(client.get("/api/v1/nothing"), 404)


class TestBatchPublishing:
    """A feed publishes many reports in one request and one transaction, all or nothing."""

    def test_a_batch_is_stored_with_a_result_per_report_in_order(
        self, client: TestClient, officer: dict[str, str]
    ) -> None:
        batch = {"reports": [LAUNCH | {"title": f"r{index}"} for index in range(3)]}
        response = client.post("/api/v1/reports/batch", json=batch, headers=officer)
        assert response.status_code == 201, response.text
        results = response.json()["results"]
        assert len(results) == 3
        titles = [client.get(f"/api/v1/reports/{result['id']}", headers=officer).json()["title"] for result in results]
        assert titles == ["r0", "r1", "r2"]

    def test_one_invalid_report_refuses_the_whole_batch_naming_it(
        self, client: TestClient, officer: dict[str, str]
    ) -> None:
        batch = {"reports": [LAUNCH, LAUNCH | {"level": "군사I급비밀"}, LAUNCH]}
        response = client.post("/api/v1/reports/batch", json=batch, headers=officer)
        assert "reports[1]" in _assert_error(response, 403)["error"]["message"]
        assert client.get("/api/v1/reports", headers=officer).json()["items"] == []

    def test_an_empty_or_oversized_batch_is_refused(self, client: TestClient, officer: dict[str, str]) -> None:
        _assert_error(client.post("/api/v1/reports/batch", json={"reports": []}, headers=officer), 422)
        too_many = {"reports": [LAUNCH] * 101}
        _assert_error(client.post("/api/v1/reports/batch", json=too_many, headers=officer), 422)
