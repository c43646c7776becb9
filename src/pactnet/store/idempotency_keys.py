"""The idempotency_keys table as a repository: the first answer to a keyed request, found, recorded, pruned."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import delete, insert, select

from pactnet.store.tables import idempotency_keys

if TYPE_CHECKING:
    from sqlalchemy import Connection


class KeyedAnswer(NamedTuple):
    """What a key was first used for (the request's fingerprint) and what it was answered (JSON text)."""

    fingerprint: str
    answer: str


def keyed_answer(connection: Connection, user_id: int, key: str) -> KeyedAnswer | None:
    """The answer recorded under this user's key, if any."""
    row = connection.execute(
        select(idempotency_keys.c.fingerprint, idempotency_keys.c.answer).where(
            idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
        )
    ).first()
    return None if row is None else KeyedAnswer(str(row.fingerprint), str(row.answer))


def record_answer(connection: Connection, user_id: int, key: str, answer: KeyedAnswer, at: str) -> None:
    """Record an answer under this user's key; IntegrityError if the key is recorded already."""
    connection.execute(
        insert(idempotency_keys).values(
            user_id=user_id, key=key, fingerprint=answer.fingerprint, answer=answer.answer, created_at=at
        )
    )


def forget_answers_before(connection: Connection, before: str) -> None:
    """Delete the answers recorded before an instant (by the created_at index)."""
    connection.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < before))
