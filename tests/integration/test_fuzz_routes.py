"""Hostile values in every form field and query parameter of every page, as each role: never a 500, never half a write.

The forms are not listed by hand: the walk signs in as an admin, opens every page the URL map
has (with a product, a document, an order and a user to point at), and reads each form's
action, method and field names from the HTML, the way a browser or an attacker would. A form
added later is fuzzed without anyone writing a test for it. Hypothesis then fills the fields
(and the list pages' query parameters) with random and hostile values and posts them as a
viewer, staff and an admin. The answer must never be a 500, and when it is a 4xx nothing may
have been written: the row count of every table and the stock ledger are unchanged.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from app.classify.categories import ensure_default_categories
from app.documents import service as documents
from app.extensions import db
from app.queue import huey
from app.stock.ledger import add_stock
from app.stock.orders import create_order
from app.stock.products import ProductData, create_product
from tests.integration.test_access_map import _routes

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "+99999999999999999999999",
    "1e309",
    "NaN",
    "3.5",
    "\uff11\uff12",  # full-width digits
    "x" * 5000,
    " " * 50_000,
    "9" * 400,
    "\x00",
    "a\x00b",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "<script>alert(1)</script>",
    "'; DROP TABLE products; --",
    '=HYPERLINK("http://x")',
    "../../etc/passwd",
    "‮gnp.exe",
    "*" * 200,
    "a* b* c* d* e* f* g* h*",
    '"unclosed phrase',
    "category:",
    "NOT",
    "(((((",
    "%00",
    "true",
    "on",
    "[]",
    "{}",
]
VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40), st.integers().map(str))
# Query parameters list pages commonly read, tried on every GET route besides the ones its forms name.
EXAMPLES_PER_FORM = 4
COMMON_PARAMETERS = ("page", "per_page", "sort", "q", "status", "at", "move", "category", "state", "_method")


@dataclass(frozen=True)
class Form:
    method: str
    action: str
    fields: tuple[str, ...]


class _Forms(HTMLParser):
    """Each <form>'s method, action (hx-post/hx-get win, as htmx sends those) and field names."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = "POST" if attrs.get("hx-post") or (attrs.get("method") or "get").lower() == "post" else "GET"
            action = attrs.get("hx-post") or attrs.get("hx-get") or attrs.get("action") or ""
            self._current = {"method": method, "action": action, "fields": []}
        elif tag in ("input", "select", "textarea", "button") and self._current is not None:
            name = attrs.get("name")
            if name and name != "csrf_token" and attrs.get("type") != "file":
                self._current["fields"].append(name)

    def handle_endtag(self, tag):
        if tag == "form" and self._current is not None:
            current, self._current = self._current, None
            if current["action"].startswith("/"):
                fields = tuple(dict.fromkeys(current["fields"]))
                self.forms.append(Form(current["method"], current["action"], fields))


def _seed() -> dict[str, int]:
    """One of each thing the pages point at."""
    ensure_default_categories()
    product = create_product(ProductData.clean(sku="FUZZ-1", name="Fuzz tea", low_stock_threshold="3"), user_id=None)
    add_stock(product.id, 10, user_id=None)
    order = create_order(customer="Fuzz Café", lines=[(product.id, 2)], user_id=None)
    document = documents.ingest(io.BytesIO(b"Invoice 7 for fuzz tea"), "fuzz.txt", user_id=None).document
    return {"product": product.id, "order": order.id, "document": document.id}


def _pages(app, client, ids: dict[str, int]) -> list[str]:
    """Every GET route, with the seeded records in its variable parts."""
    pages = []
    for endpoint, method, url in _routes(app):
        if method != "GET" or endpoint in ("static", "auth.login", "ops.metrics"):
            continue
        url = re.sub(r"/products/1(?=/|$)", f"/products/{ids['product']}", url)
        url = re.sub(r"/orders/1(?=/|$)", f"/orders/{ids['order']}", url)
        url = re.sub(r"/documents/1(?=/|$)", f"/documents/{ids['document']}", url)
        pages.append(url)
    return pages


def _forms(client, pages: list[str]) -> list[Form]:
    found: dict[tuple[str, str], Form] = {}
    for page in pages:
        with client.get(page) as response:  # closed: downloads stream from open files
            if response.status_code != 200 or "html" not in (response.content_type or ""):
                continue
            html = response.get_data(as_text=True)
        parser = _Forms()
        parser.feed(html)
        for form in parser.forms:
            path = urlsplit(form.action).path
            shape = re.sub(r"/\d+(?=/|$)", "/<id>", path)
            if path == "/logout":
                continue  # ends the session the fuzzing needs
            key = (form.method, shape)
            previous = found.get(key)
            fields = tuple(dict.fromkeys((previous.fields if previous else ()) + form.fields))
            found[key] = Form(form.method, form.action, fields)
        for path in (page,):  # every list page also gets the common query parameters
            found.setdefault(("GET", path), Form("GET", path, ()))
    return [Form(f.method, f.action, f.fields or COMMON_PARAMETERS) for f in found.values()]


def _snapshot() -> tuple[dict[str, int], int]:
    db.session.rollback()  # read what the request committed, not this session's cache
    counts = {
        table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables
    }
    ledger = db.session.scalar(text("SELECT COALESCE(SUM(on_hand), 0) FROM products"))
    return counts, ledger


@pytest.mark.parametrize("role", ["viewer", "staff", "admin"])
def test_hostile_values_in_every_field_never_give_a_500_or_half_a_write(app, client, auth, role):
    with app.app_context():
        ids = _seed()
    # What the forms enqueue (a retrain, a document run) waits in the queue instead of running inline:
    # the web answers are what is fuzzed here, and a retrain per example would take minutes.
    huey.immediate = False
    auth.login_as("admin")
    forms = _forms(client, _pages(app, client, ids))
    assert len([f for f in forms if f.method == "POST"]) >= 15  # the walk found the forms
    auth.logout()
    auth.login_as(role)
    token = client.csrf_token()
    # Audit rows and notifications are what a refused or failed attempt may rightly leave behind.
    allowed_to_grow = {"audit_log", "search_outbox", "sessions", "user_sessions"}

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        derandomize=True,  # the same values on every run: a failure here is reproducible
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def one_request(form: Form, data) -> None:
        fields = data.draw(st.fixed_dictionaries({}, optional={name: VALUES for name in form.fields}))
        headers = {"HX-Request": "true"} if data.draw(st.booleans()) else {}
        with app.app_context():
            before = _snapshot()
        if form.method == "GET":
            response = client.get(f"{urlsplit(form.action).path}?{urlencode(fields)}", headers=headers)
        else:
            response = client.post(form.action, data={**fields, "csrf_token": token}, headers=headers)
        response.close()
        status = response.status_code
        assert status < 500, f"{form.method} {form.action} {fields!r} -> {status}"
        if 400 <= status < 500:
            with app.app_context():
                after = _snapshot()
            grew = {t for t in before[0] if before[0][t] != after[0][t] and t not in allowed_to_grow}
            assert not grew, f"{form.method} {form.action} {fields!r} -> {status} but wrote to {grew}"
            assert before[1] == after[1], f"{form.method} {form.action} {fields!r} -> {status} moved stock"

    for form in forms:
        one_request(form)
    assert client.get("/account").status_code == 200, "the session survived"
