"""Layout measured in a real browser: the search form at a desktop and a phone width, the navigation menu
without JavaScript, and the stock pages used one-handed at the shelf."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 800, "height": 1000}

# The content box of <main> (its width less its padding) and one line of a label, read from the page itself.
CONTENT_WIDTH = """() => {
  const main = document.querySelector('main');
  const style = getComputedStyle(main);
  return main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}"""
LABELS = """() => [...document.querySelectorAll('#search-filters label')].map(label => {
  const style = getComputedStyle(label);
  const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
  return {text: label.textContent.trim(), height: label.getBoundingClientRect().height, line: line};
})"""

# How wide a select's chosen text is in the select's own font: the select must be wider than that.
TEXT_WIDTH = """s => {
  const c = document.createElement('canvas').getContext('2d');
  c.font = getComputedStyle(s).font;
  return c.measureText(s.options[s.selectedIndex].text).width;
}"""
LINE_HEIGHT = "e => parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.5"


def _assert_large_and_on_screen(box, width: int = PHONE["width"]) -> None:
    """A thumb's target: at least 44 px high (Apple's and Google's guidance) and inside the screen."""
    assert box is not None
    assert box["height"] >= 44, f"a {box['height']} px target"
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width, box


@pytest.fixture
def sku(live_server, tmp_path) -> str:
    """A product with a long SKU and 10 in stock, made through the operators' CLI."""
    code = f"LAYOUT-LONG-SKU-{uuid.uuid4().hex[:8].upper()}"
    path = tmp_path / "products.csv"
    path.write_text(f"sku,name,unit\n{code},Layout test product {code},pcs\n")
    live_server.flask("stock", "import", str(path))
    live_server.flask("stock", "add", code, "10")
    return code


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["desktop", "phone"])
def test_the_search_form_is_laid_out(page: Page, sign_in, viewport):
    page.set_viewport_size(viewport)
    sign_in("admin")
    page.goto("/search")
    content = page.evaluate(CONTENT_WIDTH)
    box = page.locator("#search-q").bounding_box()
    assert box["width"] >= content / 2, f"the search box is {box['width']} px of {content}"
    # The label sits above the box, the help below it: one column, not squeezed into a row.
    label = page.locator('label[for="search-q"]').bounding_box()
    help_text = page.locator("#search-help").bounding_box()
    assert label["y"] + label["height"] <= box["y"] + 1
    assert help_text["y"] >= box["y"] + box["height"] - 1
    button = page.get_by_role("button", name="Search", exact=True).bounding_box()
    assert button["height"] <= 60, f"the Search button is {button['height']} px high"
    assert abs(button["y"] - box["y"]) < 4, "the Search button sits beside the box"

    page.get_by_text("Filters and order").click()
    labels = page.evaluate(LABELS)
    expected = ["Category", "State", "Review", "Uploaded by", "Uploaded from", "Uploaded until"]
    expected += ["Document date from", "Document date to", "Sort by"]
    assert [label["text"] for label in labels] == expected
    for label in labels:
        assert label["height"] <= label["line"] * 1.3, f"the label {label['text']!r} takes {label['height']} px"
    for name in ["Category", "State", "Review", "Uploaded by", "Sort by"]:
        select = page.get_by_label(name, exact=True)
        expect(select).to_be_visible()
        shown = select.evaluate("s => s.options[s.selectedIndex].text")
        assert shown, f"{name} shows no text"
        width = select.bounding_box()["width"]
        text_width = select.evaluate(TEXT_WIDTH)
        assert width >= text_width + 20, f"{name} is {width} px wide for a {text_width} px text"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_the_phone_menu_opens_without_javascript(browser: Browser, live_server):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(live_server.users["admin"])
        page.get_by_label("Password").fill(live_server.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server.url + "/")
        menu = page.get_by_test_id("nav-menu")
        expect(menu.get_by_role("link", name="Stock", exact=True)).to_be_hidden()
        menu.locator("summary").click()
        expect(menu.get_by_role("link", name="Stock", exact=True)).to_be_visible()
        menu.get_by_role("link", name="Orders", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Orders")
    finally:
        context.close()


def test_the_desktop_shows_the_areas_in_a_row(page: Page, sign_in):
    page.set_viewport_size(DESK)
    sign_in("admin")
    expect(page.get_by_test_id("nav-menu")).to_be_hidden()
    row = page.locator("ul.main-nav")
    for name in ["Documents", "Review", "Search", "Stock", "Orders", "Alerts", "Admin"]:
        expect(row.get_by_role("link", name=name, exact=True)).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_the_stock_list_works_on_a_phone(page: Page, sign_in, sku, viewport):
    page.set_viewport_size(viewport)
    sign_in("staff")
    page.goto(f"/stock?q={sku}")
    row = page.locator(f'tr[data-sku="{sku}"]')
    link = row.get_by_role("link", name=sku, exact=True)
    expect(link).to_be_visible()
    # The SKU is not broken mid-word: one line.
    line = link.evaluate(LINE_HEIGHT)
    assert link.bounding_box()["height"] <= line * 1.3, "the SKU wraps"
    # The change-stock control is on screen without scrolling sideways, with a large target.
    for control in [row.get_by_label("Add or remove"), row.get_by_role("button", name="Apply")]:
        _assert_large_and_on_screen(control.bounding_box(), viewport["width"])
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    row.get_by_label("Add or remove").fill("+2")
    row.get_by_role("button", name="Apply").click()
    expect(page.locator(f'tr[data-sku="{sku}"]').get_by_test_id("on-hand")).to_have_text("12")


def test_the_product_page_has_large_touch_targets(page: Page, sign_in, sku):
    page.set_viewport_size(PHONE)
    sign_in("staff")
    page.goto(f"/stock?q={sku}")
    page.get_by_role("link", name=sku, exact=True).click()
    page.wait_for_url("**/stock/products/*")  # until the page has loaded: measured unstyled, every input is 21 px
    panel = page.locator("#stock-panel")
    for control in [
        panel.get_by_label("Add or remove"),
        panel.get_by_label("Reason"),
        panel.get_by_role("button", name="Apply change"),
        panel.get_by_label("Counted on the shelf"),
        panel.get_by_role("button", name="Record count"),
    ]:
        _assert_large_and_on_screen(control.bounding_box())
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_menu_closes_on_a_click_elsewhere_and_on_escape(page: Page, sign_in):
    page.set_viewport_size(PHONE)
    sign_in("staff")
    menu = page.get_by_test_id("nav-menu")
    stock = menu.get_by_role("link", name="Stock", exact=True)
    menu.locator("summary").click()
    expect(stock).to_be_visible()
    page.mouse.click(200, 700)  # anywhere outside the menu
    expect(stock).to_be_hidden()
    menu.locator("summary").click()
    expect(stock).to_be_visible()
    page.keyboard.press("Escape")
    expect(stock).to_be_hidden()
    expect(menu.locator("summary")).to_be_focused()
