"""The console in a real browser: a real node on loopback, Debian's chromium driven by Playwright, axe-core.

Nothing here downloads a browser: chromium is Debian's (`scripts/setup` installs it), reached by its path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped] # the package ships no types
from playwright.sync_api import sync_playwright

from pactnet.cluster import create_cluster
from pactnet.node import Node, init_node, open_node
from pactnet.services.users import add_user
from tests.integration.conftest import Clock, LoopbackServer
from tests.integration.test_federation import FAST_RETRIES, Federation, Site

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Locator, Page, ViewportSize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
# After the whole GSOMIA story of the bundled world (2016-2023): every band of its timeline is in the past.
NOW = datetime(2024, 8, 1, 3, 0, tzinfo=UTC)
WIDE: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def node(tmp_path: Path, clock: Clock) -> Iterator[Node]:
    """ROK's node on the bundled GSOMIA world, on SQLite (the databases are tested under tests/integration)."""
    folder = tmp_path / "rok"
    init_node(folder, "gsomia-2019", "ROK", None)
    opened = open_node(folder, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def console(node: Node) -> Iterator[str]:
    """The node served on a free loopback port; the console's base URL (`http://127.0.0.1:PORT/ui/`)."""
    with LoopbackServer(node) as base_url:
        yield f"{base_url}/ui/"


@pytest.fixture
def nations(tmp_path: Path) -> Iterator[Federation]:
    """JPN, ROK and USA nodes in this process on loopback at NOW, each with its officer (`nations[code].member`).

    Their dispatchers run only when a test calls `nations.dispatch()`: what travels, and when, is the test's.
    """
    members = create_cluster(tmp_path / "nations", "gsomia-2019", ["JPN", "ROK", "USA"], None, FAST_RETRIES)
    clock = Clock(NOW)
    made = Federation({code: Site(members[code], clock) for code in members}, clock)
    try:
        for site in made.sites.values():
            site.up()
        yield made
    finally:
        made.close()


@pytest.fixture
def tokens(node: Node) -> dict[str, str]:
    """A token for each kind of user the tests sign in as."""
    made = {
        "analyst": add_user(node, "kim", "군사II급비밀", ["sigint"], roles=["analyst"]),
        "officer": add_user(node, "park", "군사II급비밀", ["sigint"], roles=["officer"]),
        "uncleared": add_user(node, "lee", "군사III급비밀", [], roles=["analyst"]),
        "auditor": add_user(node, "choi", "군사II급비밀", ["sigint"], roles=["auditor"]),
    }
    return {kind: token for kind, (_, token) in made.items()}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, with nothing talking to the network but the pages under test."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at 1280 px wide."""
    context = browser.new_context(viewport=WIDE, locale="en-GB")
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, console: str, token: str) -> None:
    """Sign in through the form, as a person does: the token typed into the password field."""
    page.goto(f"{console}sign-in")
    page.get_by_label("API token").fill(token)
    submit(page.get_by_role("button", name="Sign in"))


def submit(button: Locator) -> None:
    """Click a form's button and wait for the page it answers with.

    A click returns once the event is dispatched, before the browser has the answer; reading the page then
    reads the old one, and `wait_for_load_state` returns at once because the old page is already loaded.
    """
    with button.page.expect_navigation():
        button.click()


@pytest.fixture
def analyst(page: Page, console: str, tokens: dict[str, str]) -> Page:
    """The page, signed in as an analyst cleared to 군사II급비밀 with 'sigint'."""
    sign_in(page, console, tokens["analyst"])
    return page


_AXE = Axe()
_SERIOUS = frozenset({"serious", "critical"})


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (axe-core ships in the package)."""
    results = _AXE.run(page)
    return [
        {"id": item["id"], "impact": item["impact"], "nodes": [node["target"] for node in item["nodes"]][:5]}
        for item in results.response["violations"]
        if item["impact"] in _SERIOUS
    ]


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for docs/screenshots (committed, shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
