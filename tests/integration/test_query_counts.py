"""No list page asks the database once per row (N+1): its SQL statements do not grow with the data.

Every list page, CSV export and detail page with a history is read on a small instance, then again
after three times as much of everything was added: the number of statements must stay the same.
A page that loads each row's category, uploader or product separately would ask 3x as often and
fail here, long before it shows on a busy instance.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, select

from app.classify import categories
from app.classify import service as classify
from app.classify.models import Category
from app.documents import metadata
from app.documents import service as documents
from app.documents.models import Document
from app.extensions import db
from app.notify import service as notify
from app.stock import alerts, orders
from app.stock.ledger import add_stock, remove_stock
from tests.support import factories

PAGES = [
    "/",
    "/status",
    "/documents",
    "/documents.csv",
    "/documents/{document}",
    "/documents/trash",
    "/documents/trash.csv",
    "/documents/correspondents",
    "/documents/correspondents.csv",
    "/review",
    "/search?q=oolong",
    "/search.csv?q=oolong",
    "/stock",
    "/stock.csv",
    "/stock/ledger",
    "/stock/ledger.csv",
    "/stock/products/{product}",
    "/orders",
    "/orders.csv",
    "/orders/{order}",
    "/alerts",
    "/alerts.csv",
    "/notifications",
    "/admin",
    "/admin/users",
    "/admin/users.csv",
    "/admin/categories",
    "/admin/models",
]


def _add(round_: int, count: int, users: list[int]) -> dict[str, int]:
    """`count` of everything, spread over the users, as people would leave it; ids of one product and order."""
    kinds = [c.id for c in db.session.scalars(select(Category).order_by(Category.id)).all()]
    product_ids = []
    for n in range(count):
        sku = f"R{round_}-{n}"
        product_ids.append(factories.make_product(sku, on_hand=50, threshold=10))
        add_stock(product_ids[-1], 5, user_id=users[n % len(users)])
        remove_stock(product_ids[-1], 2, user_id=users[(n + 1) % len(users)])
        remove_stock(product_ids[-1], 40, user_id=users[n % len(users)])  # low: an alert opens
    alerts.check()
    order_id = 0
    for n in range(count):
        order = orders.create_order(
            customer=f"Customer {round_}-{n}", lines=[(product_ids[n], 1)], user_id=users[n % len(users)]
        )
        if n % 2:
            orders.place_order(order.id, user_id=users[n % len(users)])
        order_id = order.id
    for n in range(count):
        text = f"Invoice {round_}-{n} for oolong and sencha, delivered in crates number {round_ * 100 + n}"
        ingested = documents.ingest(io.BytesIO(text.encode()), f"invoice-{round_}-{n}.txt", user_id=users[n % 3])
        document_id = ingested.document.id
        if n == 0:
            first_document = document_id
        details = metadata.Details(
            title=f"Invoice {round_}-{n}",
            document_date=date(2026, 1 + n % 12, 1 + n),
            correspondent=f"Supplier {round_}-{n}",
            tags=(f"tag{n}", "tea"),
        )
        metadata.update_details(document_id, details, user_id=users[n % len(users)])
        metadata.add_note(document_id, f"checked by {n}", user_id=users[n % len(users)])
        if n % 3 == 0:
            classify.review_document(document_id, kinds[n % len(kinds)], user_id=users[n % len(users)])
        if n % 4 == 1:
            documents.delete_document(document_id, user_id=users[n % len(users)])
    notify.notify_users(
        users, kind="demo", dedupe_key=f"round-{round_}", title=f"Round {round_} done", body=None, link="/"
    )
    db.session.commit()
    return {"product": product_ids[0], "order": order_id, "document": first_document}


@contextmanager
def _counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def _statements(client, url: str) -> int:
    with _counting() as statements:
        response = client.get(url)
        body = response.get_data()
    assert response.status_code == 200, f"{url}: {response.status_code}"
    assert body
    return len(statements)


@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_no_list_page_asks_the_database_once_per_row(app, client, auth, make_user):
    admin = auth.login_as("admin")
    with app.app_context():
        categories.ensure_default_categories()
        people = [admin.id, make_user("staff").id, make_user("viewer").id]
        small = _add(1, 4, people)
        urls = [url.format(**small) for url in PAGES]
        for url in urls:  # warm caches that fill once per process (category names, the search pool, …)
            client.get(url)
        before = {url: _statements(client, url) for url in urls}
        _add(2, 12, people)  # four times as many of everything
        for url in urls:  # caches that notice the change refill once
            client.get(url)
        after = {url: _statements(client, url) for url in urls}
        shown = db.session.scalar(select(Document.id).limit(1))
    grown = {url: (before[url], after[url]) for url in urls if after[url] > before[url]}
    assert not grown, f"SQL statements grew with the data (before, after): {grown}"
    assert shown is not None
