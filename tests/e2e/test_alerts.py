"""A product that runs low, in a real browser (gunicorn + a Huey consumer): the bell, the alerts page, one email."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.support.smtp import text_part

pytestmark = pytest.mark.e2e


def _product_with_threshold(server, folder) -> str:
    code = f"LOW-{uuid.uuid4().hex[:8].upper()}"
    path = folder / "products.csv"
    for threshold in (0, 5):  # the threshold comes once there is stock: no alert on the way
        path.write_text(f"sku,name,unit,low_stock_threshold,reorder_quantity\n{code},Alert {code},pcs,{threshold},24\n")
        server.flask("stock", "import", str(path))
        if not threshold:
            server.flask("stock", "add", code, "10")
    return code


def _emails_about(smtp, sku: str) -> list:
    return [m for m in smtp.messages if sku in text_part(m)]


def test_a_product_that_runs_low_rings_the_bell_once_and_emails_once(
    page: Page, live_server, live_smtp, sign_in, tmp_path
):
    sku = _product_with_threshold(live_server, tmp_path)
    sign_in("staff")
    page.goto(f"{live_server.url}/notifications")
    if page.get_by_test_id("read-all").count():
        page.get_by_test_id("read-all").click()  # start from an empty bell
    expect(page.get_by_test_id("bell-count")).to_have_count(0)

    page.goto(f"{live_server.url}/stock?q={sku}")
    page.locator(f'tr[data-sku="{sku}"]').get_by_label("Add or remove").fill("-6")
    page.locator(f'tr[data-sku="{sku}"]').get_by_role("button", name="Apply").click()
    expect(page.locator(f'tr[data-sku="{sku}"] [data-testid="on-hand"]')).to_have_text("4")

    # The worker notices after the commit; the bell updates by itself, without a reload.
    expect(page.get_by_test_id("bell-count")).to_have_text("1", timeout=30_000)
    assert len(live_smtp.wait_for(len(live_smtp.messages) + 1, timeout=15)) >= 1
    assert len(_emails_about(live_smtp, sku)) == 1

    page.goto(f"{live_server.url}/alerts?status=open&q={sku}")
    row = page.locator(f'tr[data-sku="{sku}"]')
    expect(row).to_contain_text("4 / 5")
    row.get_by_test_id("acknowledge").click()
    expect(row.get_by_test_id("acknowledged")).to_have_text(live_server.users["staff"])

    page.goto(f"{live_server.url}/notifications")
    expect(page.get_by_test_id("notice").first).to_contain_text(sku)
    page.get_by_test_id("read-all").click()
    expect(page.get_by_test_id("bell-count")).to_have_count(0)

    # More removals while low and a check from the shell: still one email for this crossing.
    page.goto(f"{live_server.url}/stock?q={sku}")
    page.locator(f'tr[data-sku="{sku}"]').get_by_label("Add or remove").fill("-1")
    page.locator(f'tr[data-sku="{sku}"]').get_by_role("button", name="Apply").click()
    expect(page.locator(f'tr[data-sku="{sku}"] [data-testid="on-hand"]')).to_have_text("3")
    live_server.flask("alerts", "check")
    live_smtp.wait_for(len(live_smtp.messages) + 1, timeout=3)
    assert len(_emails_about(live_smtp, sku)) == 1
