"""Who gets in, and what a session may do: sign in and out, CSRF, expiry, duties and clearance, fail closed."""

from __future__ import annotations

import re
import ssl
import subprocess
from typing import TYPE_CHECKING

import httpx

from pactnet.services.roles import DUTIES, Role
from pactnet.services.sessions import LIFETIME, current
from pactnet.services.sessions import sign_in as sign_in_session
from pactnet.services.users import add_user
from pactnet.web.guard import SESSION_COOKIE
from tests.certificates import make_server_files
from tests.integration.conftest import LoopbackServer
from tests.integration.test_roles import _routes
from tests.web.conftest import screenshot, serious_violations, sign_in, submit

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Browser, Page

    from pactnet.node import Node
    from tests.integration.conftest import Clock

GSOMIA = "JPN-ROK-GSOMIA-2016"


def _session_id(page: Page) -> str:
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    return str(cookies[SESSION_COOKIE]["value"])


def _notice(node: Node) -> str:
    return node.world.agreements[GSOMIA].history.status(node.now()).notice.value


class TestSigningIn:
    """A token in a password field starts a session held in a cookie the page's scripts cannot read."""

    def test_the_form_asks_for_a_token_in_a_password_field(self, page: Page, console: str) -> None:
        page.goto(f"{console}sign-in")
        field = page.get_by_label("API token")
        assert field.get_attribute("type") == "password"
        assert serious_violations(page) == []
        screenshot(page, "sign-in")

    def test_a_token_starts_a_session_in_an_httponly_strict_cookie(
        self, page: Page, console: str, tokens: dict[str, str], node: Node
    ) -> None:
        sign_in(page, console, tokens["analyst"])
        assert page.url.endswith("/ui/agreements")
        cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["secure"] is False  # served over plain HTTP here; Secure over TLS
        assert page.evaluate("document.cookie") == ""
        assert tokens["analyst"] not in page.content()
        assert current(node, cookie["value"]) is not None

    def test_a_wrong_token_signs_no_one_in(self, page: Page, console: str) -> None:
        sign_in(page, console, "pn_not-a-token")
        assert "not valid" in page.get_by_role("alert").inner_text()
        assert SESSION_COOKIE not in {cookie["name"] for cookie in page.context.cookies()}
        assert page.goto(f"{console}agreements") is not None
        assert page.url.endswith("/ui/sign-in")

    def test_without_a_session_every_page_sends_you_to_sign_in(self, console: str) -> None:
        with httpx.Client() as client:
            for path in ("", "agreements", f"agreements/{GSOMIA}", "network", "what-if"):
                answer = client.get(f"{console}{path}")
                assert answer.status_code == 303, path
                assert answer.headers["location"] == "/ui/sign-in"


class TestSigningOut:
    """Signing out ends the session on the server, whatever the browser keeps."""

    def test_after_signing_out_the_old_cookie_opens_nothing(self, analyst: Page, console: str, node: Node) -> None:
        session_id = _session_id(analyst)
        submit(analyst.get_by_role("button", name="Sign out"))
        assert analyst.url.endswith("/ui/sign-in")
        assert current(node, session_id) is None
        with httpx.Client(cookies={SESSION_COOKIE: session_id}) as replay:
            answer = replay.get(f"{console}agreements")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/sign-in"


class TestExpiry:
    """A session lives eight hours from sign-in; after that it fails closed."""

    def test_an_expired_session_is_sent_to_sign_in(self, analyst: Page, console: str, clock: Clock) -> None:
        clock.advance(seconds=LIFETIME.total_seconds() - 60)
        analyst.goto(f"{console}agreements")
        assert analyst.url.endswith("/ui/agreements")
        clock.advance(seconds=61)
        analyst.goto(f"{console}agreements")
        assert analyst.url.endswith("/ui/sign-in")


class TestCsrf:
    """A form whose CSRF field is not the session's secret does nothing."""

    def test_a_forged_token_is_refused_and_the_real_one_records_the_act(
        self, page: Page, console: str, tokens: dict[str, str], node: Node
    ) -> None:
        sign_in(page, console, tokens["officer"])
        page.goto(f"{console}agreements/{GSOMIA}/acts")
        assert serious_violations(page) == []
        page.locator("main input[name=csrf]").evaluate("field => { field.value = 'forged' }")
        page.get_by_label("Give notice of termination").check()
        submit(page.get_by_role("button", name="Record the act"))
        assert "security token" in page.get_by_role("alert").inner_text()
        assert _notice(node) == "none"
        page.goto(f"{console}agreements/{GSOMIA}/acts")
        page.get_by_label("Give notice of termination").check()
        submit(page.get_by_role("button", name="Record the act"))
        assert page.url.endswith(f"/ui/agreements/{GSOMIA}")
        assert _notice(node) == "pending"

    def test_signing_out_needs_the_csrf_token_too(self, analyst: Page, console: str, node: Node) -> None:
        session_id = _session_id(analyst)
        answer = analyst.request.post(f"{console}sign-out", form={"csrf": "forged"})
        assert answer.status == 403
        assert current(node, session_id) is not None

    def test_a_sign_in_form_posted_from_elsewhere_is_refused(self, console: str, tokens: dict[str, str]) -> None:
        with httpx.Client() as client:
            answer = client.post(f"{console}sign-in", data={"token": tokens["analyst"], "csrf": "guess"})
        assert answer.status_code == 403
        assert SESSION_COOKIE not in answer.cookies


