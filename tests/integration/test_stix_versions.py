"""Versions and revocations of STIX objects travel (issue 15): real nodes on loopback, a real TAXII client.

ROK, JPN and the USA serve their APIs (and TAXII servers) on loopback (tests.integration.test_consent_compromise
builds them); the dispatchers are run by hand. ROK posts an indicator with taxii2-client, then a new version
and a revocation; JPN holds every version and serves the object revoked. Where JPN passed an earlier version on,
the new ones follow it there, decided again at that instant, with `asked_by: "version"`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import stix2
from sqlalchemy import select
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Collection, Server

from pactnet.services.reports import Publication, publish
from pactnet.services.stix_index import STIX_OBJECT
from pactnet.services.users import add_user
from pactnet.stix import PACTNET_MARKING_EXTENSION_ID
from pactnet.store.audit_log import read_entries
from pactnet.store.tables import outbox, stix_objects
from tests.integration.conftest import WORKING_ROLES
from tests.integration.test_consent_compromise import PURPOSE, Trio, _trio

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pactnet.services.users import User

LEVEL = "군사II급비밀"
FIRST = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECOND = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
THIRD = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def trio(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trio]:
    """ROK, JPN and the USA in July 2019, every agreement in force, on each kind of database."""
    yield from _trio(tmp_path, request.param)


def _marking() -> stix2.MarkingDefinition:
    extension = {
        "extension_type": "property-extension",
        "originator": "ROK",
        "level": LEVEL,
        "categories": ["dprk-missile"],
        "precedence": "immediate",
    }
    return stix2.MarkingDefinition(name="ROK 군사II급비밀", extensions={PACTNET_MARKING_EXTENSION_ID: extension})


def _versions(marking: stix2.MarkingDefinition) -> list[stix2.Indicator]:
    """An indicator, a later version of it, and its revocation, as stix2 builds them."""
    first = stix2.Indicator(
        name="Hodo launch site",
        pattern="[ipv4-addr:value = '198.51.100.7']",
        pattern_type="stix",
        valid_from=FIRST,
        created=FIRST,
        modified=FIRST,
        object_marking_refs=[marking.id],
    )
    second = first.new_version(modified=SECOND, description="seen again on 2 December")
    return [first, second, second.new_version(modified=THIRD, revoked=True)]


def _collection(trio: Trio, party: str, title: str, credentials: tuple[str, str]) -> Collection:
    """A collection of a party's TAXII server, found by title as OpenCTI's connector finds it."""
    url = f"{trio.api[party].base_url}".rstrip("/") + "/taxii2/"
    server = Server(url, user=credentials[0], password=credentials[1])
    [root] = server.api_roots
    return next(one for one in root.collections if one.title == title)


def _taxii_user(trio: Trio, party: str, clearance: str) -> tuple[User, tuple[str, str]]:
    user, token = add_user(trio.nodes[party], f"taxii-{party.lower()}", clearance, [], roles=WORKING_ROLES)
    return user, (user.name, token)


def _post(collection: Collection, *objects: Any) -> dict[str, Any]:
    envelope = {"objects": [json.loads(one.serialize()) for one in objects]}
    status = collection.add_objects(json.dumps(envelope), wait_for_completion=False)
    return {"success_count": status.success_count, "failures": status.failures, "status": status.status}


def _asked(trio: Trio, party: str) -> list[tuple[str, str | None]]:
    """Every transfer a party queued: (final recipient, who asked), in order."""
    with trio.nodes[party].uow.engine.connect() as connection:
        query = select(outbox.c.final, outbox.c.asked_by).where(outbox.c.kind == "transfer").order_by(outbox.c.seq)
        return [(row.final, row.asked_by) for row in connection.execute(query)]


def _held_versions(trio: Trio, party: str, stix_id: str) -> list[tuple[str, bool]]:
    with trio.nodes[party].uow.engine.connect() as connection:
        query = select(stix_objects.c.version, stix_objects.c.revoked).where(stix_objects.c.stix_id == stix_id)
        return sorted((row.version, row.revoked) for row in connection.execute(query))


class TestVersionsTravel:
    """A new version and a revocation posted at the originator reach the holder, which keeps every version."""

    def test_jpn_holds_every_version_and_serves_the_object_revoked(self, trio: Trio) -> None:
        _, rok = _taxii_user(trio, "ROK", LEVEL)
        _, jpn = _taxii_user(trio, "JPN", "極秘")
        marking = _marking()
        first, second, revoked = _versions(marking)
        publish_to = _collection(trio, "ROK", "ROK publish", rok)
        assert _post(publish_to, marking, first)["success_count"] == 2
        trio.dispatch("ROK")
        from_rok = _collection(trio, "JPN", "from ROK", jpn)
        [held] = from_rok.get_object(first.id)["objects"]
        assert held["modified"] == "2026-12-01T09:00:00.000Z"

        for version in (second, revoked):  # the marking sent again: the server keeps only the ones it serves
            assert _post(publish_to, marking, version)["failures"] == []
            trio.dispatch("ROK")

        [served] = from_rok.get_object(first.id)["objects"]
        assert served["revoked"] is True
        assert served["modified"] == "2026-12-03T09:00:00.000Z"
        assert validate_instance(served, ValidationOptions(version="2.1")).errors == []
        versions = from_rok.object_versions(first.id)["versions"]
        assert [datetime.fromisoformat(one) for one in versions] == [FIRST, SECOND, THIRD]
        assert [one["description"] for one in from_rok.get_object(first.id, version="all")["objects"][1:]] == [
            "seen again on 2 December",
            "seen again on 2 December",
        ]
        assert _asked(trio, "ROK") == [("JPN", "recipients"), ("USA", "recipients")] * 3
        trio.intact()

    def test_only_the_originator_publishes_versions_of_its_object(self, trio: Trio) -> None:
        _, rok = _taxii_user(trio, "ROK", LEVEL)
        _, jpn = _taxii_user(trio, "JPN", "極秘")
        marking = _marking()
        first, second, _ = _versions(marking)
        _post(_collection(trio, "ROK", "ROK publish", rok), marking, first)
        trio.dispatch("ROK")
        jpn_marking = stix2.MarkingDefinition(
            name="JPN 極秘",
            extensions={
                PACTNET_MARKING_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "originator": "JPN",
                    "level": "極秘",
                }
            },
        )
        posing = second.new_version(modified=THIRD, object_marking_refs=[jpn_marking.id])
        status = _post(_collection(trio, "JPN", "JPN publish", jpn), jpn_marking, posing)
        [failure] = status["failures"]
        assert failure["id"] == first.id
        assert "only its originator publishes new versions" in failure["message"]
        assert _held_versions(trio, "JPN", first.id) == [("2026-12-01T09:00:00.000000Z", False)]


@dataclass
class Released:
    """ROK's indicator, published for JPN alone and released by JPN to the USA with ROK's consent."""

    rok_user: User
    usa: tuple[str, str]
    item: Publication
    first: stix2.Indicator
    revoked: stix2.Indicator

    def revoke(self, trio: Trio) -> None:
        """ROK publishes the revocation (for JPN alone, as the first version), and every node sends what it queued."""
        publish(trio.nodes["ROK"], self.rok_user, replace(self.item, body=self.revoked.serialize()))
        for _ in range(3):
            trio.dispatch("ROK", "JPN")


def _released(trio: Trio, consent: dict[str, str]) -> Released:
    rok_user, _ = _taxii_user(trio, "ROK", LEVEL)
    _, usa = _taxii_user(trio, "USA", "SECRET")
    first, _, revoked = _versions(_marking())
    item = Publication(
        title="Hodo launch site",
        level=LEVEL,
        categories=["dprk-missile"],
        body_type=STIX_OBJECT,
        body=first.serialize(),
        recipients=["JPN"],  # ROK's publisher names JPN alone: the USA gets it from JPN, or not at all
    )
    rok_id = publish(trio.nodes["ROK"], rok_user, item)["id"]
    trio.dispatch("ROK")
    [jpn_item] = trio.get("JPN", "/api/v1/reports")["items"]
    trio.post("JPN", f"/api/v1/reports/{jpn_item['id']}/consent-requests", {"to": "USA", "purpose": PURPOSE})
    trio.dispatch("JPN")
    trio.post("ROK", f"/api/v1/reports/{rok_id}/consents", {"to": "USA"} | consent)
    for _ in range(3):
        trio.dispatch("ROK", "JPN")
    assert _held_versions(trio, "USA", first.id) == [("2026-12-01T09:00:00.000000Z", False)]
    return Released(rok_user, usa, item, first, revoked)


def _trail_of_revocation(trio: Trio, party: str, stix_id: str) -> list[tuple[str, str, bool, str]]:
    with trio.nodes[party].uow.engine.connect() as connection:
        query = select(stix_objects.c.report_id).where(stix_objects.c.stix_id == stix_id, stix_objects.c.revoked)
        held_as = connection.execute(query).scalar_one()
    trail = trio.get(party, "/api/v1/decisions", report=held_as)
    return [(one["holder"], one["to"], one["allowed"], one["asked_by"]) for one in trail]


class TestOnwardTravel:
    """Where a holder passed an earlier version on, the later ones follow, decided again there."""

    def test_a_revocation_follows_jpns_onward_release_to_the_usa(self, trio: Trio) -> None:
        released = _released(trio, {})
        released.revoke(trio)

        assert _asked(trio, "JPN") == [("USA", "consent-request"), ("USA", "version")]
        assert [revoked for _, revoked in _held_versions(trio, "USA", released.first.id)] == [False, True]
        [served] = _collection(trio, "USA", "from JPN", released.usa).get_object(released.first.id)["objects"]
        assert served["revoked"] is True
        assert _trail_of_revocation(trio, "JPN", released.first.id) == [
            ("ROK", "JPN", True, "recipients"),
            ("JPN", "USA", True, "version"),
        ]
        trio.intact()

    def test_once_the_consent_has_ended_the_revocation_is_refused_onward_and_the_usa_keeps_what_it_had(
        self, trio: Trio
    ) -> None:
        until = trio.clock() + timedelta(days=1)
        released = _released(trio, {"until": until.isoformat()})
        trio.clock.advance(days=2)
        released.revoke(trio)

        assert _asked(trio, "JPN") == [("USA", "consent-request")]
        [(holder, to, allowed, asked_by)] = _trail_of_revocation(trio, "JPN", released.first.id)[1:]
        assert (holder, to, allowed, asked_by) == ("JPN", "USA", False, "version")
        assert _held_versions(trio, "USA", released.first.id) == [("2026-12-01T09:00:00.000000Z", False)]
        [served] = _collection(trio, "USA", "from JPN", released.usa).get_object(released.first.id)["objects"]
        assert "revoked" not in served
        trio.intact()

    def test_a_revocation_marked_tlp_amber_is_withheld_onward_with_the_reason_audited(self, trio: Trio) -> None:
        released = _released(trio, {})
        amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
        marked = released.first.new_version(
            modified=THIRD, revoked=True, object_marking_refs=[*released.first.object_marking_refs, amber]
        )
        replace(released, revoked=marked).revoke(trio)

        assert _asked(trio, "JPN") == [("USA", "consent-request")]
        assert _held_versions(trio, "USA", released.first.id) == [("2026-12-01T09:00:00.000000Z", False)]
        with trio.nodes["JPN"].uow.engine.connect() as connection:
            entries = [json.loads(entry.data_json) for entry in read_entries(connection) if entry.kind == "decide"]
        withheld = [data for data in entries if "withheld" in data]
        [entry] = withheld
        assert (entry["to"], entry["asked_by"], entry["allowed"]) == ("USA", "version", False)
        assert entry["withheld"].startswith("TLP:AMBER")
        trio.intact()
