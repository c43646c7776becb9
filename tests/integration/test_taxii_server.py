"""The TAXII 2.1 server with the real `taxii2-client` and `stix2`: discovery, collections, posts, pages, reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import stix2
from sqlalchemy import select
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Status, as_pages

from pactnet.node import open_node
from pactnet.services.users import add_user
from pactnet.store.audit_log import read_entries
from pactnet.store.tables import decisions, reports
from tests.integration.conftest import LoopbackServer
from tests.integration.taxii_support import TLP_GREEN, Taxii, envelope, indicator, pactnet_marking

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pactnet.audit.chain import Entry
    from pactnet.node import Node
    from tests.integration.conftest import Clock

LEVEL_II = "군사II급비밀"
LOWEST = "군사III급비밀"


@pytest.fixture
def base_url(node: Node) -> Iterator[str]:
    with LoopbackServer(node) as url:
        yield url


@pytest.fixture
def analyst(node: Node, base_url: str) -> Taxii:
    """An analyst cleared to 군사II급비밀 with the compartment sigint, through taxii2-client with Basic auth."""
    _, token = add_user(node, "kim", LEVEL_II, ["sigint"], roles=["analyst"])
    return Taxii(base_url, "kim", token)


def read_entries_of(node: Node) -> list[Entry]:
    with node.uow.read() as connection:
        return list(read_entries(connection))


def _post(taxii: Taxii, *objects: dict[str, Any]) -> Any:
    status = taxii.collection("ROK publish").add_objects(envelope(*objects), wait_for_completion=False)
    status.refresh()
    return status


class TestDiscovery:
    """A client finds the node's one API root, at the address the node is really served at."""

    def test_discovery_is_public_and_names_the_api_root_where_the_node_is_served(
        self, analyst: Taxii, base_url: str
    ) -> None:
        assert analyst.server.title == "pactnet node of ROK"
        assert analyst.server.default.url == f"{base_url}/taxii2/api/"
        assert analyst.root.versions == ["application/taxii+json;version=2.1"]
        assert analyst.root.max_content_length == 1_048_576

    def test_the_collections_are_the_one_to_publish_to_and_what_the_node_holds(self, analyst: Taxii) -> None:
        found = {c.title: (c.can_read, c.can_write) for c in analyst.root.collections}
        assert found == {
            "ROK publish": (False, True),
            "ROK own": (True, False),
            "from JPN": (True, False),
            "from USA": (True, False),
            "ROK all": (True, False),
        }

    def test_collection_ids_are_the_same_on_every_start(self, analyst: Taxii, node: Node) -> None:
        ids = [c.id for c in analyst.root.collections]
        with LoopbackServer(node) as again:
            assert [c.id for c in Taxii(again, analyst.user, analyst.token).root.collections] == ids
        assert len(set(ids)) == len(ids)


class TestPublishing:
    """An envelope posted to the collection to publish to: each object a report, decided and audited."""

    def test_objects_posted_are_published_and_their_status_polled_complete(self, analyst: Taxii, node: Node) -> None:
        marking = pactnet_marking(LEVEL_II, categories=["dprk-missile"], compartments=["sigint"])
        first, second = indicator("Wonsan launch", marking["id"]), indicator("Sinpo yard", marking["id"], TLP_GREEN)
        status = _post(analyst, marking, first, second)
        assert status.status == "complete"
        assert status.total_count == 3
        assert status.success_count == 3
        assert status.failure_count == 0
        assert {entry["id"] for entry in status.successes} == {marking["id"], first["id"], second["id"]}
        # Polled again at its URL, as a client that did not wait does.
        status.refresh()
        assert status.status == "complete"
        listed = analyst.collection("ROK own").get_objects()
        assert sorted(obj["id"] for obj in listed["objects"]) == sorted([first["id"], second["id"]])
        # Each object is a report of its own, published, decided and audited as through the API.
        with node.uow.read() as connection:
            stored = connection.execute(select(reports).where(reports.c.body_type == "stix-object")).all()
            decided = connection.execute(select(decisions.c.report_id, decisions.c.recipient)).all()
        assert sorted(row.title for row in stored) == ["Sinpo yard", "Wonsan launch"]
        assert {(row.level, tuple(row.compartments)) for row in stored} == {(LEVEL_II, ("sigint",))}
        assert {row.report_id for row in decided} == {row.id for row in stored}
        assert {row.recipient for row in decided} == {"JPN", "USA"}
        published = [entry.subject for entry in read_entries_of(node) if entry.kind == "publish"]
        assert sorted(published) == sorted(row.id for row in stored)

    def test_a_status_is_polled_after_the_node_restarts(
        self, analyst: Taxii, node: Node, folder: Path, clock: Clock
    ) -> None:
        marking = pactnet_marking(LEVEL_II)
        status = _post(analyst, marking, indicator("Before the restart", marking["id"]))
        node.close()
        again = open_node(folder, clock=clock)
        try:
            with LoopbackServer(again) as url:
                taxii = Taxii(url, analyst.user, analyst.token)
                polled = Status(f"{url}/taxii2/api/status/{status.id}/", user=taxii.user, password=taxii.token)
                assert (polled.status, polled.success_count, polled.total_count) == ("complete", 2, 2)
                assert polled.successes == status.successes
        finally:
            again.close()

    def test_an_object_without_a_pactnet_marking_fails_with_a_message_naming_it(self, analyst: Taxii) -> None:
        unmarked = indicator("Unmarked")
        status = _post(analyst, unmarked)
        assert status.failure_count == 1
        assert status.failures[0]["id"] == unmarked["id"]
        assert "no pactnet marking" in status.failures[0]["message"]
        assert unmarked["id"] in status.failures[0]["message"]

    def test_a_level_above_the_users_clearance_fails_that_object_only(self, analyst: Taxii) -> None:
        fine, above = pactnet_marking(LEVEL_II), pactnet_marking("군사I급비밀")
        allowed, refused = indicator("Allowed", fine["id"]), indicator("Above", above["id"])
        status = _post(analyst, fine, above, allowed, refused)
        assert status.success_count == 3
        assert [entry["id"] for entry in status.failures] == [refused["id"]]
        assert "not cleared" in status.failures[0]["message"]

    def test_served_objects_carry_the_holders_marking_and_pass_the_validator(self, analyst: Taxii) -> None:
        marking = pactnet_marking(LEVEL_II, categories=["dprk-missile"])
        posted = indicator("Wonsan launch", marking["id"], TLP_GREEN)
        _post(analyst, marking, posted)
        own = analyst.collection("ROK own")
        served = own.get_object(posted["id"])["objects"][0]
        assert served["name"] == "Wonsan launch"
        assert TLP_GREEN in served["object_marking_refs"]
        held = next(ref for ref in served["object_marking_refs"] if ref != TLP_GREEN)
        assert held != marking["id"]
        definition = own.get_object(held)["objects"][0]
        extension = next(iter(definition["extensions"].values()))
        assert (extension["originator"], extension["level"]) == ("ROK", LEVEL_II)
        for obj in (served, definition):
            result = validate_instance(obj, ValidationOptions(strict=False))
            assert result.is_valid, [str(error) for error in result.errors]
        assert isinstance(stix2.parse(served, allow_custom=True), stix2.Indicator)


