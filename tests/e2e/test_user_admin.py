"""An admin adds a colleague, changes their role in place and deactivates them, in the browser."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_admin_manages_a_user(page: Page, sign_in, live_server, browser):
    sign_in("admin")
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="Users").click()

    page.get_by_text("Add a user").click()
    page.get_by_label("Email").fill("new.starter@example.com")
    page.get_by_label("Role", exact=True).select_option("staff")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_test_id("user-created")).to_contain_text("new.starter@example.com can now sign in as staff")
    password = page.get_by_test_id("generated-password").inner_text()
    page.wait_for_load_state()  # htmx (deferred) runs at load; a click before it posts the plain form (303)

    row = page.locator('tr[data-email="new.starter@example.com"]')
    row.get_by_label("Role of new.starter@example.com").select_option("viewer")
    with page.expect_response(re.compile(r"/role$")) as answer:
        row.get_by_role("button", name="Save role").click()
    assert answer.value.status == 200
    expect(row.get_by_label("Role of new.starter@example.com")).to_have_value("viewer")
    assert page.url.endswith("/admin/users")  # swapped in place, no navigation

    # The new colleague can sign in with the shown password, in their own browser.
    other = browser.new_context(base_url=live_server.url)
    colleague = other.new_page()
    colleague.goto("/login")
    colleague.get_by_label("Email").fill("new.starter@example.com")
    colleague.get_by_label("Password").fill(password)
    colleague.get_by_role("button", name="Sign in").click()
    expect(colleague.get_by_role("heading", level=1)).to_contain_text("Good to see you")

    row.get_by_role("button", name="Deactivate").click()
    expect(row).to_contain_text("Deactivated")
    colleague.reload()
    expect(colleague).to_have_url(re.compile(r"/login"))
    other.close()
