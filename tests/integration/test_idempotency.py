"""Publishing with an Idempotency-Key, over HTTP on both databases: a retry is answered as the first request was.

A client whose publish was cut off cannot tell whether it was stored; a retry with the same key stores nothing
twice, and a retry of a request that was not stored publishes it then.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select

from pactnet.client import NodeClient
from pactnet.node import open_node
from pactnet.services.idempotency import Idempotency
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from pactnet.store.idempotency_keys import KeyedAnswer, record_answer
from pactnet.store.instants import instant_text
from pactnet.store.tables import audit_entries, outbox, reports
from tests.e2e.network import wait_for
from tests.fault_proxy import Fault, FaultProxy
from tests.integration.conftest import LoopbackServer
from tests.integration.test_api import LAUNCH

if TYPE_CHECKING:
    from pathlib import Path

    from pactnet.node import Node
    from tests.integration.conftest import Clock


def _stored(node: Node) -> tuple[int, int, int]:
    """How many reports, transfers and publish audit entries the node holds."""
    with node.uow.read() as connection:
        return (
            connection.execute(select(func.count()).select_from(reports)).scalar_one(),
            connection.execute(select(func.count()).select_from(outbox)).scalar_one(),
            connection.execute(select(func.count()).where(audit_entries.c.kind == "publish")).scalar_one(),
        )


def _post(client: httpx.Client, headers: dict[str, str], key: str, body: dict[str, Any] = LAUNCH) -> httpx.Response:
    return client.post("/api/v1/reports", json=body, headers=headers | {"Idempotency-Key": key})


class TestARetry:
    """The same key and the same request: the first answer, and nothing stored twice."""

    def test_is_answered_as_the_first_request_was_and_stores_nothing_more(
        self, client: httpx.Client, officer: dict[str, str], node: Node
    ) -> None:
        key = str(uuid.uuid4())
        first = _post(client, officer, key)
        assert first.status_code == httpx.codes.CREATED, first.text
        stored = _stored(node)
        assert stored == (1, 2, 1)  # one report, a transfer to each partner, one publish entry
        again = _post(client, officer, key)
        assert again.status_code == httpx.codes.CREATED, again.text
        assert again.json() == first.json()
        assert _stored(node) == stored

    def test_of_a_batch_is_answered_with_every_result_of_the_first(
        self, client: httpx.Client, officer: dict[str, str], node: Node
    ) -> None:
        batch = {"reports": [LAUNCH, LAUNCH | {"title": "second launch", "precedence": "routine"}]}
        headers = officer | {"Idempotency-Key": "feed-2019-11-23-0001"}
        first = client.post("/api/v1/reports/batch", json=batch, headers=headers)
        again = client.post("/api/v1/reports/batch", json=batch, headers=headers)
        assert first.status_code == again.status_code == httpx.codes.CREATED, again.text
        assert again.json() == first.json()
        assert len({result["id"] for result in first.json()["results"]}) == 2
        assert _stored(node)[0] == 2

    def test_with_the_key_quoted_as_the_draft_writes_it_is_the_same_key(
        self, client: httpx.Client, officer: dict[str, str], node: Node
    ) -> None:
        first = _post(client, officer, "8e03978e-40d5-43e8-bc93-6894a57f9324")
        again = _post(client, officer, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
        assert again.json()["id"] == first.json()["id"]
        assert _stored(node)[0] == 1

    def test_without_a_key_publishes_again(self, client: httpx.Client, officer: dict[str, str], node: Node) -> None:
        for _ in range(2):
            assert client.post("/api/v1/reports", json=LAUNCH, headers=officer).status_code == httpx.codes.CREATED
        assert _stored(node)[0] == 2


class TestAKeyIsOneRequestsOfOneUser:
    """Another request with the key is refused; another user's identical key is another key."""

    def test_another_request_with_the_key_is_refused_and_stores_nothing(
        self, client: httpx.Client, officer: dict[str, str], node: Node
    ) -> None:
        _post(client, officer, "k-1")
        refused = _post(client, officer, "k-1", LAUNCH | {"title": "another launch"})
        assert refused.status_code == httpx.codes.CONFLICT
        assert "Idempotency-Key" in refused.json()["error"]["message"]
        assert _stored(node)[0] == 1

    def test_the_same_content_to_the_batch_route_is_another_request(
        self, client: httpx.Client, officer: dict[str, str], node: Node
    ) -> None:
        _post(client, officer, "k-2")
        batch = client.post(
            "/api/v1/reports/batch", json={"reports": [LAUNCH]}, headers=officer | {"Idempotency-Key": "k-2"}
        )
        assert batch.status_code == httpx.codes.CONFLICT
        assert _stored(node)[0] == 1

    def test_another_user_with_the_same_key_publishes_their_own(
        self, client: httpx.Client, officer: dict[str, str], node: Node
    ) -> None:
        _, token = add_user(node, "second-officer", "군사II급비밀", ["sigint"], roles=["analyst"])
        first = _post(client, officer, "shared-key")
        second = _post(client, {"Authorization": f"Bearer {token}"}, "shared-key")
        assert second.status_code == httpx.codes.CREATED, second.text
        assert second.json()["id"] != first.json()["id"]
        assert _stored(node)[0] == 2

    @pytest.mark.parametrize("key", ["", '""', "x" * 256, "tab\there", "caf\xe9"])
    def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_refused(
        self, client: httpx.Client, officer: dict[str, str], node: Node, key: str
    ) -> None:
        refused = client.post(
            "/api/v1/reports",
            json=LAUNCH,
            headers=[(name.encode(), value.encode()) for name, value in officer.items()]
            + [(b"Idempotency-Key", key.encode("latin-1"))],
        )
        assert refused.status_code == httpx.codes.UNPROCESSABLE_ENTITY, refused.text
        assert "Idempotency-Key" in refused.json()["error"]["message"]
        assert _stored(node)[0] == 0


