"""The agreements in a browser: the GSOMIA's 2016-2023 story read from its timeline, and the network."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import PHONE, screenshot, serious_violations, submit

if TYPE_CHECKING:
    from playwright.sync_api import Page

GSOMIA = "JPN-ROK-GSOMIA-2016"


class TestTheTimeline:
    """Each agreement's picture tells its story: renewals, the notice, its suspension, its withdrawal."""

    def test_the_gsomia_story_is_in_the_picture(self, analyst: Page, console: str) -> None:
        analyst.goto(f"{console}agreements/{GSOMIA}")
        chart = analyst.locator("svg.timeline")
        labels = chart.locator("text.event").all_text_contents()
        assert any(text.startswith("2019-08-23") and "notice of termination by ROK" in text for text in labels)
        assert any(text.startswith("2019-11-22") and "notice suspended" in text for text in labels)
        assert any(text.startswith("2023-03-21") and "notice withdrawn" in text for text in labels)
        bands = chart.locator("rect.band")
        assert bands.locator("xpath=self::*[contains(@class, 'notice-pending')]").count() == 1
        assert bands.locator("xpath=self::*[contains(@class, 'notice-suspended')]").count() >= 1
        assert chart.locator("line.term-end").count() >= 7  # a renewal each November, 2017 to 2023
        assert "term ends in" in (chart.locator("text.now-label").text_content() or "")
        assert serious_violations(analyst) == []
        screenshot(analyst, "agreement-timeline")

    def test_the_list_shows_every_agreement_rok_is_in_and_only_those(self, analyst: Page, console: str) -> None:
        analyst.goto(f"{console}agreements")
        headings = analyst.locator("main h2").all_inner_texts()
        assert GSOMIA in headings
        assert "USA-JPN-GSOMIA-2007" not in headings  # ROK is not a party to it
        assert serious_violations(analyst) == []
        screenshot(analyst, "agreements")

    def test_the_list_is_readable_on_a_phone(self, analyst: Page, console: str) -> None:
        analyst.set_viewport_size(PHONE)
        analyst.goto(f"{console}agreements")
        width = analyst.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # the charts scroll inside their frames; the page itself does not
        assert serious_violations(analyst) == []
        screenshot(analyst, "agreements-phone")


class TestTheNetwork:
    """The parties and pacts, coloured by their state at the instant asked."""

    def test_in_the_autumn_of_2019_the_gsomia_carries_a_pending_notice(self, analyst: Page, console: str) -> None:
        analyst.goto(f"{console}network")
        analyst.get_by_role("textbox", name="Instant").fill("2019-10-01")
        submit(analyst.get_by_role("button", name="Show"))
        link = analyst.locator("svg.network line.link", has=analyst.locator(f"title:text-matches('{GSOMIA}')"))
        assert "notice-pending" in (link.get_attribute("class") or "")
        assert serious_violations(analyst) == []
        screenshot(analyst, "network")

    def test_a_bad_instant_is_named_with_how_to_write_it(self, analyst: Page, console: str) -> None:
        response = analyst.goto(f"{console}network?at=yesterday")
        assert response is not None
        assert response.status == 422
        assert "RFC 3339" in analyst.get_by_role("alert").inner_text()
