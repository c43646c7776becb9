"""Schemathesis against the node's published OpenAPI schema, over loopback: no 500s, no schema violations.

CI runs a bounded number of examples per operation; set PACTNET_SCHEMATHESIS_EXAMPLES for a longer run
(docs/node.md).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING, Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from pactnet.services.users import add_user
from tests.integration.conftest import LoopbackServer

if TYPE_CHECKING:
    from pactnet.node import Node

EXAMPLES = int(os.environ.get("PACTNET_SCHEMATHESIS_EXAMPLES", "25"))
# A stream answers for as long as its `max_seconds`: long enough to poll the log, short enough for many examples.
STREAMS = {"/api/v1/events": 0.2}
# A sealed cursor (Last-Event-ID) is valid only as this node sealed it for this user, which no schema can say: one
# made up is refused with a 400, so "a schema-valid request is accepted" cannot hold for these routes. Every other
# check (no 500, documented statuses, content types and events) still applies.
SEALED_CURSORS = {"/api/v1/events"}


def test_the_api_answers_every_generated_request_within_its_schema(node: Node) -> None:
    _, token = add_user(node, "fuzzer", "군사I급비밀", ["sigint"])
    headers = {"Authorization": f"Bearer {token}"}
    with LoopbackServer(node) as base_url:
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # Err raises
        assert len(operations) >= 9

        sent: Counter[str] = Counter()
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def answers_within_schema(case: Any) -> None:
                if case.path in STREAMS:
                    case.query = (case.query or {}) | {"max_seconds": STREAMS[case.path]}
                excluded = [schemathesis.checks.positive_data_acceptance] if case.path in SEALED_CURSORS else []
                case.call_and_validate(headers=headers, excluded_checks=excluded)
                sent[f"{case.method} {case.path}"] += 1

            answers_within_schema()
    # The figure a long run reports (docs/node.md): every operation was called, and how many requests in all.
    print(f"\nschemathesis on {node.uow.engine.dialect.name}: {sent.total()} requests, {len(sent)} operations")  # noqa: T201
    assert len(sent) == len(operations)
