"""A person in a real browser signs in, is refused where their role does not reach, and signs out."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_sign_in_and_sign_out(page: Page, sign_in, live_server):
    sign_in("staff")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good to see you")
    nav = page.get_by_role("navigation", name="Main")
    for area in ["Documents", "Review", "Search", "Stock", "Orders", "Alerts"]:
        expect(nav.get_by_role("link", name=area, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Admin", exact=True)).to_have_count(0)  # staff are not admins

    page.get_by_text(live_server.users["staff"]).click()  # open the account menu
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_wrong_password_shows_a_message(page: Page, live_server):
    page.goto("/login")
    page.get_by_label("Email").fill(live_server.users["viewer"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_have_text("That email and password do not match an active account.")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_viewer_is_refused_the_users_page(page: Page, sign_in):
    sign_in("viewer")
    response = page.goto("/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this")
    expect(page.get_by_text("This needs the admin role")).to_be_visible()


def test_status_card_loads_by_itself(page: Page, sign_in):
    sign_in("viewer")
    card = page.locator("#status-card")
    for check in ["database", "queue", "storage"]:
        expect(card.locator(f'[data-check="{check}"]')).to_contain_text("working")
    # The consumer records a heartbeat as it starts and every minute; "Check again" shows it.
    worker = card.locator('[data-check="worker"]')
    for _ in range(20):
        if "last seen" in worker.inner_text():
            break
        page.wait_for_timeout(500)
        page.get_by_test_id("refresh-status").click()
    expect(worker).to_contain_text("last seen")
