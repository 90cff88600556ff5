"""At 390 px (a phone held at the shelf) every page a signed-in admin can open fits the screen: none scrolls
sideways, the areas are in a "Menu" whose links are on screen, and the account menu's sign-out is on screen."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}

# Every page an admin can GET that needs no record of its own; the record pages are added by the test.
PAGES = [
    "/",
    "/documents",
    "/documents/upload",
    "/review",
    "/search",
    "/stock",
    "/stock/ledger",
    "/stock/import",
    "/stock/products/new",
    "/orders",
    "/orders/new",
    "/alerts",
    "/notifications",
    "/account",
    "/account/password",
    "/admin",
    "/admin/users",
    "/admin/categories",
    "/admin/models",
    "/admin/system",
    "/admin/audit",
    "/documents/trash",
    "/documents/correspondents",
]


def _seed(page: Page, live_server, tmp_path) -> dict[str, str]:
    """A product with a long SKU, a document, a draft order: so the record pages and a search have something."""
    tag = uuid.uuid4().hex[:8].upper()
    sku = f"PHONE-WIDTH-LONG-SKU-{tag}"
    products = tmp_path / "products.csv"
    products.write_text(f"sku,name,unit\n{sku},A product with rather a long name {tag},pcs\n")
    live_server.flask("stock", "import", str(products))
    live_server.flask("stock", "add", sku, "10")

    note = tmp_path / f"delivery-note-with-a-long-file-name-{tag.lower()}.txt"
    note.write_text(f"Delivery note {tag}\nThree pallets of jasmine tea\n", encoding="utf-8")
    page.goto("/documents/upload")
    page.get_by_label("Drop files here, or choose them").set_input_files(str(note))
    row = page.locator("#upload-list .upload-row").filter(has_text=note.name)
    expect(row.get_by_test_id("doc-state")).to_have_attribute("data-state", "processed", timeout=30_000)
    document = _path(row.get_by_role("link", name=note.name).get_attribute("href"))

    page.goto("/orders/new")
    page.get_by_label("Customer").fill("Corner Shop")
    page.get_by_label("SKU, line 1").fill(sku)
    page.get_by_label("Quantity, line 1").fill("2")
    page.get_by_role("button", name="Save draft order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("draft")
    order = _path(page.url)

    page.goto("/stock?q=" + sku)
    product = _path(page.get_by_role("link", name=sku, exact=True).get_attribute("href"))
    page.goto("/admin/models")
    model = page.evaluate(
        "[...document.querySelectorAll('main a')].map(a => a.pathname).find(p => /^\\/admin\\/models\\/\\d+$/.test(p))"
    )
    return {"document": document, "order": order, "product": product, "model": model, "tag": tag}


def _path(url: str) -> str:
    """A link's path, whether the page wrote it absolute or not."""
    return re.sub(r"^https?://[^/]+", "", url)


def _assert_fits(page: Page, path: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px screen"


def _assert_on_screen(box, what: str) -> None:
    assert box is not None, f"{what} is not shown"
    assert box["x"] >= 0, f"{what} is off-screen: {box}"
    assert box["x"] + box["width"] <= PHONE["width"], f"{what} is off-screen: {box}"


def test_no_page_scrolls_sideways_on_a_phone(page: Page, live_server, sign_in, tmp_path):
    page.set_viewport_size(PHONE)
    sign_in("admin")
    seeded = _seed(page, live_server, tmp_path)
    record_pages = [
        seeded["document"],
        seeded["product"],
        seeded["order"],
        seeded["model"],
        "/search?q=" + seeded["tag"].lower(),
        "/search?q=jasmine&state=processed&sort=newest",
    ]
    for path in PAGES + record_pages:
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status == 200, f"{path} answered {response.status}"
        page.wait_for_load_state("networkidle")
        _assert_fits(page, path)

        # The areas are in the menu, which opens and shows its links on screen.
        menu = page.get_by_test_id("nav-menu")
        expect(page.locator("ul.main-nav")).to_be_hidden()
        menu.locator("summary").click()
        for name in ["Documents", "Stock", "Orders", "Admin"]:
            link = menu.get_by_role("link", name=name, exact=True)
            expect(link).to_be_visible()
            _assert_on_screen(link.bounding_box(), f"the menu's {name} link on {path}")
        _assert_fits(page, path + " with the menu open")
        menu.locator("summary").click()  # closed again

        # The account menu, with sign-out, is on screen.
        page.locator("details.account-menu summary").click()
        _assert_on_screen(page.get_by_test_id("sign-out").bounding_box(), f"sign-out on {path}")
        _assert_fits(page, path + " with the account menu open")
        page.locator("details.account-menu summary").click()


def test_the_menu_takes_a_person_to_an_area(page: Page, sign_in):
    page.set_viewport_size(PHONE)
    sign_in("staff")
    menu = page.get_by_test_id("nav-menu")
    menu.locator("summary").click()
    expect(menu.get_by_role("link", name="Admin", exact=True)).to_have_count(0)  # staff are not admins
    menu.get_by_role("link", name="Stock", exact=True).click()
    expect(page).to_have_url(re.compile(r"/stock$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Stock")
