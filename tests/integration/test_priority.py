"""A request that says it is flash or immediate (RFC 9218 Priority) is urgent work in the node from arrival."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx
import pytest

from pactnet.federation.client import PartnerClient, PartnerUnreachableError
from pactnet.federation.priority import priority_header, urgency_of
from pactnet.urgency import GIVE_WAY_LONGEST, Urgency
from tests.integration.conftest import LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pactnet.node import Node


class CountingUrgency(Urgency):
    """Urgency that counts the urgent work it was given, and the steps that had to give way to some."""

    def __init__(self) -> None:
        super().__init__()
        self.marked = 0
        self.gave_way = 0

    def give_way(self, longest: float = GIVE_WAY_LONGEST) -> None:
        if self.pressing and not self.urgent_here:
            self.gave_way += 1
        super().give_way(longest)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self.marked += 1
        with super().running():
            yield


@pytest.fixture
def counted(node: Node) -> Iterator[tuple[CountingUrgency, str]]:
    """The node's API on loopback, its urgency counted; the base URL."""
    urgency = CountingUrgency()
    node.uow.urgency = urgency
    with LoopbackServer(node) as base_url:
        yield urgency, base_url


@pytest.mark.parametrize(
    ("header", "urgent"),
    [
        ("u=0", True),
        ("u=1, i", True),
        ("i, u=1", True),
        ("u=2", False),
        ("u=3", False),
        ("u=9", False),
        ("u=" + "0" * 5000, False),  # no 500: too long to be an sf-integer
        (None, False),
    ],
)
def test_a_request_is_urgent_only_when_its_priority_says_flash_or_immediate(
    counted: tuple[CountingUrgency, str], header: str | None, urgent: bool
) -> None:
    urgency, base_url = counted
    headers = {} if header is None else {"Priority": header}
    response = httpx.get(f"{base_url}/api/v1/health", headers=headers, timeout=30)
    assert response.status_code == httpx.codes.OK
    assert urgency.marked == (1 if urgent else 0)


@pytest.mark.parametrize("urgent", [True, False])
def test_a_dispatcher_says_so_when_it_sends_flash_traffic(counted: tuple[CountingUrgency, str], urgent: bool) -> None:
    urgency, base_url = counted
    client = PartnerClient()
    try:
        with contextlib.suppress(PartnerUnreachableError):  # an empty batch is refused; its header still counts
            client.post(base_url, [], urgent=urgent)
    finally:
        client.close()
    assert urgency.marked == (1 if urgent else 0)


def test_the_header_a_client_sends_for_each_precedence() -> None:
    assert priority_header("flash") == {"priority": "u=0"}
    assert priority_header("immediate") == {"priority": "u=1"}
    assert priority_header("priority") == {}
    assert priority_header("routine") == {}


@pytest.mark.parametrize(
    ("value", "urgency"),
    [
        ("u=0", 0),
        ("u=7", 7),
        ("i, u=2", 2),
        ("u = 1", 1),
        ("u=001", 1),
        ("u=8", 3),
        ("u=-1", 3),
        ("u=x", 3),
        ("u=", 3),
        ("", 3),
        ("u=" + "1" * 5000, 3),
    ],
)
def test_the_urgency_of_a_priority_field(value: str, urgency: int) -> None:
    assert urgency_of(value) == urgency
