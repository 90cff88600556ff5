"""The start page's counts in a real browser: cards in a grid at desk and phone width, a poll every 30 s,
links that work with JavaScript off, and no call to action a viewer cannot take."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

COUNTS = ["review", "processing", "failed", "uploaded", "low", "alerts", "draft", "placed"]


def _boxes(page: Page) -> list[dict]:
    cards = page.locator("#dashboard li.dash-card")
    expect(cards.first).to_be_visible()
    return [cards.nth(i).bounding_box() for i in range(cards.count())]


def test_cards_sit_in_a_grid_at_desk_width(page: Page, sign_in):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in("admin")
    boxes = _boxes(page)
    assert len(boxes) == len(COUNTS) + 2  # the admin also sees the model and the workers
    first_row = [box for box in boxes if abs(box["y"] - boxes[0]["y"]) < 2]
    assert len(first_row) >= 4, f"only {len(first_row)} cards side by side at 1366 px"
    widths = {round(box["width"]) for box in boxes}
    assert max(widths) - min(widths) <= 1  # one column width for all
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_cards_two_across_on_a_phone_without_sideways_scroll(page: Page, sign_in):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("staff")
    boxes = _boxes(page)
    assert len(boxes) == len(COUNTS)
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2
    assert boxes[2]["y"] > boxes[0]["y"]
    for box in boxes:
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for key in COUNTS:  # every count's link is a touch target of a thumb's size
        link = page.locator(f'#dashboard [data-count="{key}"] > a').bounding_box()
        assert link["height"] >= 44, key
    upload = page.get_by_test_id("action-upload").bounding_box()
    assert upload["height"] >= 44
    assert upload["width"] > 300


def test_a_viewer_sees_the_counts_but_no_upload_or_review_buttons(page: Page, sign_in):
    sign_in("viewer")
    for key in COUNTS:
        expect(page.locator(f'#dashboard [data-count="{key}"]')).to_be_visible()
    for action in ["action-upload", "action-start-review", "action-new-order"]:
        expect(page.get_by_test_id(action)).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Upload documents|Start reviewing"))).to_have_count(0)
    expect(page.locator('#dashboard [data-count="acceptance"]')).to_have_count(0)


def test_the_counts_poll_every_30_seconds_marked_as_background(page: Page, sign_in, live_server):
    page.clock.install()
    sign_in("staff")
    expect(page.locator('#dashboard [data-count="uploaded"]')).to_be_visible()
    start = live_server.url + "/"
    with page.expect_request(lambda r: r.url == start and r.headers.get("hx-request") == "true") as polled:
        page.clock.run_for(31_000)
    request = polled.value
    assert request.headers.get("hx-request") == "true"
    assert request.headers.get("x-qm-background") == "true"
    expect(page.locator("#dashboard")).to_have_count(1)  # swapped in place, not nested
    expect(page.locator('#dashboard [data-count="uploaded"]')).to_be_visible()


def test_the_links_work_with_javascript_off(browser: Browser, live_server):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email").fill(live_server.users["viewer"])
        page.get_by_label("Password").fill(live_server.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server.url + "/")
        page.locator('#dashboard [data-count="processing"] > a').click()
        expect(page).to_have_url(re.compile(r"/documents\?state=processing$"))
        expect(page.get_by_label("State")).to_have_value("processing")
        page.go_back()
        page.locator('#dashboard [data-count="draft"] > a').click()
        expect(page).to_have_url(re.compile(r"/orders\?status=draft$"))
    finally:
        context.close()