class TestReading:
    """Pages, filters, versions and the manifest, as taxii2-client and stix2's TAXIICollectionSource read them."""

    def test_as_pages_follows_next_until_more_is_false(self, analyst: Taxii, clock: Clock) -> None:
        marking = pactnet_marking(LEVEL_II)
        posted = []
        for batch in range(3):
            objects = [indicator(f"Site {batch}-{n}", marking["id"]) for n in range(4)]
            _post(analyst, marking, *objects)
            posted += [obj["id"] for obj in objects]
            clock.advance(seconds=1)
        own = analyst.collection("ROK own")
        pages = list(as_pages(own.get_objects, per_request=5))
        assert [len(page.get("objects", [])) for page in pages] == [5, 5, 2]
        assert [obj["id"] for page in pages for obj in page["objects"]] == posted
        assert [page["more"] for page in pages] == [True, True, False]

    def test_filters_by_type_id_and_added_after(self, analyst: Taxii, clock: Clock) -> None:
        marking = pactnet_marking(LEVEL_II)
        early = indicator("Early", marking["id"])
        _post(analyst, marking, early)
        clock.advance(minutes=5)
        late = indicator("Late", marking["id"])
        _post(analyst, marking, late)
        own = analyst.collection("ROK own")
        assert [o["id"] for o in own.get_objects(type="indicator")["objects"]] == [early["id"], late["id"]]
        assert own.get_objects(type="malware") == {"more": False}
        assert [o["id"] for o in own.get_objects(id=late["id"])["objects"]] == [late["id"]]
        after = own.get_objects(added_after="2019-07-25T06:01:00Z")
        assert [o["id"] for o in after["objects"]] == [late["id"]]

    def test_versions_are_kept_and_the_last_is_served_by_default(self, analyst: Taxii, clock: Clock) -> None:
        marking = pactnet_marking(LEVEL_II)
        first = indicator("Launch", marking["id"])
        _post(analyst, marking, first)
        clock.advance(minutes=1)
        newer = dict(first, modified="2019-07-26T00:00:00.000Z", description="revised")
        _post(analyst, marking, newer)
        own = analyst.collection("ROK own")
        assert own.get_object(first["id"])["objects"][0]["description"] == "revised"
        versions = own.object_versions(first["id"])["versions"]
        assert len(versions) == 2
        assert len(own.get_object(first["id"], version="all")["objects"]) == 2
        manifest = own.get_manifest()["objects"]
        assert [(entry["id"], entry["version"]) for entry in manifest] == [(first["id"], max(versions))]

    def test_stix2_collection_source_reads_objects_by_id_and_by_query(self, analyst: Taxii) -> None:
        marking = pactnet_marking(LEVEL_II)
        posted = indicator("Sinpo yard", marking["id"])
        _post(analyst, marking, posted)
        source = stix2.TAXIICollectionSource(analyst.collection("ROK all"), allow_custom=True)
        assert source.get(posted["id"]).name == "Sinpo yard"
        assert [obj.id for obj in source.query([stix2.Filter("type", "=", "indicator")])] == [posted["id"]]
