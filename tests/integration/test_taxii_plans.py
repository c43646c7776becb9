"""A TAXII read or post looks objects up by the id's index, whatever the collection: its cost does not grow with it.

SQLite keeps no statistics: given a collection's condition it takes the index that also gives the page's order
and tests every object's id on the way (5 ms of CPU at 10,000 objects, 121 ms at 100,000: bench/README.md,
"TAXII"). The plan is read with EXPLAIN QUERY PLAN on the node's own database, so the test holds without timing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from pactnet.node import init_node, open_node
from pactnet.services.stix_collections import Scope, collections
from pactnet.services.stix_envelopes import add_objects
from pactnet.services.stix_objects import ObjectFilter, _selection
from pactnet.services.users import add_user
from tests.integration.taxii_support import indicator, pactnet_marking

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pactnet.node import Node

ID = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


@pytest.fixture
def rok(tmp_path: Path) -> Iterator[Node]:
    init_node(tmp_path / "rok", "gsomia-2019", "ROK", None)
    node = open_node(tmp_path / "rok")
    yield node
    node.close()


def _plan(node: Node, wanted: ObjectFilter, scope: Scope) -> str:
    user, _ = add_user(node, f"reader-{scope.name.lower()}", "군사II급비밀", [])
    collection = next(one for one in collections(node) if one.scope is scope)
    query = _selection(node, user, collection, wanted).limit(101)
    with node.uow.engine.connect() as connection:
        sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
    return "\n".join(str(row[-1]) for row in rows)


class TestReadingByIdUsesTheIdsIndex:
    """GET by id (match[id] or the object's own URL) searches by the id in every readable collection."""

    @pytest.mark.parametrize("scope", [Scope.OWN, Scope.PARTNER, Scope.ALL])
    def test_a_look_up_by_id_searches_the_ids_index(self, rok: Node, scope: Scope) -> None:
        plan = _plan(rok, ObjectFilter(ids=(ID,)), scope)
        assert "USING INDEX ix_stix_objects_stix_id (stix_id=?)" in plan, plan

    def test_a_page_of_a_collection_still_comes_in_its_index_order(self, rok: Node) -> None:
        plan = _plan(rok, ObjectFilter(), Scope.OWN)
        assert "ix_stix_objects_originator_added" in plan, plan


def _plans_of_a_post(node: Node, objects: list[dict[str, Any]]) -> list[str]:
    """The plan of every read of the STIX index that posting these objects made."""
    user, _ = add_user(node, f"poster-{len(objects)}", "군사II급비밀", [], roles=["analyst"])
    publish = next(one for one in collections(node) if one.can_write)
    statements: list[tuple[str, Any]] = []

    def seen(_conn: object, _cursor: object, sql: str, parameters: Any, _context: object, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "stix_objects" in sql:
            statements.append((sql, parameters))

    event.listen(node.uow.engine, "before_cursor_execute", seen)
    try:
        status = add_objects(node, user, publish, objects)
    finally:
        event.remove(node.uow.engine, "before_cursor_execute", seen)
    assert status["failure_count"] == 0, status["failures"]
    with node.uow.engine.connect() as connection:
        explained = [
            connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all() for sql, params in statements
        ]
    return ["\n".join(str(row[-1]) for row in rows) for rows in explained]


class TestPostingLooksObjectsUpById:
    """What a post asks of the index (versions held, earlier versions' consents, other originators' objects)."""

    def test_every_look_up_of_a_post_searches_the_ids_index(self, rok: Node) -> None:
        marking = pactnet_marking("군사II급비밀", categories=["dprk-missile"])
        first = indicator("Wonsan launch", marking["id"])
        _plans_of_a_post(rok, [marking, first, indicator("Sinpo yard", marking["id"])])
        plans = _plans_of_a_post(rok, [marking, first | {"modified": "2030-01-01T00:00:00.000Z"}])
        assert len(plans) >= 2  # held versions and objects of other originators (one query), earlier versions' consents
        for plan in plans:
            # Neither the originator's index nor the whole ids index: both are read end to end, and grow.
            assert "INDEX ix_stix_objects_stix_id (stix_id=?)" in plan, plan
            assert "SCAN stix_objects" not in plan, plan
