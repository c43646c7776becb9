"""A report in a browser: its content and marking, and for each partner the decision, its legs and the receipt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from tests.web.conftest import screenshot, serious_violations, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from pactnet.node import Node
    from tests.integration.conftest import Clock
    from tests.integration.test_federation import Federation

TITLE = "PLA Navy task group in the Korea Strait"


class TestTheDecisionTrail:
    """Allowed or refused per partner, in plain words, with the legs and what became of the envelope."""

    def test_a_delivered_report_shows_its_receipt_and_each_receivers_marking(
        self, nations: Federation, page: Page
    ) -> None:
        published = nations["ROK"].publish(
            title=TITLE, categories=["pla-navy"], recipients=["JPN", "USA"], body="six ships"
        )
        nations.dispatch()
        rok = nations["ROK"].member
        sign_in(page, f"{rok.url}/ui/", rok.token)
        page.goto(f"{rok.url}/ui/reports/{published['id']}")
        assert "six ships" in page.locator("#content-h + p").inner_text()
        jpn = page.locator("article.decision", has=page.locator("h3", has_text="ROK → JPN"))
        assert "allowed, 極秘" in jpn.locator("h3").inner_text()
        assert "under JPN-ROK-GSOMIA-2016" in jpn.inner_text()
        assert "delivered with a signed receipt" in jpn.inner_text()
        usa = page.locator("article.decision", has=page.locator("h3", has_text="ROK → USA"))
        assert "allowed, SECRET" in usa.locator("h3").inner_text()
        assert serious_violations(page) == []
        screenshot(page, "report")

    def test_a_refusal_says_why_in_plain_words(
        self, node: Node, clock: Clock, page: Page, console: str, tokens: dict[str, str]
    ) -> None:
        clock.at = datetime(2015, 6, 1, tzinfo=UTC)  # before the GSOMIA: nothing binds ROK to JPN
        author, _ = add_user(node, "writer", "군사II급비밀", ["sigint"], roles=["analyst"])
        report = Publication(TITLE, "군사II급비밀", ["pla-navy"], compartments=["sigint"], recipients=["JPN"])
        report_id = publish(node, author, report)["id"]
        sign_in(page, console, tokens["analyst"])
        page.goto(f"{console}reports/{report_id}")
        jpn = page.locator("article.decision", has=page.locator("h3", has_text="ROK → JPN"))
        assert "refused" in jpn.locator("h3").inner_text()
        assert jpn.locator("ul.reasons li").count() >= 1
        assert all(text.strip() for text in jpn.locator("ul.reasons li").all_inner_texts())

    def test_a_user_without_clearance_finds_no_such_report(
        self, node: Node, page: Page, console: str, tokens: dict[str, str]
    ) -> None:
        author, _ = add_user(node, "writer", "군사II급비밀", ["sigint"], roles=["analyst"])
        report = Publication(TITLE, "군사II급비밀", ["pla-navy"], compartments=["sigint"], recipients=["JPN"])
        report_id = publish(node, author, report)["id"]
        sign_in(page, console, tokens["uncleared"])
        answer = page.goto(f"{console}reports/{report_id}")
        assert answer is not None
        assert answer.status == 404
        assert TITLE not in page.content()
        hidden = page.get_by_role("alert").inner_text().replace(report_id, "ID")
        missing = page.goto(f"{console}reports/{'0' * 32}")
        assert missing is not None
        assert missing.status == 404
        assert page.get_by_role("alert").inner_text().replace("0" * 32, "ID") == hidden  # the same, word for word