class TestDuties:
    """The same roles as the API: an analyst cannot reach an officer's form, by link or by post."""

    def test_an_analyst_gets_a_403_page_naming_the_officer(self, analyst: Page, console: str, node: Node) -> None:
        answer = analyst.goto(f"{console}agreements/{GSOMIA}/acts")
        assert answer is not None
        assert answer.status == 403
        assert "officer" in analyst.get_by_role("alert").inner_text()
        assert serious_violations(analyst) == []
        analyst.goto(f"{console}agreements/{GSOMIA}")
        assert analyst.get_by_role("link", name=re.compile("Record an act")).count() == 0
        csrf = analyst.locator("input[name=csrf]").first.get_attribute("value")
        posted = analyst.request.post(
            f"{console}agreements/{GSOMIA}/acts", form={"csrf": csrf or "", "act": "notify_termination"}
        )
        assert posted.status == 403
        assert _notice(node) == "none"


class TestEveryPage:
    """Each console route that needs a duty refuses a live session whose roles lack it, with a 403 page."""

    def test_each_route_refuses_a_session_without_its_duty(self, node: Node, console: str) -> None:
        checked = 0
        for method, path, duty in _routes(node):
            if duty is None or not path.startswith("/ui/"):
                continue
            lacking = [role for role in Role if duty not in DUTIES[role]]
            if not lacking:  # a duty every role carries (seeing the agreements)
                continue
            _, token = add_user(node, f"web{checked}", "군사I급비밀", ["sigint"], roles=[lacking[0]])
            session = sign_in_session(node, token)
            assert session is not None
            with httpx.Client(cookies={SESSION_COOKIE: session.id}) as client:
                url = console.removesuffix("/ui/") + re.sub(r"\{[^}]+\}", GSOMIA, path)
                answer = client.request(method, url, data={"csrf": session.csrf, "act": "notify_termination"})
            assert answer.status_code == 403, (method, path, answer.text[:200])
            assert "text/html" in answer.headers["content-type"]
            checked += 1
        assert checked >= 2  # the officer's form and its post
        assert _notice(node) == "none"


class TestOverTls:
    """Served over TLS, the session cookie is Secure as well."""

    def test_the_session_cookie_is_secure_over_https(self, node: Node, tokens: dict[str, str], tmp_path: Path) -> None:
        files = make_server_files(tmp_path / "tls", "rok")
        trusted = ssl.create_default_context(cafile=str(files.ca))
        with LoopbackServer(node, files) as base, httpx.Client(verify=trusted) as client:
            form = client.get(f"{base}/ui/sign-in")
            secret = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert secret is not None
            answer = client.post(f"{base}/ui/sign-in", data={"token": tokens["analyst"], "csrf": secret.group(1)})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "pactnet_session=" in cookie
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie


class TestUnknownPaths:
    """A path the console does not have is a 404 page, not the API's JSON; the stylesheet is still served."""

    def test_an_unknown_page_is_a_page_that_says_so(self, analyst: Page, console: str) -> None:
        answer = analyst.goto(f"{console}no-such-page")
        assert answer is not None
        assert answer.status == 404
        assert "/ui/no-such-page" in analyst.get_by_role("alert").inner_text()
        assert serious_violations(analyst) == []
        css = analyst.request.get(f"{console}static/console.css")
        assert css.status == 200
        assert "text/css" in css.headers["content-type"]


class TestKeyboardAndScripts:
    """Everything works by keyboard alone, and without JavaScript."""

    def test_signing_in_and_reaching_what_if_by_keyboard_alone(
        self, page: Page, console: str, tokens: dict[str, str]
    ) -> None:
        page.goto(f"{console}sign-in")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "token"
        page.keyboard.type(tokens["analyst"])
        page.keyboard.press("Enter")
        page.wait_for_url("**/ui/agreements")
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "What if":
                break
        page.keyboard.press("Enter")
        page.wait_for_url("**/ui/what-if")

    def test_every_page_works_with_javascript_off(self, browser: Browser, console: str, tokens: dict[str, str]) -> None:
        context = browser.new_context(java_script_enabled=False)
        try:
            page = context.new_page()
            sign_in(page, console, tokens["analyst"])
            assert page.url.endswith("/ui/agreements")
            page.goto(f"{console}what-if?agreement={GSOMIA}&at=2019-11-23")
            assert page.locator("table.heat tbody tr").count() == 6
            submit(page.get_by_role("button", name="Sign out"))
            page.wait_for_url("**/ui/sign-in")
        finally:
            context.close()


class TestScripts:
    """Korean and Japanese labels need CJK fonts on the machine the browser runs on."""

    def test_the_machine_has_japanese_and_korean_fonts(self) -> None:
        for language in ("ja", "ko"):
            listed = subprocess.run(["fc-list", f":lang={language}"], capture_output=True, text=True, check=True)
            assert listed.stdout.strip(), f"no font for {language}: apt-get install fonts-noto-cjk (scripts/setup)"
