"""Every page at 390 px and at 1280 px: axe-core finds nothing serious, and the page never scrolls sideways."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pactnet.services.reports import Publication, publish
from pactnet.services.users import add_user
from tests.web.conftest import PHONE, WIDE, serious_violations, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from pactnet.node import Node

GSOMIA = "JPN-ROK-GSOMIA-2016"
# (who, path): every page of the console, as a user who may open it.
PAGES = [
    ("analyst", "agreements"),
    ("analyst", f"agreements/{GSOMIA}"),
    ("analyst", "network?at=2019-10-01"),
    ("analyst", f"what-if?agreement={GSOMIA}&at=2019-11-23"),
    ("analyst", "traffic"),
    ("analyst", "publish"),
    ("analyst", "reports/{report}"),
    ("analyst", "inboxes"),
    ("officer", f"agreements/{GSOMIA}/acts"),
    ("auditor", "audit"),
    ("admin", "partners"),
    ("analyst", "no-such-page"),
    ("analyst", f"agreements/{GSOMIA}/acts"),  # the 403 page
]


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{who}:{path.split('?')[0]}" for who, path in PAGES])
def test_the_page_is_accessible_and_fits_a_phone(
    who: str, path: str, node: Node, page: Page, console: str, tokens: dict[str, str]
) -> None:
    author, _ = add_user(node, "writer", "군사II급비밀", ["sigint"], roles=["analyst"])
    report = Publication("Launch", "군사II급비밀", ["dprk-missile"], compartments=["sigint"], recipients=["JPN"])
    report_id = publish(node, author, report)["id"]
    token = tokens.get(who) or add_user(node, "root", "군사III급비밀", [], roles=[who])[1]
    sign_in(page, console, token)
    for size in (PHONE, WIDE):
        page.set_viewport_size(size)
        page.goto(console + path.format(report=report_id))
        assert serious_violations(page) == [], (size, path)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], (size, path)
