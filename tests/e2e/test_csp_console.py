"""The app's own pages break none of its own rules in a real browser: no CSP violation, no missing favicon."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page

pytestmark = pytest.mark.e2e

# Every page a person reaches from the navigation, and the ones htmx swaps parts of.
PAGES = [
    "/",
    "/stock",
    "/stock/ledger",
    "/stock/products/new",
    "/stock/import",
    "/orders",
    "/orders/new",
    "/alerts",
    "/documents",
    "/documents/upload",
    "/documents/trash",
    "/review",
    "/search?q=tea",
    "/notifications",
    "/account",
    "/admin",
    "/admin/users",
    "/admin/categories",
    "/admin/models",
    "/admin/system",
    "/admin/audit",
]

# Record CSP violations from inside the page: the console line Chromium writes for one is not the only
# trace (a style attribute set by a script reports no console line in some versions), the event always is.
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def test_no_page_breaks_its_content_security_policy(page: Page, live_server, sign_in):
    console: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.append(f"{page.url}: {message.text}")

    page.on("console", keep)
    failed: list[str] = []
    page.on("response", lambda response: response.status >= 400 and failed.append(f"{response.status} {response.url}"))
    page.add_init_script(LISTEN_FOR_VIOLATIONS)
    sign_in("admin")
    violations: list[str] = []
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        violations += [f"{path}: {v}" for v in page.evaluate("window.__cspViolations")]
    # htmx swaps: typing in a list's filter or in the search box re-renders the results in place.
    for path, box in (("/stock", "#q"), ("/search", "#search-q"), ("/documents", "#doc-q")):
        page.goto(live_server.url + path)
        with page.expect_response(lambda response: response.request.headers.get("hx-request") == "true"):
            page.locator(box).fill("tea")
        page.wait_for_load_state("networkidle")
        violations += [f"{path} after a swap: {v}" for v in page.evaluate("window.__cspViolations")]
    blocked = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not violations, "\n".join(violations)
    assert not blocked, "\n".join(blocked)
    assert not failed, "\n".join(failed)

    # The check itself sees a violation: an inline style attribute added the way a swap adds markup.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("window.__cspViolations.length > 0")


def test_the_favicon_is_there_for_anyone(page: Page, live_server):
    response = page.request.get(live_server.url + "/favicon.ico")
    assert response.ok
    assert response.headers["content-type"].startswith("image/")
    assert response.body().startswith(b"\x00\x00\x01\x00")