class TestKeysAreKeptADay:
    def test_a_key_older_than_a_day_is_forgotten_when_another_is_recorded(
        self, client: httpx.Client, officer: dict[str, str], clock: Clock
    ) -> None:
        first = _post(client, officer, "old-key")
        clock.advance(hours=23)
        assert _post(client, officer, "old-key").json() == first.json()  # still kept
        clock.advance(hours=2)
        _post(client, officer, "new-key")  # recording it forgets the keys of before yesterday
        renewed = _post(client, officer, "old-key")
        assert renewed.status_code == httpx.codes.CREATED
        assert renewed.json()["id"] != first.json()["id"]


class TestTwoProcesses:
    """A request whose key another process records while it is being written gets that process's answer."""

    def test_the_write_that_meets_the_key_recorded_meanwhile_answers_with_it(self, folder: Path, clock: Clock) -> None:
        first, second = open_node(folder, clock=clock), open_node(folder, clock=clock)
        try:
            user, _ = add_user(first, "officer", "군사II급비밀", ["sigint"], roles=["analyst"])
            keyed = Idempotency.of("raced", {"the": "request"})
            recorded: list[dict[str, Any]] = [{"id": "answered-by-the-other", "created_at": "", "decisions": []}]
            answers: list[dict[str, Any]] = []
            publishing = threading.Thread(
                target=lambda: answers.append(publish(second, user, Publication(**LAUNCH), keyed))
            )
            # The other process has recorded the key in a transaction it has not committed yet: this write cannot
            # see it, and is held by the database until it commits.
            with first.uow.transaction() as other:
                record_answer(
                    other,
                    user.id,
                    keyed.key,
                    KeyedAnswer(keyed.fingerprint, json.dumps(recorded)),
                    instant_text(clock.at),
                )
                publishing.start()
                publishing.join(timeout=1.0)
                assert publishing.is_alive(), "the write did not wait for the other process's transaction"
            publishing.join(timeout=30)
            assert answers == recorded
            assert _stored(second)[0] == 0
        finally:
            second.close()
            first.close()


class TestTheClient:
    """`NodeClient.publish` (the `remote report publish` command) sends a key and asks again when an answer is lost."""

    def test_an_answer_cut_off_after_the_node_published_is_asked_for_again_and_published_once(self, node: Node) -> None:
        _, token = add_user(node, "analyst", "군사II급비밀", ["sigint"], roles=["analyst"])
        with LoopbackServer(node) as url, FaultProxy(int(url.rsplit(":", 1)[1])) as proxy:
            # The request reaches the node whole; its answer is cut before a byte of it comes back.
            proxy.set(Fault("reset", response_bytes=0))
            answers: list[dict[str, Any]] = []
            with NodeClient(proxy.url, token) as client:
                publishing = threading.Thread(target=lambda: answers.append(client.publish(LAUNCH)))
                publishing.start()
                wait_for(lambda: proxy.counts["resets"] > 0, 10, lambda: "the proxy cut no answer")
                proxy.heal()
                publishing.join(timeout=30)
        assert len(answers) == 1
        with node.uow.read() as connection:
            stored = connection.execute(select(reports.c.id)).scalars().all()
        assert stored == [answers[0]["id"]]
