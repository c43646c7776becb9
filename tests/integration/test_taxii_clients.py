"""The TAXII server as two real clients use it: MISP pushing events, OpenCTI's connector polling a collection."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from misp_stix_converter import MISPtoSTIX21Parser

from pactnet.node import Node, open_node
from pactnet.services.users import add_user
from tests.integration.conftest import LoopbackServer
from tests.integration.taxii_support import Taxii, envelope, indicator, pactnet_marking

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from taxii2client.v21 import Collection

    from tests.integration.conftest import Clock

DEFAULT_LEVEL = "군사III급비밀"
# Small enough that one MISP event needs several envelopes.
MAX_CONTENT_LENGTH = 4096


@pytest.fixture
def node(folder: Path, clock: Clock) -> Iterator[Node]:
    """A ROK node whose collection to publish to marks unmarked objects at its lowest level, with a small limit."""
    settings = folder / "node.toml"
    text = settings.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^taxii_default_level = .*$", f'taxii_default_level = "{DEFAULT_LEVEL}"', text)
    text = re.sub(r"(?m)^max_body_bytes = .*$", f"max_body_bytes = {MAX_CONTENT_LENGTH}", text)
    settings.write_text(text, encoding="utf-8")
    opened = open_node(folder, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def taxii(node: Node) -> Iterator[Taxii]:
    _, token = add_user(node, "misp", DEFAULT_LEVEL, [], roles=["analyst"])
    with LoopbackServer(node) as url:
        yield Taxii(url, "misp", token)


def misp_event() -> dict[str, Any]:
    """A MISP event, as MISP holds it before its TAXII push converts it."""
    attributes = [
        {"type": "ip-dst", "category": "Network activity", "value": f"198.51.100.{n}", "to_ids": True}
        for n in range(1, 9)
    ] + [
        {"type": "domain", "category": "Network activity", "value": f"c2-{n}.example.org", "to_ids": True}
        for n in range(1, 5)
    ]
    for n, attribute in enumerate(attributes):
        attribute |= {"uuid": f"5b7f7e3a-0000-4000-8000-{n:012d}", "timestamp": "1564034400", "comment": ""}
    return {
        "Event": {
            "uuid": "5b7f7e3a-1111-4000-8000-000000000000",
            "info": "Phishing infrastructure",
            "date": "2019-07-25",
            "timestamp": "1564034400",
            "publish_timestamp": "1564034400",
            "threat_level_id": "2",
            "analysis": "1",
            "distribution": "1",
            "Orgc": {"name": "ROK CERT", "uuid": "5b7f7e3a-2222-4000-8000-000000000000"},
            "Attribute": attributes,
        }
    }


def misp_stix(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event converted to STIX 2.1 by misp-stix, as MISP does before a push."""
    parser = MISPtoSTIX21Parser()
    parser.parse_misp_event(event)
    return [json.loads(obj.serialize()) for obj in parser.stix_objects]


def misp_push(collection: Collection, objects: list[dict[str, Any]], limit: int) -> list[Any]:
    """Push as MISP's TAXII push does: envelopes kept under the server's max_content_length, no waiting."""
    statuses: list[Any] = []
    batch: list[dict[str, Any]] = []
    for obj in objects:
        if batch and len(json.dumps(envelope(*batch, obj)).encode()) > limit:
            statuses.append(collection.add_objects(envelope(*batch), wait_for_completion=False))
            batch = []
        batch.append(obj)
    if batch:
        statuses.append(collection.add_objects(envelope(*batch), wait_for_completion=False))
    return statuses


def opencti_poll(collection: Collection, added_after: datetime) -> list[dict[str, Any]]:
    """Poll as OpenCTI's TAXII connector does: added_after from its own clock, then `next` while `more`."""
    after = added_after.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    page = collection.get_objects(added_after=after, limit=3)
    found = list(page.get("objects", []))
    while page.get("more"):
        page = collection.get_objects(added_after=after, limit=3, next=page["next"])
        found += page.get("objects", [])
    return found


class TestMispPush:
    """An event converted by misp-stix and pushed in envelopes split at the server's limit, with Basic auth."""

    def test_every_object_of_the_event_is_published_at_the_default_level(self, taxii: Taxii) -> None:
        objects = misp_stix(misp_event())
        assert len(objects) > 10
        limit = taxii.root.max_content_length
        assert limit == MAX_CONTENT_LENGTH
        statuses = misp_push(taxii.collection("ROK publish"), objects, limit)
        assert len(statuses) > 1  # the event did not fit in one envelope
        for status in statuses:
            status.refresh()
            assert status.status == "complete"
            assert status.failure_count == 0, status.failures
        held = opencti_poll(taxii.collection("ROK own"), datetime(2000, 1, 1, tzinfo=UTC))
        assert {obj["id"] for obj in held} == {obj["id"] for obj in objects}
        marking = taxii.collection("ROK own").get_object(held[0]["object_marking_refs"][-1])["objects"][0]
        extension = next(iter(marking["extensions"].values()))
        assert (extension["originator"], extension["level"]) == ("ROK", DEFAULT_LEVEL)


class TestOpenCtiPoll:
    """A collection found by its title, polled from the client's own clock, page after page."""

    def test_a_second_poll_from_the_clients_clock_returns_only_what_was_added_since(
        self, taxii: Taxii, clock: Clock
    ) -> None:
        clock.at = datetime.now(UTC) - timedelta(minutes=10)
        publish = taxii.collection("ROK publish")
        marking = pactnet_marking(DEFAULT_LEVEL)
        first = [indicator(f"First {n}", marking["id"]) for n in range(4)]
        publish.add_objects(envelope(marking, *first), wait_for_completion=False)
        polled = datetime.now(UTC)  # the client's clock, when it polls
        own = taxii.collection("ROK own")
        assert [obj["id"] for obj in opencti_poll(own, polled - timedelta(hours=1))] == [o["id"] for o in first]
        clock.at = datetime.now(UTC) + timedelta(seconds=1)
        second = [indicator(f"Second {n}", marking["id"]) for n in range(5)]
        publish.add_objects(envelope(marking, *second), wait_for_completion=False)
        assert [obj["id"] for obj in opencti_poll(own, polled)] == [o["id"] for o in second]
