"""The store's repositories of reports and users, on real SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user, hash_token
from pactnet.store.reports import item_by_origin, newest_cleared, report_by_id
from pactnet.store.tables import decisions, reports
from pactnet.store.users import disable_user_row, every_user, is_enabled, user_by_token_hash
from tests.integration.conftest import WORKING_ROLES

if TYPE_CHECKING:
    from pactnet.node import Node

HIGH = "군사II급비밀"
LOW = "군사III급비밀"


@dataclass(frozen=True)
class Cleared:
    """A clearance, as the repository asks of a user."""

    rank: int
    compartments: frozenset[str]


class TestReportRepository:
    """Reports are found by either id, and listed only as far as a clearance admits."""

    def _publish(self, node: Node) -> tuple[str, str, str]:
        user, _ = add_user(node, "officer", HIGH, ["TALENT"], roles=WORKING_ROLES)
        low = publish(node, user, Publication(title="low", level=LOW, categories=["dprk-missile"]))["id"]
        high = publish(node, user, Publication(title="high", level=HIGH, categories=["dprk-missile"]))["id"]
        kept = Publication(title="kept", level=LOW, categories=["dprk-missile"], compartments=["TALENT"])
        compartmented = publish(node, user, kept)["id"]
        return low, high, compartmented

    def test_a_report_is_found_by_its_id_here_and_by_its_originators_id(self, node: Node) -> None:
        low, _, _ = self._publish(node)
        with node.uow.read() as connection:
            row = report_by_id(connection, low)
            assert row is not None
            assert row.title == "low"
            copy = item_by_origin(connection, "ROK", row.origin_id)
            assert copy is not None
            assert copy.id == low
            assert report_by_id(connection, "no-such-report") is None
            assert item_by_origin(connection, "JPN", row.origin_id) is None

    def test_a_clearance_admits_the_levels_up_to_its_rank_and_only_the_compartments_it_holds(self, node: Node) -> None:
        low, high, compartmented = self._publish(node)
        scheme = node.world.parties["ROK"]
        query = (
            select(decisions.c.report_id, reports.c.compartments.label("report_compartments"))
            .join(reports, reports.c.id == decisions.c.report_id)
            .order_by(decisions.c.seq.desc())
        )
        with node.uow.read() as connection:

            def admitted(clearance: Cleared | None, limit: int = 100) -> list[str]:
                return list(dict.fromkeys(row.report_id for row in newest_cleared(connection, query, clearance, limit)))

            assert admitted(Cleared(scheme.rank(LOW), frozenset())) == [low]
            assert admitted(Cleared(scheme.rank(HIGH), frozenset())) == [high, low]
            assert admitted(Cleared(scheme.rank(HIGH), frozenset({"TALENT"}))) == [compartmented, high, low]
            assert admitted(None) == [compartmented, high, low]
            assert len(newest_cleared(connection, query, Cleared(scheme.rank(HIGH), frozenset()), 1)) == 1


class TestUserRepository:
    """A user is stored once, found by the hash of its token, and disabled by name."""

    def test_a_user_added_is_found_by_its_token_hash_with_its_roles_and_compartments(self, node: Node) -> None:
        added, token = add_user(node, "analyst", LOW, ["TALENT", "GAMMA"], roles=["analyst"])
        with node.uow.read() as connection:
            stored = user_by_token_hash(connection, hash_token(token))
            assert stored is not None
            assert (stored.id, stored.name, stored.clearance) == (added.id, "analyst", LOW)
            assert stored.compartments == frozenset({"TALENT", "GAMMA"})
            assert stored.roles == ("analyst",)
            assert not stored.disabled
            assert user_by_token_hash(connection, hash_token("pn_not-a-token")) is None

    def test_a_user_disabled_stays_listed_but_is_no_longer_enabled(self, node: Node) -> None:
        first, _ = add_user(node, "first", LOW, [])
        second, _ = add_user(node, "second", LOW, [])
        with node.uow.transaction() as connection:
            assert disable_user_row(connection, "first")
            assert not disable_user_row(connection, "nobody")
        with node.uow.read() as connection:
            assert [(one.name, one.disabled) for one in every_user(connection)] == [("first", True), ("second", False)]
            assert not is_enabled(connection, first.id)
            assert is_enabled(connection, second.id)
            assert not is_enabled(connection, second.id + 1000)
