"""Take the README's screenshots from a real running app: `.venv/bin/python docs/screenshots.py`.

Starts a throwaway live server (PostgreSQL and Redis, as the tests do), signs
in as the admin and saves PNGs next to this file.
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support import services
from tests.support.live_server import start_live_server

OUT = Path(__file__).parent / "img"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    name = "qm_screenshots"
    url = services.recreate_database(name)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_live_server(url, services.TEST_REDIS_URL, Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(base_url=server.url, viewport={"width": 1280, "height": 720})
                page.goto("/login")
                page.get_by_label("Email").fill(server.users["admin"])
                page.get_by_label("Password").fill(server.password)
                page.get_by_role("button", name="Sign in").click()
                page.locator('#status-card [data-check="database"]').wait_for()
                page.screenshot(path=OUT / "home.png")
                page.goto("/admin/users")
                page.screenshot(path=OUT / "users.png")
                browser.close()
        finally:
            server.stop()
            services.drop_database(name)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
