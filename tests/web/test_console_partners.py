"""Partners in a browser: an unreachable partner shows as failing, with why; only an admin sees the page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pactnet.cluster import create_cluster
from pactnet.federation.dispatcher import Dispatcher
from pactnet.node import open_node
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from tests.integration.conftest import LoopbackServer
from tests.web.conftest import screenshot, serious_violations, sign_in

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Page

    from pactnet.node import Node
    from tests.integration.conftest import Clock


@pytest.fixture
def rok(tmp_path: Path, clock: Clock) -> Iterator[Node]:
    """ROK's node trusting JPN's, which is never started: every envelope for JPN fails to go."""
    members = create_cluster(tmp_path, "gsomia-2019", ["ROK", "JPN"])
    opened = open_node(members["ROK"].folder, clock=clock)
    yield opened
    opened.close()


class TestPartners:
    """Each partner's lane of the outbox, in words and figures."""

    def test_an_unreachable_partner_is_failing_and_says_why(self, rok: Node, page: Page) -> None:
        author, _ = add_user(rok, "kim", "군사II급비밀", [], roles=["analyst"])
        publish(rok, author, Publication("Launch", "군사II급비밀", ["dprk-missile"], recipients=["JPN"]))
        dispatcher = Dispatcher(rok)
        try:
            dispatcher.run_once()
        finally:
            dispatcher.client.close()
        _, admin = add_user(rok, "root", "군사III급비밀", [], roles=["admin"])
        with LoopbackServer(rok) as base:
            sign_in(page, f"{base}/ui/", admin)
            page.goto(f"{base}/ui/partners")
            jpn = page.locator("tr", has=page.locator("th", has_text="JPN"))
            assert jpn.locator(".health").inner_text() == "failing"
            assert jpn.locator("td").nth(2).inner_text() == "1"  # queued
            assert "attempts" in jpn.inner_text()
            usa = page.locator("tr", has=page.locator("th", has_text="USA"))
            assert usa.locator(".health").inner_text() == "not trusted"
            assert "Launch" not in page.content()  # a lane's figures, never an item's title
            assert serious_violations(page) == []
            screenshot(page, "partners")

    def test_an_analyst_neither_sees_the_tab_nor_opens_the_page(self, analyst: Page, console: str) -> None:
        assert analyst.get_by_role("link", name="Partners").count() == 0
        answer = analyst.goto(f"{console}partners")
        assert answer is not None
        assert answer.status == 403
        assert "admin" in analyst.get_by_role("alert").inner_text()
