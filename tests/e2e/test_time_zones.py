"""A browser in New York signs in for the first time: from then on its person reads New York time."""

import re
import uuid

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.e2e


def test_the_first_sign_in_brings_the_browsers_time_zone(browser: Browser, live_server):
    email = f"traveller-{uuid.uuid4().hex[:6]}@example.com"  # a person of their own: the shared ones stay as they are
    live_server.flask("users", "create", email, "--role", "viewer", "--password-stdin", input=live_server.password)
    context = browser.new_context(base_url=live_server.url, timezone_id="America/New_York")
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("input[data-browser-time-zone]")).to_have_value("America/New_York")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(live_server.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server.url + "/")
        expect(page.get_by_test_id("counted-at")).to_contain_text(re.compile(r"\d\d:\d\d E[SD]T"))  # New York's clock

        page.goto("/account")
        expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
        expect(page.get_by_test_id("time-zone-hint")).not_to_contain_text("until you choose one")
    finally:
        context.close()
