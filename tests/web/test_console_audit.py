"""The audit log in a browser: verified up to the last entry, filterable, redacted by clearance as the API does."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from tests.web.conftest import screenshot, serious_violations, sign_in, submit

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from pactnet.node import Node

TITLE = "Submarine signals near Sinpo"


@pytest.fixture
def published(node: Node) -> str:
    """A report at 군사II급비밀 in 'sigint', and so its publish and decide entries in the log."""
    author, _ = add_user(node, "writer", "군사II급비밀", ["sigint"], roles=["analyst"])
    report = Publication(TITLE, "군사II급비밀", ["dprk-missile"], compartments=["sigint"], recipients=["JPN"])
    return str(publish(node, author, report)["id"])


class TestTheAuditPage:
    """An auditor reads the log as the API shows it to them."""

    def test_a_cleared_auditor_sees_the_log_verified_and_the_entries_whole(
        self, page: Page, console: str, tokens: dict[str, str], published: str
    ) -> None:
        sign_in(page, console, tokens["auditor"])
        page.goto(f"{console}audit")
        assert "verified" in page.locator("#verify-h + p").inner_text()
        assert published in page.content()
        assert page.locator("tr.redacted").count() == 0
        assert "군사II급비밀" in page.locator("table.audit").inner_text()  # labels in their own script
        assert serious_violations(page) == []
        screenshot(page, "audit")

    def test_an_uncleared_auditor_sees_that_something_happened_not_what(
        self, page: Page, console: str, node: Node, published: str
    ) -> None:
        _, token = add_user(node, "junior", "군사III급비밀", [], roles=["auditor"])
        sign_in(page, console, token)
        page.goto(f"{console}audit")
        content = page.content()
        assert published not in content
        assert TITLE not in content
        kinds = page.locator("tr.redacted td:nth-child(3)").all_inner_texts()
        assert {"publish", "decide"} <= set(kinds)

    def test_the_entries_can_be_filtered_by_kind(
        self, page: Page, console: str, tokens: dict[str, str], published: str
    ) -> None:
        sign_in(page, console, tokens["auditor"])
        page.goto(f"{console}audit")
        page.get_by_label("Kind").fill("publish")
        submit(page.get_by_role("button", name="Show"))
        kinds = page.locator("table.audit tbody td:nth-child(3)").all_inner_texts()
        assert kinds == ["publish"]
        assert published in page.content()

    def test_a_bad_entry_number_is_named(self, page: Page, console: str, tokens: dict[str, str]) -> None:
        sign_in(page, console, tokens["auditor"])
        answer = page.goto(f"{console}audit?after=ten")
        assert answer is not None
        assert answer.status == 422
        assert "whole number" in page.get_by_role("alert").inner_text()

    def test_an_analyst_may_not_read_the_log(self, analyst: Page, console: str) -> None:
        answer = analyst.goto(f"{console}audit")
        assert answer is not None
        assert answer.status == 403
        assert "auditor" in analyst.get_by_role("alert").inner_text()
