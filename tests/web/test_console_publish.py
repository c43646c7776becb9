"""Publish in a browser: the decisions shown before sending, nothing stored until Publish, then the trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from pactnet.store.tables import reports
from tests.web.conftest import screenshot, serious_violations, sign_in, submit

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from pactnet.node import Node

TITLE = "KN-23 launch, Sea of Japan"


def _stored(node: Node) -> int:
    with node.uow.read() as connection:
        return int(connection.execute(select(func.count()).select_from(reports)).scalar_one())


def _fill(page: Page) -> None:
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Level (ROK's scheme)").select_option("군사II급비밀")
    page.get_by_label("Precedence").select_option("immediate")
    page.get_by_label("dprk-missile").check()
    page.get_by_label("sigint").check()
    page.get_by_label("Content").fill("two missiles, 600 km")


class TestPublishing:
    """The form offers the party's own scheme; the preview decides without storing."""

    def test_the_preview_says_how_each_partner_would_get_it_and_stores_nothing(
        self, analyst: Page, console: str, node: Node
    ) -> None:
        analyst.goto(f"{console}publish")
        _fill(analyst)
        submit(analyst.get_by_role("button", name="Preview the decisions"))
        said = analyst.locator("section.preview li").all_inner_texts()
        assert said == ["JPN: direct, 極秘", "USA: direct, SECRET"]
        assert _stored(node) == 0
        assert analyst.get_by_label("Title").input_value() == TITLE  # the form keeps what was typed
        assert serious_violations(analyst) == []
        screenshot(analyst, "publish")
        submit(analyst.get_by_role("button", name="Publish", exact=True))
        analyst.wait_for_url("**/ui/reports/*")
        assert _stored(node) == 1
        jpn = analyst.locator("article.decision", has=analyst.locator("h3", has_text="ROK → JPN"))
        assert "allowed, 極秘" in jpn.locator("h3").inner_text()

    def test_the_same_form_sent_twice_is_published_once_and_changed_it_is_another_report(
        self, analyst: Page, console: str, node: Node
    ) -> None:
        analyst.goto(f"{console}publish")
        _fill(analyst)
        # What a double click or a reload that posts again does: the page's form, as it stands, sent twice.
        send_the_form = """async () => {
            const form = document.querySelector("form.publish");
            const answer = await fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form))});
            return answer.url;
        }"""
        first, again = analyst.evaluate(send_the_form), analyst.evaluate(send_the_form)
        assert "/ui/reports/" in first
        assert again == first
        assert _stored(node) == 1
        analyst.get_by_label("Title").fill(f"{TITLE}, corrected")
        assert analyst.evaluate(send_the_form) != first
        assert _stored(node) == 2

    def test_a_level_above_the_users_clearance_is_not_offered(
        self, page: Page, console: str, tokens: dict[str, str]
    ) -> None:
        sign_in(page, console, tokens["uncleared"])
        page.goto(f"{console}publish")
        offered = page.get_by_label("Level (ROK's scheme)").locator("option").all_inner_texts()
        assert "군사II급비밀" not in offered
        assert "군사III급비밀" in offered

    def test_without_recipients_nothing_is_published_and_the_page_says_why(
        self, analyst: Page, console: str, node: Node
    ) -> None:
        analyst.goto(f"{console}publish")
        _fill(analyst)
        analyst.get_by_label("JPN").uncheck()
        analyst.get_by_label("USA").uncheck()
        submit(analyst.get_by_role("button", name="Publish", exact=True))
        assert "Recipients" in analyst.get_by_role("alert").inner_text()
        assert _stored(node) == 0

    def test_an_auditor_may_not_publish(self, page: Page, console: str, tokens: dict[str, str]) -> None:
        sign_in(page, console, tokens["auditor"])
        answer = page.goto(f"{console}publish")
        assert answer is not None
        assert answer.status == 403
