"""At 390 px (a phone held at the shelf) the pages of alerts, notices, trash and system status fit the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

PAGES = ["/alerts", "/notifications", "/account", "/documents/trash", "/admin/system", "/stock", "/"]


def test_no_page_scrolls_sideways_on_a_phone(page: Page, live_server, sign_in):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("admin")
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
        page.locator("details.dropdown summary").click()  # the account menu, with sign-out, is on screen
        sign_out = page.get_by_test_id("sign-out").bounding_box()
        assert sign_out is not None
        assert sign_out["x"] >= 0
        assert sign_out["x"] + sign_out["width"] <= 390, f"sign-out is off-screen on {path}"
