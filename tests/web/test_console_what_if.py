"""What if, in a browser: the heat map of routes and the counts over the node's own reports, by clearance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from tests.web.conftest import PHONE, screenshot, serious_violations, sign_in, submit

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from pactnet.node import Node

GSOMIA = "JPN-ROK-GSOMIA-2016"
CLASSIFIED_TITLE = "PLA Navy destroyers north of Jeju"


@pytest.fixture
def published(node: Node) -> str:
    """A report of ROK's to JPN at 군사II급비밀 in 'sigint', on a category only the GSOMIA carries."""
    author, _ = add_user(node, "writer", "군사II급비밀", ["sigint"], roles=["analyst"])
    report = Publication(
        CLASSIFIED_TITLE, "군사II급비밀", ["pla-navy"], compartments=["sigint"], body="three ships", recipients=["JPN"]
    )
    return str(publish(node, author, report)["id"])


def _ask(page: Page, console: str, pact: str, at: str) -> None:
    page.goto(f"{console}what-if")
    page.get_by_label("Agreement").select_option(pact)
    page.get_by_role("textbox", name="ending at").fill(at)
    submit(page.get_by_role("button", name="Show the impact"))


class TestTheHeatMap:
    """Ending the GSOMIA cuts ROK and JPN apart on what only it carries, and sends the rest through USA."""

    @pytest.mark.usefixtures("published")
    def test_the_gsomia_ending_moves_routes_and_the_counts_say_so(self, analyst: Page, console: str) -> None:
        _ask(analyst, console, GSOMIA, "2024-08-01T12:00:00+09:00")
        heat = analyst.locator("table.heat")
        row = heat.locator("tr", has=analyst.locator("th", has_text="ROK → JPN"))
        headers = heat.locator("thead th").all_inner_texts()
        navy = row.locator("td").nth(headers.index("pla-navy") - 1)
        missile = row.locator("td").nth(headers.index("dprk-missile") - 1)
        assert "changed" in (navy.get_attribute("class") or "")
        assert "direct before, none after" in navy.inner_text()
        assert "direct before, through a hub after" in missile.inner_text()
        counts = analyst.locator("table.counts tbody tr")
        assert counts.nth(0).locator("td").all_inner_texts() == ["2", "0", "0"]  # to JPN and to USA, both direct
        assert counts.nth(1).locator("td").all_inner_texts() == ["1", "0", "1"]  # USA still direct; JPN cut off
        assert CLASSIFIED_TITLE in analyst.locator("main").inner_text()
        assert serious_violations(analyst) == []
        screenshot(analyst, "what-if")
        analyst.set_viewport_size(PHONE)
        assert analyst.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert serious_violations(analyst) == []

    def test_a_user_without_clearance_is_told_nothing_of_the_report(
        self, page: Page, console: str, tokens: dict[str, str], published: str
    ) -> None:
        sign_in(page, console, tokens["uncleared"])
        _ask(page, console, GSOMIA, "2024-08-01")
        content = page.content()
        assert CLASSIFIED_TITLE not in content
        assert published not in content
        assert "Flows of the 0 reports" in page.locator("table.counts caption").inner_text()

    def test_an_unknown_agreement_is_a_404_page_that_names_it(self, analyst: Page, console: str) -> None:
        response = analyst.goto(f"{console}what-if?agreement=NOPE&at=2024-08-01")
        assert response is not None
        assert response.status == 404
        assert "NOPE" in analyst.get_by_role("alert").inner_text()
