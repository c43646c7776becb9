"""A TAXII read by object id goes through the id's index, whatever the collection: its cost does not grow with it.

SQLite keeps no statistics: given a collection's condition it takes the index that also gives the page's order
and tests every object's id on the way (5 ms of CPU at 10,000 objects, 121 ms at 100,000: bench/README.md,
"TAXII"). The plan is read with EXPLAIN QUERY PLAN on the node's own database, so the test holds without timing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pactnet.node import init_node, open_node
from pactnet.services.stix_collections import Scope, collections
from pactnet.services.stix_objects import ObjectFilter, _selection
from pactnet.services.users import add_user

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
