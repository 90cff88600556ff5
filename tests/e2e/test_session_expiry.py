"""An expired session on an htmx request sends the whole page to sign-in, never a fragment."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support import services
from tests.support.live_server import dedicated_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def short_session_server(tmp_path_factory, worker_suffix):
    """A second live server whose sessions expire after three seconds."""
    name = f"{services.database_name(services.TEST_DATABASE_URL)}_qm_expiry_{worker_suffix}"
    with dedicated_server(tmp_path_factory.mktemp("expiry"), name, QM_SESSION_MINUTES="0.05") as server:
        yield server


def test_expired_session_on_an_htmx_request_redirects_the_page(page: Page, short_session_server):
    server = short_session_server
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(server.users["staff"])
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator('#status-card [data-check="database"]')).to_contain_text("working")

    page.wait_for_timeout(3500)  # the session's three seconds pass without a request
    page.get_by_test_id("refresh-status").click()  # an htmx GET for the status fragment

    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert page.locator("#status-card form").count() == 0  # no login form swapped into the card
