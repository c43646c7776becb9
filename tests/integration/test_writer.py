"""Group commit: many writers share transactions, yet each write stands or falls alone."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, insert, select

from pactnet.services import audit
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.tables import lifecycle_acts, reports

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from pactnet.node import Node

LAUNCH = Publication(title="launch", level="군사III급비밀", categories=["dprk-missile"])


class TestGroupCommit:
    """Writes handed to the node's writer are durable when the call returns, and isolated from each other."""

    def test_concurrent_publishers_all_land_and_the_log_verifies(self, node: Node) -> None:
        user, _ = add_user(node, "officer", "군사II급비밀", [])
        errors: list[BaseException] = []

        def publisher() -> None:
            try:
                for _ in range(25):
                    publish(node, user, LAUNCH)
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=publisher) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with node.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(reports)).scalar_one() == 200
        result = audit.verify(node)
        assert result.intact
        assert result.entries == 2 + 200 * 3  # node created, user added, then publish and two decisions each

    def test_a_failing_write_is_rolled_back_alone_and_its_caller_gets_the_error(self, node: Node) -> None:
        def good(connection: Connection) -> int:
            connection.execute(
                insert(lifecycle_acts).values(agreement="A", type="t", by="ROK", at="x", recorded_by="u")
            )
            return 1

        def bad(connection: Connection) -> int:
            connection.execute(
                insert(lifecycle_acts).values(agreement="B", type="t", by="ROK", at="x", recorded_by="u")
            )
            raise RuntimeError("refused halfway")

        assert node.write(good) == 1
        with pytest.raises(RuntimeError, match="halfway"):
            node.write(bad)
        with node.engine.connect() as connection:
            stored = connection.execute(select(lifecycle_acts.c.agreement)).scalars().all()
        assert stored == ["A"]
