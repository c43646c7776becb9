"""Traffic in a browser: published at ROK, a report appears live at JPN's console; nothing tells of what is hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import expect

from pactnet.services import traffic
from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from tests.web.conftest import screenshot, serious_violations, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from pactnet.node import Node
    from tests.integration.test_federation import Federation

TITLE = "Ballistic missile launch from Hodo peninsula"


class TestLiveTraffic:
    """The page updates itself over server-sent events as reports move."""

    def test_a_report_published_at_rok_appears_at_jpn_without_a_reload(self, nations: Federation, page: Page) -> None:
        jpn = nations["JPN"].member
        sign_in(page, f"{jpn.url}/ui/", jpn.token)
        page.goto(f"{jpn.url}/ui/traffic")
        expect(page.locator("#live-status")).to_have_text("Live: updates as reports move.", timeout=15_000)
        page.evaluate("window.notReloaded = true")
        published = nations["ROK"].publish(title=TITLE, precedence="flash", recipients=["JPN", "USA"])
        nations.dispatch()
        row = page.locator("#traffic-rows tr", has=page.locator("a", has_text=TITLE))
        expect(row).to_be_visible(timeout=20_000)
        assert page.evaluate("window.notReloaded") is True  # swapped in by the script, not a page load
        assert "in, from ROK" in row.inner_text()
        assert "極秘" in row.inner_text()  # marked in JPN's own scheme
        assert serious_violations(page) == []
        screenshot(page, "traffic")
        rok = nations["ROK"].member
        sign_in(page, f"{rok.url}/ui/", rok.token)
        page.goto(f"{rok.url}/ui/traffic")
        sent = page.locator("#traffic-rows tr", has=page.locator(f"a[href='/ui/reports/{published['id']}']"))
        assert "JPN: ROK → JPN, delivered with receipt" in sent.inner_text()
        assert "USA: ROK → USA, delivered with receipt" in sent.inner_text()

    def test_a_refused_transfer_is_listed_with_why(
        self, node: Node, page: Page, console: str, tokens: dict[str, str]
    ) -> None:
        author, _ = add_user(node, "writer", "군사II급비밀", ["sigint"], roles=["analyst"])
        report = Publication(
            TITLE, "군사II급비밀", ["dprk-missile"], compartments=["sigint"], rel_to=["USA"], recipients=["USA", "JPN"]
        )
        publish(node, author, report)
        sign_in(page, console, tokens["analyst"])
        page.goto(f"{console}traffic")
        row = page.locator("#traffic-rows tr", has=page.locator("a", has_text=TITLE))
        assert "USA: ROK → USA, queued" in row.inner_text()
        assert "JPN: refused" in row.inner_text()


class TestNothingLeaks:
    """A report above a user's clearance changes neither their rows nor the fingerprint their stream watches."""

    def test_an_uncleared_users_view_does_not_change(self, node: Node) -> None:
        cleared, _ = add_user(node, "kim2", "군사II급비밀", ["sigint"], roles=["analyst"])
        uncleared, _ = add_user(node, "lee2", "군사III급비밀", [], roles=["analyst"])
        before = traffic.digest(node, uncleared), traffic.digest(node, cleared)
        report = Publication(TITLE, "군사II급비밀", ["dprk-missile"], compartments=["sigint"], recipients=["JPN"])
        publish(node, cleared, report)
        assert traffic.digest(node, uncleared) == before[0]
        assert traffic.digest(node, cleared) != before[1]
        assert traffic.traffic(node, uncleared) == []
