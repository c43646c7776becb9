"""A partner cannot plant an item the receiver would then treat as its own (issue 17, item 4)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from pactnet.services import audit
from pactnet.services.inbound import receive
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.audit_log import read_entries
from pactnet.store.outbox import report_payload
from pactnet.store.tables import reports
from tests.databases import fresh_postgres_database
from tests.integration.test_inbound import GSOMIA, Pair, pair_of_nodes

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.integration.conftest import Clock


@pytest.fixture(name="pair")
def rok_and_jpn(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[Pair]:
    """ROK (the partner that plants) and JPN, each on its own database of the kind under test."""
    if database_url.startswith("sqlite"):
        yield from pair_of_nodes(tmp_path, database_url, None, "gsomia-2019", clock)
        return
    with fresh_postgres_database("pactnet_test") as second:
        yield from pair_of_nodes(tmp_path, database_url, second, "gsomia-2019", clock)


def _claiming_jpn(**report: Any) -> dict[str, Any]:
    """A transfer from ROK that names JPN as the item's originator."""
    item = {
        "id": uuid.uuid4().hex,
        "originator": "JPN",
        "title": "Planted",
        "level": "極秘",
        "categories": ["dprk-missile"],
        "rel_to": None,
        "precedence": "routine",
        "compartments": [],
        "body_type": "text",
        "body": "words JPN never wrote",
        "created": "2019-07-25T05:59:00+00:00",
    } | report
    return {"report": item, "under": GSOMIA, "route": ["ROK"]}


def _published_at_jpn(pair: Pair) -> dict[str, Any]:
    """A report JPN really published, as its transfers carry it."""
    user, _ = add_user(pair.jpn, "analyst", "機密", [])
    publication = Publication(
        title="Launch seen from Sado",
        level="極秘",
        categories=["dprk-missile"],
        rel_to=None,
        precedence="routine",
        compartments=[],
        body_type="text",
        body="two projectiles",
        recipients=["ROK"],
    )
    published = publish(pair.jpn, user, publication)
    with pair.jpn.uow.engine.connect() as connection:
        row = connection.execute(select(reports).where(reports.c.id == published["id"])).one()
    return report_payload(row._asdict(), row.level)


def _refusal_codes(pair: Pair, payload: dict[str, Any]) -> list[str]:
    answer = pair.open_answer(receive(pair.jpn, pair.envelope(payload)))
    assert answer["kind"] == "refusal", answer
    return [reason["code"] for reason in answer["reasons"]]


def _jpn_reports(pair: Pair) -> list[tuple[str, str | None]]:
    with pair.jpn.uow.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(reports.c.origin_id, reports.c.received_from))]


class TestPlantedItems:
    """An item claiming the receiver as originator is refused and audited unless the receiver published it."""

    def test_an_item_jpn_never_published_is_refused_and_audited(self, pair: Pair) -> None:
        assert _refusal_codes(pair, _claiming_jpn()) == ["unknown-own-item"]
        assert _jpn_reports(pair) == []
        with pair.jpn.uow.engine.connect() as connection:
            last = list(read_entries(connection))[-1]
        assert last.kind == "refused-envelope"
        assert "unknown-own-item" in str(last.data)
        assert audit.verify(pair.jpn).intact

    def test_a_flash_item_jpn_never_published_is_refused_too(self, pair: Pair) -> None:
        planted = _claiming_jpn(precedence="flash")  # urgent transfers are worked out ahead of their transaction
        assert _refusal_codes(pair, planted) == ["unknown-own-item"]
        assert _jpn_reports(pair) == []

    def test_an_item_jpn_published_but_altered_is_refused(self, pair: Pair) -> None:
        sent = _published_at_jpn(pair)
        altered = {"report": sent | {"body": "words JPN never wrote"}, "under": GSOMIA, "route": ["ROK"]}
        assert _refusal_codes(pair, altered) == ["altered-own-item"]
        assert len(_jpn_reports(pair)) == 1

    def test_the_item_jpn_published_handed_back_unchanged_is_not_stored_again(self, pair: Pair) -> None:
        sent = _published_at_jpn(pair)
        answer = pair.open_answer(receive(pair.jpn, pair.envelope({"report": sent, "under": GSOMIA, "route": ["ROK"]})))
        codes = [reason["code"] for reason in answer.get("reasons", [])]
        assert "unknown-own-item" not in codes
        assert "altered-own-item" not in codes
        assert _jpn_reports(pair) == [(sent["id"], None)]
