"""Take the README's screenshots from a real running app: `.venv/bin/python docs/screenshots.py`.

Starts a throwaway live server (PostgreSQL and Redis, as the tests do), signs
in as the admin and saves PNGs next to this file.
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support import services
from tests.support.live_server import start_live_server

OUT = Path(__file__).parent / "img"


def _seed_documents(server, folder: Path) -> None:
    """A few real documents, through the same pipeline as uploads, processed by the live worker."""
    from tests.support import documents as files

    inbox = folder / "inbox"
    inbox.mkdir()
    files.make_text_pdf(
        inbox / "invoice-2026-117.pdf",
        ["ACME Wholesale Ltd", "Invoice 2026-117", "40 x Green tea 1 kg   12.50   500.00", "Total due 500.00 EUR"],
    )
    files.make_scan_png(inbox / "delivery-note-scan.png", ["DELIVERY NOTE 5150", "3 PALLETS OF TEA"])
    (inbox / "price-list.csv").write_text("sku,price\nTEA-GRN-1KG,12.50\nCUP-STN-250,2.10\n", encoding="utf-8")
    (inbox / "letter-weber.txt").write_text(
        "Dear Mr Okafor,\nthank you for the samples of jasmine tea. Our customers liked the second one best;\n"
        "could you send prices for 40 boxes? Kind regards, Anna Weber",
        encoding="utf-8",
    )
    (inbox / "credit-note-88.txt").write_text(
        "CREDIT NOTE CN-88\nAgainst invoice 2026-101: 4 x Green tea 1 kg returned damaged.\nCredit 50.00 EUR",
        encoding="utf-8",
    )
    server.flask("documents", "import", "--wait", str(inbox))


def _seed_stock(server, folder: Path) -> None:
    """A few products and a month-like run of movements, through the operators' CLI."""
    products = folder / "products.csv"
    products.write_text(
        "sku,name,unit,low_stock_threshold,reorder_quantity\n"
        "TEA-GRN-1KG,Green tea 1 kg,kg,20,60\n"
        "CUP-STN-250,Stoneware cup 250 ml,pcs,50,200\n"
        "BAG-FRZ-20,Freezer bags (20),pack,10,40\n"
    )
    server.flask("stock", "import", str(products))
    for change in ["60", "-12", "-9", "+40", "-25", "-18", "-11", "+60", "-30", "-14"]:
        server.flask("stock", "add", "TEA-GRN-1KG", "--", change)
    server.flask("stock", "add", "CUP-STN-250", "240")
    server.flask("stock", "add", "BAG-FRZ-20", "8")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    name = "qm_screenshots"
    url = services.recreate_database(name)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_live_server(
            url, services.TEST_REDIS_URL, Path(tmp), classify=True, QM_AUTO_ACCEPT_THRESHOLD="0.95"
        )
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(base_url=server.url, viewport={"width": 1280, "height": 720})
                page.goto("/login")
                page.get_by_label("Email").fill(server.users["admin"])
                page.get_by_label("Password").fill(server.password)
                page.get_by_role("button", name="Sign in").click()
                page.goto("/admin/users")
                page.screenshot(path=OUT / "users.png")
                _seed_documents(server, Path(tmp))
                page.goto("/documents")
                page.screenshot(path=OUT / "documents.png")
                page.get_by_role("link", name="invoice-2026-117", exact=True).click()
                page.screenshot(path=OUT / "document.png", full_page=True)
                page.goto("/review")
                page.get_by_test_id("review-item").wait_for()
                page.screenshot(path=OUT / "review.png", full_page=True)
                for _ in range(30):  # the worker indexes right after processing; give it a moment
                    page.goto("/search?q=tea")
                    if page.locator("li.hit").count():
                        break
                    page.wait_for_timeout(1000)
                page.screenshot(path=OUT / "search.png")
                page.goto("/review")
                for key in ["a", "a", "9"]:  # a few decisions, so the models page has reviews to chart
                    current = page.get_by_test_id("review-item").get_attribute("data-document")
                    page.keyboard.press(key)
                    expect(page.get_by_test_id("review-item")).not_to_have_attribute("data-document", current)
                page.goto("/admin/models")
                page.screenshot(path=OUT / "models.png", full_page=True)
                page.get_by_role("link", name="1", exact=True).first.click()
                page.locator('[data-testid="confusion"]').wait_for()
                page.screenshot(path=OUT / "model-version.png", full_page=True)
                _seed_stock(server, Path(tmp))
                page.goto("/stock")
                page.screenshot(path=OUT / "stock.png")
                page.get_by_role("link", name="TEA-GRN-1KG", exact=True).click()
                page.locator("svg.step-chart").wait_for()
                page.screenshot(path=OUT / "product.png", full_page=True)
                page.goto("/")  # the start page, now that there is something to count
                page.locator('#status-card [data-check="database"]').wait_for()
                page.screenshot(path=OUT / "home.png", full_page=True)
                phone = browser.new_page(base_url=server.url, viewport={"width": 390, "height": 844})
                phone.context.add_cookies(page.context.cookies())
                phone.goto("/stock")
                phone.locator('[data-testid="nav-menu"] summary').click()  # the areas, in a menu at this width
                phone.screenshot(path=OUT / "stock-phone.png", full_page=True)
                browser.close()
        finally:
            server.stop()
            services.drop_database(name)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
