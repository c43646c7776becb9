"""Publishing with an Idempotency-Key: a retried request gets the first answer, never a second copy.

A client that lost the answer to a publish (a cut connection, a timeout, a 503 from a database that went away
while committing) cannot tell whether it was stored. Sent again with the same `Idempotency-Key`
(draft-ietf-httpapi-idempotency-key-header), the retry is answered as the first request was if that one was
stored, and is published now if it was not. The key is recorded in the publish's own transaction, so the key and
the reports are stored together or not at all.

A key is its user's own (another user's identical key is another key), kept for at least KEPT; used again with
another request it is refused as a clash with what is stored (ConflictError, 409). The draft suggests 422, which
at this node means a request that is not well-formed in itself; a well-formed request whose key is taken is not.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from pactnet.services import ConflictError, InvalidInputError
from pactnet.store.idempotency_keys import KeyedAnswer, forget_answers_before, keyed_answer, record_answer
from pactnet.store.instants import instant_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy import Connection

    from pactnet.services.context import Node
    from pactnet.services.users import User

# The draft asks a server to say how long it keeps keys; a day covers any client's retries, and docs/node.md says so.
KEPT = timedelta(days=1)
# What a key may be: 1 to 255 printable ASCII characters (a UUID, as the draft suggests, or the client's own).
PATTERN = r"[\x20-\x7e]{1,255}"


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A request's key, and the fingerprint of what it asks (the same key must always ask the same)."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, request: object) -> Idempotency:
        """The key of a request whose content is `request` (JSON-ready: what it asks, and of which route)."""
        if not re.fullmatch(PATTERN, key):
            raise InvalidInputError("Idempotency-Key: expected 1 to 255 printable ASCII characters, e.g. a UUID")
        return cls(key, fingerprint_of(request))


def fingerprint_of(request: object) -> str:
    """The SHA-256 of a request's content (JSON-ready), whatever order its keys came in."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return sha256(text.encode("utf-8")).hexdigest()


# What a publish answers: per report, its id, when it was created, and its decisions.
Answer = list[dict[str, Any]]


def answer_once(node: Node, user: User, idempotency: Idempotency, publish: Callable[[], Answer]) -> Answer:
    """The answer of the request stored under the key if there is one; otherwise `publish` now, keyed."""
    with node.uow.read() as connection:
        earlier = earlier_answer(connection, user, idempotency)
    if earlier is not None:
        return earlier
    try:
        return publish()
    except IntegrityError:
        # PostgreSQL: another process recorded the key after this write looked for it. The database held this
        # write's insert until the other committed, so its answer is there now; if not, the error was another.
        with node.uow.read() as connection:
            earlier = earlier_answer(connection, user, idempotency)
        if earlier is None:
            raise
        return earlier


def keyed_write(
    connection: Connection, user: User, idempotency: Idempotency | None, at: datetime, write: Callable[[], Answer]
) -> Answer:
    """In the publish's own transaction: the answer stored under the key meanwhile, or `write`'s, recorded."""
    if idempotency is None:
        return write()
    earlier = earlier_answer(connection, user, idempotency)
    if earlier is not None:  # a request with the key was committed while this one was being prepared
        return earlier
    answer = write()
    with contextlib.suppress(OverflowError):  # a scenario clock in the first day of year 1: nothing is older
        forget_answers_before(connection, instant_text(at - KEPT))
    record = KeyedAnswer(idempotency.fingerprint, json.dumps(answer))
    record_answer(connection, user.id, idempotency.key, record, instant_text(at))
    return answer


def earlier_answer(connection: Connection, user: User, idempotency: Idempotency) -> Answer | None:
    """What the first request with this key was answered, or None if none was stored."""
    found = keyed_answer(connection, user.id, idempotency.key)
    if found is None:
        return None
    if found.fingerprint != idempotency.fingerprint:
        raise ConflictError(
            "Idempotency-Key: this key was used for another request; a retry must send the same request, "
            "and a new request a new key"
        )
    answer: Answer = json.loads(found.answer)
    return answer
