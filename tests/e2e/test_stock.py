"""Staff keep stock in a real browser: +24 in place, a double click counts once, orders, the ledger CSV."""

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.live_server import start_live_server

pytestmark = pytest.mark.e2e


def _stocked_product(server, folder: Path) -> str:
    """A new product with 10 in stock, made through the operators' CLI."""
    code = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    path = folder / "products.csv"
    path.write_text(f"sku,name,unit\n{code},Test product {code},pcs\n")
    server.flask("stock", "import", str(path))
    server.flask("stock", "add", code, "10")
    return code


@pytest.fixture
def sku(live_server, tmp_path):
    return _stocked_product(live_server, tmp_path)


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """The embedded default, as `make run` has it: SQLite database and SQLite queue, no Redis."""
    base = tmp_path_factory.mktemp("embedded")
    server = start_live_server(f"sqlite:///{base / 'data' / 'quartermaster.db'}", None, base)
    yield server
    server.stop()


@pytest.fixture(params=["postgresql", "embedded"])
def stock_server(request, live_server, tmp_path):
    """The same flow on PostgreSQL + Redis and on the embedded default."""
    server = live_server if request.param == "postgresql" else request.getfixturevalue("embedded_server")
    return server, _stocked_product(server, tmp_path)


def _sign_in(page: Page, server, role: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(server.users[role])
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")


def test_plus_24_on_a_row_changes_the_figure_in_place(page: Page, stock_server):
    server, sku = stock_server
    _sign_in(page, server, "staff")
    page.goto(f"{server.url}/stock?q={sku}")
    row = page.locator(f'tr[data-sku="{sku}"]')
    expect(row.get_by_test_id("on-hand")).to_have_text("10")
    row.get_by_label("Add or remove").fill("+24")
    with page.expect_response(re.compile(r"/adjust$")):
        row.get_by_role("button", name="Apply").click()
    expect(row.get_by_test_id("on-hand")).to_have_text("34")
    expect(row).to_contain_text("+24 received: 34 on hand.")
    assert page.url == f"{server.url}/stock?q={sku}"  # no navigation: the row was swapped
    # The next change is a new one: the form came back empty with a fresh key.
    expect(row.get_by_label("Add or remove")).to_have_value("")
    row.get_by_label("Add or remove").fill("-4")
    row.get_by_label("Reason").select_option("damaged")
    row.get_by_role("button", name="Apply").click()
    expect(row.get_by_test_id("on-hand")).to_have_text("30")


def test_a_double_click_adds_stock_once(page: Page, sign_in, sku, live_server):
    sign_in("staff")
    page.goto(f"/stock/products/{_product_id(page, sku)}")
    page.get_by_label("Add or remove").fill("+5")
    page.get_by_role("button", name="Apply change").dblclick()
    expect(page.get_by_test_id("on-hand")).to_have_text("15")
    page.wait_for_timeout(500)  # let any second request finish
    page.reload()
    expect(page.get_by_test_id("on-hand")).to_have_text("15")
    assert "OK" in live_server.flask("stock", "verify").stdout


def _product_id(page: Page, sku: str) -> str:
    page.goto(f"/stock?q={sku}")
    href = page.get_by_role("link", name=sku, exact=True).get_attribute("href")
    return href.rsplit("/", 1)[1]


def test_an_order_that_lacks_stock_says_which_sku(page: Page, sign_in, sku):
    sign_in("staff")
    page.goto("/orders/new")
    page.get_by_label("Customer").fill("Corner Shop")
    page.get_by_label("SKU, line 1").fill(sku)
    page.get_by_label("Quantity, line 1").fill("12")
    page.get_by_role("button", name="Save draft order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("draft")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_test_id("order-error")).to_contain_text(f"{sku}: 10 available, 12 needed")
    expect(page.get_by_test_id("order-status")).to_have_text("draft")


def test_the_ledger_downloads_as_csv(page: Page, sign_in, sku):
    sign_in("viewer")
    page.goto(f"/stock/ledger?sku={sku}")
    with page.expect_download() as download_info:
        page.get_by_test_id("ledger-csv").click()
    download = download_info.value
    assert download.suggested_filename == "stock-ledger.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [(r["sku"], r["change"], r["reason"], r["balance_after"]) for r in rows] == [(sku, "10", "received", "10")]


# ---------------------------------------------------------------- issue 14: daily use of stock and orders


def _new_draft(page: Page, sku: str, quantity: str = "4") -> str:
    page.goto("/orders/new")
    page.get_by_label("Customer").fill("Corner Shop")
    page.get_by_label("SKU, line 1").fill(sku)
    page.get_by_label("Quantity, line 1").fill(quantity)
    page.get_by_role("button", name="Save draft order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("draft")
    return page.url


def test_cancelling_a_placed_order_asks_first_and_works_without_scripts(browser, live_server, tmp_path):
    sku = _stocked_product(live_server, tmp_path)
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        _sign_in(page, live_server, "staff")
        order_url = _new_draft(page, sku)
        page.get_by_role("button", name="Place order").click()
        expect(page.get_by_test_id("order-status")).to_have_text("placed")
        page.get_by_test_id("cancel-order").click()
        question = page.get_by_test_id("confirm-cancel")
        expect(question).to_contain_text("Cancelling puts it back")
        expect(question.get_by_test_id("returns")).to_contain_text(f"{sku}")
        expect(question.get_by_test_id("returns")).to_contain_text("+4 pcs")
        question.get_by_test_id("cancel").click()  # "Keep the order": nothing happened
        expect(page.get_by_test_id("order-status")).to_have_text("placed")
        page.get_by_test_id("cancel-order").click()
        page.get_by_test_id("confirm").click()
        expect(page.get_by_test_id("order-status")).to_have_text("cancelled")
        assert page.url == order_url
        page.goto(f"/stock?q={sku}")
        expect(page.locator(f'tr[data-sku="{sku}"]').get_by_test_id("on-hand")).to_have_text("10")
    finally:
        context.close()


def test_an_order_line_shows_the_product_while_typing_and_a_draft_can_be_changed(page: Page, sign_in, sku):
    sign_in("staff")
    page.goto("/orders/new")
    page.get_by_label("Customer").fill("Corner Shop")
    page.get_by_label("SKU, line 1").press_sequentially(sku.lower(), delay=10)
    info = page.locator("#lines-0-info")
    expect(info).to_contain_text(f"Test product {sku}")
    expect(info).to_contain_text("10 pcs on hand")
    page.get_by_label("SKU, line 2").fill("NO-SUCH-SKU")
    expect(page.locator("#lines-1-info")).to_contain_text("No product has SKU NO-SUCH-SKU.")
    page.get_by_label("SKU, line 2").fill("")
    page.get_by_label("Quantity, line 1").fill("3")
    page.get_by_role("button", name="Save draft order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("draft")
    page.get_by_test_id("edit-order").click()
    expect(page.locator("#lines-0-info")).to_contain_text("10 pcs on hand")  # shown for saved lines too
    page.get_by_label("Quantity, line 1").fill("7")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("order-status")).to_have_text("draft")
    expect(page.locator("table.striped tbody tr")).to_have_count(1)
    expect(page.locator("table.striped tbody tr")).to_contain_text("7 pcs")


def test_low_stock_only_applies_at_once(page: Page, sign_in, live_server, tmp_path):
    code = f"LOW-{uuid.uuid4().hex[:8].upper()}"
    path = tmp_path / "low.csv"
    path.write_text(f"sku,name,low_stock_threshold,on_hand\n{code},Low product {code},20,3\n")
    live_server.flask("stock", "import", str(path))
    sign_in("viewer")
    page.goto("/stock")
    page.get_by_label("Low stock only").check()  # no "Show" pressed
    expect(page).to_have_url(re.compile(r"low=y"))
    row = page.locator(f'tr[data-sku="{code}"]')
    expect(row.get_by_test_id("on-hand")).to_have_text("3")
    expect(row.get_by_test_id("threshold")).to_have_text("20")
    expect(row.get_by_test_id("short-by")).to_have_text("18")
    for on_hand in page.locator("#product-results tr.low, #product-results tbody tr").all():
        expect(on_hand).to_have_class(re.compile(r"\blow\b"))
