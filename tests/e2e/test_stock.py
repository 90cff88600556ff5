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
