"""Every refusal of the TAXII server, each answered with the TAXII error resource; and nothing leaks past clearance."""

from __future__ import annotations

import base64
import json
import math
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select

from pactnet.services.stix_collections import collections
from pactnet.services.users import add_user
from pactnet.store.tables import reports
from tests.integration.conftest import LoopbackServer
from tests.integration.taxii_support import MEDIA, envelope, indicator, pactnet_marking

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pactnet.node import Node
    from tests.integration.conftest import Clock

LEVEL_II = "군사II급비밀"
ROOT = "/taxii2/api/"


def basic(name: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{token}".encode()).decode(), "Accept": MEDIA}


@pytest.fixture
def http(node: Node) -> Iterator[httpx.Client]:
    with LoopbackServer(node) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture
def kim(node: Node) -> dict[str, str]:
    _, token = add_user(node, "kim", LEVEL_II, ["sigint"], roles=["analyst"])
    return basic("kim", token)


@pytest.fixture
def clerk(node: Node) -> dict[str, str]:
    """Cleared to the lowest level only; Bearer, as a script sends it."""
    _, token = add_user(node, "clerk", "군사III급비밀", [], roles=["analyst"])
    return {"Authorization": f"Bearer {token}", "Accept": MEDIA}


def ids(node: Node) -> dict[str, str]:
    return {one.title: one.id for one in collections(node)}


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    """The TAXII error resource of a refusal, checked for its shape and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA
    resource: dict[str, Any] = response.json()
    assert resource["http_status"] == str(status)
    assert isinstance(resource["title"], str)
    assert resource["title"]
    assert isinstance(resource["description"], str)
    assert resource["description"]
    assert set(resource) <= {"title", "description", "http_status", "error_id", "error_code", "details"}
    return resource


def post(
    http: httpx.Client, node: Node, headers: dict[str, str], body: Any, title: str = "ROK publish"
) -> httpx.Response:
    sent = {**headers, "Content-Type": MEDIA}
    return http.post(f"{ROOT}collections/{ids(node)[title]}/objects/", content=json.dumps(body), headers=sent)


class TestAuthentication:
    """Discovery is public; everything else needs Basic or Bearer credentials of an enabled user."""

    def test_discovery_needs_no_credentials(self, http: httpx.Client) -> None:
        answer = http.get("/taxii2/", headers={"Accept": MEDIA})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == MEDIA

    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer pn_not-a-token", "Basic not base64!", "Basic " + base64.b64encode(b"no-colon").decode()],
    )
    def test_missing_or_wrong_credentials_are_401_with_both_schemes_offered(
        self, http: httpx.Client, authorization: str | None
    ) -> None:
        headers = {"Accept": MEDIA} | ({} if authorization is None else {"Authorization": authorization})
        answer = http.get(f"{ROOT}collections/", headers=headers)
        refused(answer, 401)
        assert "Basic" in answer.headers["www-authenticate"]
        assert "Bearer" in answer.headers["www-authenticate"]

    def test_a_token_given_under_another_users_name_is_401(self, http: httpx.Client, node: Node) -> None:
        _, token = add_user(node, "kim", LEVEL_II, [], roles=["analyst"])
        refused(http.get(ROOT, headers=basic("lee", token)), 401)
        assert http.get(ROOT, headers=basic("kim", token)).status_code == 200

    def test_an_unknown_taxii_path_is_404_in_the_taxii_shape(self, http: httpx.Client, kim: dict[str, str]) -> None:
        refused(http.get(f"{ROOT}nothing-here/", headers=kim), 404)

    def test_a_method_a_taxii_path_does_not_take_is_405_in_the_taxii_shape(
        self, http: httpx.Client, kim: dict[str, str]
    ) -> None:
        answer = http.put(f"{ROOT}collections/", headers=kim)
        refused(answer, 405)
        assert answer.headers["allow"] == "GET"


class TestForbidden:
    """A user is known, but may not do this here (403)."""

    def test_the_collection_to_publish_to_is_not_read(
        self, http: httpx.Client, node: Node, kim: dict[str, str]
    ) -> None:
        found = refused(http.get(f"{ROOT}collections/{ids(node)['ROK publish']}/objects/", headers=kim), 403)
        assert "for publishing" in found["description"]

    def test_a_read_only_collection_takes_no_post(self, http: httpx.Client, node: Node, kim: dict[str, str]) -> None:
        marking = pactnet_marking(LEVEL_II)
        found = refused(post(http, node, kim, envelope(marking, indicator("x", marking["id"])), "ROK own"), 403)
        assert "read only" in found["description"]

    def test_a_user_without_the_publish_duty_cannot_post(self, http: httpx.Client, node: Node) -> None:
        _, token = add_user(node, "auditor", LEVEL_II, [], roles=["auditor", "officer"])
        marking = pactnet_marking(LEVEL_II)
        found = refused(post(http, node, basic("auditor", token), envelope(marking)), 403)
        assert "analyst" in found["description"]

    def test_objects_are_not_deleted_but_revoked(self, http: httpx.Client, node: Node, kim: dict[str, str]) -> None:
        path = f"{ROOT}collections/{ids(node)['ROK own']}/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/"
        found = refused(http.delete(path, headers=kim), 403)
        assert '"revoked": true' in found["description"]


class TestRequests:
    """What a client sends that the server cannot take: 400, 406, 413, 415, 422."""

    def test_an_accept_without_taxii_is_406(self, http: httpx.Client, kim: dict[str, str]) -> None:
        refused(http.get(f"{ROOT}collections/", headers=kim | {"Accept": "application/json"}), 406)

    def test_a_post_that_is_not_taxii_json_is_415(self, http: httpx.Client, node: Node, kim: dict[str, str]) -> None:
        path = f"{ROOT}collections/{ids(node)['ROK publish']}/objects/"
        sent = kim | {"Content-Type": "application/json"}
        refused(http.post(path, content=json.dumps(envelope(pactnet_marking(LEVEL_II))), headers=sent), 415)

    def test_a_body_above_max_content_length_is_413(self, http: httpx.Client, node: Node, kim: dict[str, str]) -> None:
        marking = pactnet_marking(LEVEL_II)
        big = indicator("Big", marking["id"], description="x" * node.config.max_body_bytes)
        refused(post(http, node, kim, envelope(marking, big)), 413)

    @pytest.mark.parametrize(
        ("kind", "identifier"),
        [
            ("indicator", "indicator--\ud800"),
            ("indicator", "indicator--" + "\ud800" * 36),
            ("indicator", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3\x00"),
            ("\ud800", "\ud800--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
        ],
        ids=["short-surrogate", "uuid-long-surrogates", "nul", "surrogate-type"],
    )
    def test_an_object_id_no_database_can_store_is_that_objects_failure(
        self, http: httpx.Client, node: Node, kim: dict[str, str], kind: str, identifier: str
    ) -> None:
        marking = pactnet_marking(LEVEL_II)
        good = indicator("Good", marking["id"])
        bad = indicator("Bad", marking["id"]) | {"type": kind, "id": identifier}
        answer = post(http, node, kim, envelope(marking, bad, good))
        assert answer.status_code == 202, answer.text
        status = answer.json()
        assert (status["success_count"], status["failure_count"]) == (2, 1), status
        assert "STIX" in status["failures"][0]["message"]

    @pytest.mark.parametrize("constant", [math.nan, math.inf, -math.inf])
    def test_a_number_json_cannot_hold_is_400_and_nothing_is_published(
        self, http: httpx.Client, node: Node, kim: dict[str, str], constant: float
    ) -> None:
        # Python writes these as NaN and Infinity, which no JSON parser (nor any TAXII client) reads back.
        marking = pactnet_marking(LEVEL_II)
        answer = post(http, node, kim, envelope(marking, indicator("Scored", marking["id"]) | {"x_score": constant}))
        refused(answer, 400)
        assert "not a JSON number" in answer.json()["description"]
        with node.uow.read() as connection:
            assert connection.execute(select(func.count()).select_from(reports)).scalar() == 0

    @pytest.mark.parametrize("body", [[1, 2], {"objects": "none"}, {"objects": []}, {"more": False}])
    def test_json_that_is_no_envelope_is_422(
        self, http: httpx.Client, node: Node, kim: dict[str, str], body: Any
    ) -> None:
        refused(post(http, node, kim, body), 422)

    @pytest.mark.parametrize(
        "query",
        [
            {"limit": "0"},
            {"limit": "-1"},
            {"limit": "many"},
            {"added_after": "yesterday"},
            {"match[version]": "newest"},
            {"match[type]": "Not A Type"},
            {"colour": "red"},
            {"next": "c1.forged"},
        ],
    )
    def test_a_filter_that_is_not_right_is_400(
        self, http: httpx.Client, node: Node, kim: dict[str, str], query: dict[str, str]
    ) -> None:
        found = refused(http.get(f"{ROOT}collections/{ids(node)['ROK all']}/objects/", params=query, headers=kim), 400)
        assert next(iter(query)) in found["description"]

    def test_a_filter_changed_in_the_middle_of_a_pagination_is_400(
        self, http: httpx.Client, node: Node, kim: dict[str, str]
    ) -> None:
        marking = pactnet_marking(LEVEL_II)
        post(http, node, kim, envelope(marking, *(indicator(f"n{n}", marking["id"]) for n in range(3))))
        path = f"{ROOT}collections/{ids(node)['ROK all']}/objects/"
        first = http.get(path, params={"limit": "1", "match[type]": "indicator"}, headers=kim).json()
        assert first["more"] is True
        again = http.get(path, params={"limit": "1", "match[type]": "indicator", "next": first["next"]}, headers=kim)
        assert again.status_code == 200
        changed = {"limit": "1", "match[type]": "malware", "next": first["next"]}
        refused(http.get(path, params=changed, headers=kim), 400)
        elsewhere = f"{ROOT}collections/{ids(node)['ROK own']}/objects/"
        refused(
            http.get(elsewhere, params={"limit": "1", "match[type]": "indicator", "next": first["next"]}, headers=kim),
            400,
        )


class TestPageHeaders:
    """X-TAXII-Date-Added-First and -Last bound the page returned, as its manifest dates it."""

    def test_the_headers_are_the_first_and_last_date_added_of_the_page(
        self, http: httpx.Client, node: Node, kim: dict[str, str], clock: Clock
    ) -> None:
        marking = pactnet_marking(LEVEL_II)
        for n in range(3):
            post(http, node, kim, envelope(marking, indicator(f"n{n}", marking["id"])))
            clock.advance(minutes=1)
        collection = f"{ROOT}collections/{ids(node)['ROK own']}/"
        manifest = http.get(f"{collection}manifest/", headers=kim).json()["objects"]
        added = [entry["date_added"] for entry in manifest]
        assert added == sorted(added)
        assert len(set(added)) == 3
        page = http.get(f"{collection}objects/", params={"limit": "2"}, headers=kim)
        assert page.headers["x-taxii-date-added-first"] == added[0]
        assert page.headers["x-taxii-date-added-last"] == added[1]
        rest = http.get(f"{collection}objects/", params={"limit": "2", "next": page.json()["next"]}, headers=kim)
        assert rest.headers["x-taxii-date-added-first"] == rest.headers["x-taxii-date-added-last"] == added[2]
        assert rest.json()["more"] is False
        assert "next" not in rest.json()


class TestNeedToKnow:
    """What a user may not read is absent from pages, manifests, counts, headers and statuses: 404 by id."""

    def test_an_object_above_the_clearance_is_not_there_for_the_user(
        self, http: httpx.Client, node: Node, kim: dict[str, str], clerk: dict[str, str]
    ) -> None:
        marking = pactnet_marking(LEVEL_II)
        secret = indicator("Secret site", marking["id"])
        assert post(http, node, kim, envelope(marking, secret)).json()["success_count"] == 2
        collection = f"{ROOT}collections/{ids(node)['ROK all']}/"
        page = http.get(f"{collection}objects/", headers=clerk)
        assert page.json() == {"more": False}
        assert "x-taxii-date-added-first" not in page.headers
        assert http.get(f"{collection}manifest/", headers=clerk).json() == {"more": False}
        hidden = refused(http.get(f"{collection}objects/{secret['id']}/", headers=clerk), 404)
        missing = refused(
            http.get(f"{collection}objects/indicator--00000000-0000-4000-8000-000000000000/", headers=clerk), 404
        )
        assert hidden["title"] == missing["title"]
        assert hidden["description"].replace(secret["id"], "?") == missing["description"].replace(
            "indicator--00000000-0000-4000-8000-000000000000", "?"
        )
        refused(http.get(f"{collection}objects/{secret['id']}/versions/", headers=clerk), 404)
        served = http.get(f"{collection}objects/{secret['id']}/", headers=kim).json()["objects"][0]
        held = served["object_marking_refs"][-1]
        refused(http.get(f"{collection}objects/{held}/", headers=clerk), 404)
        assert http.get(f"{collection}objects/{held}/", headers=kim).status_code == 200

    def test_a_status_is_the_posters_alone(
        self, http: httpx.Client, node: Node, kim: dict[str, str], clerk: dict[str, str]
    ) -> None:
        marking = pactnet_marking("군사III급비밀")
        status = post(http, node, kim, envelope(marking, indicator("x", marking["id"]))).json()
        assert status["status"] == "complete"
        assert http.get(f"{ROOT}status/{status['id']}/", headers=kim).json() == status
        refused(http.get(f"{ROOT}status/{status['id']}/", headers=clerk), 404)
