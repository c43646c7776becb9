"""Inboxes in a browser: ROK's officer answers JPN's request to pass ROK's report on to USA, over real nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import screenshot, serious_violations, sign_in, submit

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.integration.test_federation import Federation

PURPOSE = "USFK needs the track for its own warning"
TITLE = "Launch from Sinpo, SLBM"


def _jpn_asks(nations: Federation) -> None:
    """ROK publishes to JPN; JPN, holding it, asks ROK for consent to pass it on to USA."""
    published = nations["ROK"].publish(title=TITLE, recipients=["JPN"])
    nations.dispatch()
    copy = nations["JPN"].received("ROK", published["id"])[0]
    nations["JPN"].post(f"/api/v1/reports/{copy.id}/consent-requests", {"to": "USA", "purpose": PURPOSE})
    nations.dispatch()


class TestAnsweringConsent:
    """The originator's officer reads the request with its title and purpose, and answers it."""

    def test_the_officer_grants_and_the_holder_learns_it(self, nations: Federation, page: Page) -> None:
        _jpn_asks(nations)
        rok = nations["ROK"].member
        sign_in(page, f"{rok.url}/ui/", rok.token)
        page.goto(f"{rok.url}/ui/inboxes")
        request = page.locator("article.request", has=page.locator("h3", has_text=TITLE))
        assert PURPOSE in request.inner_text()
        assert "pending" in request.inner_text()
        assert serious_violations(page) == []
        screenshot(page, "inboxes")
        request.get_by_label("Grant consent to release it to USA").check()
        submit(request.get_by_role("button", name="Send the answer"))
        page.wait_for_url(f"{rok.url}/ui/inboxes")
        assert "granted" in page.locator("article.request", has=page.locator("h3", has_text=TITLE)).inner_text()
        nations.dispatch()
        asked = nations["JPN"].get("/api/v1/consent-requests")
        assert [(one["direction"], one["state"]) for one in asked] == [("outgoing", "granted")]

    def test_refusing_needs_a_reason(self, nations: Federation, page: Page) -> None:
        _jpn_asks(nations)
        rok = nations["ROK"].member
        sign_in(page, f"{rok.url}/ui/", rok.token)
        page.goto(f"{rok.url}/ui/inboxes")
        request = page.locator("article.request", has=page.locator("h3", has_text=TITLE))
        request.get_by_label("Refuse", exact=True).check()
        submit(request.get_by_role("button", name="Send the answer"))
        assert "reason" in page.get_by_role("alert").inner_text()
        page.goto(f"{rok.url}/ui/inboxes")
        assert "pending" in page.locator("article.request").inner_text()
