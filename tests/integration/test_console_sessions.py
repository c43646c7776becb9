"""The console's sessions on SQLite and PostgreSQL: hashed ids, expiry, sign-out on the server, audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from pactnet.services.sessions import LIFETIME, current, sign_in, sign_out
from pactnet.services.users import add_user, disable_user
from pactnet.store.audit_log import read_entries
from pactnet.store.tables import console_sessions

if TYPE_CHECKING:
    from pactnet.node import Node
    from tests.integration.conftest import Clock


def _token(node: Node, name: str = "kim") -> str:
    _, token = add_user(node, name, "군사II급비밀", ["sigint"], roles=["analyst"])
    return token


class TestSessions:
    """A token becomes a session the node can end; the database never holds the id itself."""

    def test_a_session_is_stored_by_the_hash_of_its_id_only(self, node: Node) -> None:
        session = sign_in(node, _token(node))
        assert session is not None
        with node.uow.read() as connection:
            rows = connection.execute(select(console_sessions)).all()
        assert len(rows) == 1
        stored = " ".join(str(value) for value in rows[0])
        assert session.id not in stored
        assert current(node, session.id) == session

    def test_a_wrong_token_starts_nothing(self, node: Node) -> None:
        _token(node)
        assert sign_in(node, "pn_wrong") is None
        with node.uow.read() as connection:
            assert connection.execute(select(console_sessions)).all() == []

    def test_a_session_ends_when_its_lifetime_does(self, node: Node, clock: Clock) -> None:
        session = sign_in(node, _token(node))
        assert session is not None
        clock.advance(seconds=LIFETIME.total_seconds() - 1)
        assert current(node, session.id) is not None
        clock.advance(seconds=1)
        assert current(node, session.id) is None

    def test_signing_out_deletes_the_row_and_signing_in_clears_expired_ones(self, node: Node, clock: Clock) -> None:
        token = _token(node)
        first, second = sign_in(node, token), sign_in(node, token)
        assert first is not None
        assert second is not None
        assert first.id != second.id
        assert first.csrf != second.csrf
        sign_out(node, first)
        assert current(node, first.id) is None
        assert current(node, second.id) is not None
        clock.advance(hours=9)
        assert sign_in(node, token) is not None
        with node.uow.read() as connection:
            assert len(connection.execute(select(console_sessions)).all()) == 1  # the expired one went

    def test_disabling_the_user_ends_their_sessions_at_once(self, node: Node) -> None:
        session = sign_in(node, _token(node))
        assert session is not None
        disable_user(node, "kim")
        assert current(node, session.id) is None

    def test_sign_in_and_out_are_audited_without_the_id(self, node: Node) -> None:
        session = sign_in(node, _token(node))
        assert session is not None
        sign_out(node, session)
        with node.uow.read() as connection:
            entries = list(read_entries(connection))
        kinds = [entry.kind for entry in entries]
        assert kinds[-2:] == ["console-signed-in", "console-signed-out"]
        assert all(session.id not in str(entry.data) for entry in entries)

    def test_a_forged_or_oversized_id_is_no_session(self, node: Node) -> None:
        assert current(node, "") is None
        assert current(node, "x" * 10_000) is None
        assert current(node, "not-a-session") is None
