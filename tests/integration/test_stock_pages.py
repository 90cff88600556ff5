"""Staff keep stock in the browser: the list, "+24" in place, counts, the ledger and its CSV."""

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.stock.ledger import add_stock, remove_stock
from app.stock.models import Product, StockMovement
from app.stock.products import ProductData, create_product


@pytest.fixture
def product(app):
    """A product with 10 in stock and a low-stock threshold of 5."""
    with app.app_context():
        data = ProductData.clean(sku="TEA-1", name="Green tea 1 kg", unit="kg", low_stock_threshold=5)
        p = create_product(data, user_id=None)
        add_stock(p.id, 10, user_id=None)
        return p.id


def _on_hand(app, product_id):
    with app.app_context():
        return db.session.get(Product, product_id).on_hand


def _movements(app):
    with app.app_context():
        return db.session.scalar(select(func.count(StockMovement.id)))


def _key(client, product_id):
    page = client.get(f"/stock/products/{product_id}").get_data(as_text=True)
    return re.search(
        rf'id="p{product_id}-idempotency_key" name="p{product_id}-idempotency_key" type="hidden" value="([^"]+)"', page
    ).group(1)


def _adjust(client, product_id, change, reason="", key=None, htmx=True, where="row"):
    data = {f"p{product_id}-change": change, f"p{product_id}-reason": reason, "where": where}
    if key:
        data[f"p{product_id}-idempotency_key"] = key
    return client.post(f"/stock/products/{product_id}/adjust", data=data, htmx=htmx)


def test_the_list_shows_stock_and_marks_low_products(client, auth, product):
    auth.login_as("viewer")
    page = client.get("/stock").get_data(as_text=True)
    assert "TEA-1" in page
    assert 'data-testid="on-hand">10<' in page
    assert "Add or remove" not in page  # viewers cannot change stock


def test_plus_24_swaps_the_row_in_place(app, client, auth, product):
    auth.login_as("staff")
    response = _adjust(client, product, "+24", key=_key(client, product))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="product-{product}"')
    assert 'data-testid="on-hand">34<' in body
    assert "+24 received: 34 on hand." in body
    assert response.headers["HX-Trigger"] == "stock-changed"
    assert _on_hand(app, product) == 34


def test_the_same_form_submitted_twice_adds_stock_once(app, client, auth, product):
    auth.login_as("staff")
    key = _key(client, product)
    first = _adjust(client, product, "+24", key=key)
    second = _adjust(client, product, "+24", key=key)
    assert first.status_code == second.status_code == 200
    assert _on_hand(app, product) == 34
    # Each answer carries a fresh key for the next change.
    assert key not in first.get_data(as_text=True)


def test_removal_with_a_reason_and_refusal_below_zero(app, client, auth, product):
    auth.login_as("staff")
    assert _adjust(client, product, "-4", reason="damaged", key="k-1").status_code == 200
    refused = _adjust(client, product, "-7", reason="used", key="k-2")
    assert refused.status_code == 409
    assert "TEA-1: 6 available, 7 needed" in refused.get_data(as_text=True)
    assert _on_hand(app, product) == 6


@pytest.mark.parametrize("change", ["abc", "0", "1e9", "2.5", "", "+99999999", "--3"])
def test_bad_changes_get_a_message_and_write_nothing(app, client, auth, product, change):
    auth.login_as("staff")
    before = _movements(app)
    response = _adjust(client, product, change, key="bad-1")
    assert 400 <= response.status_code < 500
    assert 'role="alert"' in response.get_data(as_text=True)
    assert _movements(app) == before
    assert _on_hand(app, product) == 10


def test_a_reason_that_does_not_fit_the_sign_is_refused(app, client, auth, product):
    auth.login_as("staff")
    response = _adjust(client, product, "+5", reason="damaged", key="r-1")
    assert response.status_code == 400
    assert "not a reason to add stock" in response.get_data(as_text=True)
    assert _on_hand(app, product) == 10


def test_without_htmx_the_change_redirects_back_with_a_message(app, client, auth, product):
    auth.login_as("staff")
    response = _adjust(client, product, "+2", key="plain-1", htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"] == "/stock"
    assert "+2 received: 12 on hand." in client.get("/stock").get_data(as_text=True)


def test_viewers_cannot_change_stock(app, client, auth, product):
    auth.login_as("viewer")
    assert _adjust(client, product, "+5", key="v-1").status_code == 403
    assert _on_hand(app, product) == 10


def test_stock_count_records_the_difference(app, client, auth, product):
    auth.login_as("staff")
    response = client.post(
        f"/stock/products/{product}/count",
        data={"count-counted": "7", "count-note": "Monday count", "count-idempotency_key": "c-1"},
        htmx=True,
    )
    assert response.status_code == 200
    assert "Count recorded (difference -3): 7 on hand." in response.get_data(as_text=True)
    assert _on_hand(app, product) == 7
    bad = client.post(f"/stock/products/{product}/count", data={"count-counted": "-1"}, htmx=True)
    assert bad.status_code == 400


def test_product_page_has_history_and_a_chart(client, auth, product):
    auth.login_as("viewer")
    page = client.get(f"/stock/products/{product}").get_data(as_text=True)
    assert '<svg viewBox="0 0 720 220" role="img"' in page
    assert "lowest 10, highest 10, now 10" in page
    assert "Received" in page


def test_create_and_edit_a_product(app, client, auth):
    auth.login_as("staff")
    created = client.post("/stock/products/new", data={"sku": "NEW-1", "name": "New thing", "unit": "pcs"})
    assert created.status_code == 303
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.sku == "NEW-1"))
        pid = product.id
    duplicate = client.post("/stock/products/new", data={"sku": "NEW-1", "name": "Again"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.get_data(as_text=True)
    edited = client.post(
        f"/stock/products/{pid}/edit",
        data={"sku": "NEW-1", "name": "Renamed", "low_stock_threshold": "3", "active": "y"},
    )
    assert edited.status_code == 303
    with app.app_context():
        assert db.session.get(Product, pid).name == "Renamed"
    bad = client.post(f"/stock/products/{pid}/edit", data={"sku": "has space", "name": "x"})
    assert bad.status_code == 400


def test_products_csv_uses_the_filters_and_defuses_formulas(app, client, auth, product):
    auth.login_as("viewer")
    with app.app_context():
        create_product(ProductData.clean(sku="EVIL-1", name="=HYPERLINK(1)"), user_id=None)
    everything = client.get("/stock.csv")
    assert everything.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(everything.get_data(as_text=True))))
    assert {r["sku"] for r in rows} == {"TEA-1", "EVIL-1"}
    assert next(r for r in rows if r["sku"] == "EVIL-1")["name"] == "'=HYPERLINK(1)"
    searched = list(csv.DictReader(io.StringIO(client.get("/stock.csv?q=tea").get_data(as_text=True))))
    assert [r["sku"] for r in searched] == ["TEA-1"]
    assert searched[0]["on_hand"] == "10"


def test_low_stock_filter(app, client, auth, product):
    auth.login_as("viewer")
    with app.app_context():
        remove_stock(product, 6, user_id=None)
        create_product(ProductData.clean(sku="PLENTY", name="Plenty"), user_id=None)
    page = client.get("/stock?low=y").get_data(as_text=True)
    assert "TEA-1" in page
    assert "PLENTY" not in page


def test_ledger_page_filters_and_exports(app, client, auth, product):
    auth.login_as("staff")
    _adjust(client, product, "-3", reason="expired", key="l-1")
    page = client.get("/stock/ledger?reason=expired").get_data(as_text=True)
    assert "Expired" in page
    export = client.get("/stock/ledger.csv?sku=TEA-1")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [(r["change"], r["reason"], r["balance_after"]) for r in rows] == [
        ("-3", "expired", "7"),
        ("10", "received", "10"),
    ]
    assert client.get("/stock/ledger?sku=NOPE").status_code == 400
    assert client.get("/stock/ledger?since=not-a-date").status_code == 400


# ---------------------------------------------------------------- issue 14


def test_a_sku_differing_only_in_case_is_refused_with_a_sentence(app, client, auth, product):
    auth.login_as("staff")
    response = client.post("/stock/products/new", data={"sku": "tea-1", "name": "Another tea"})
    assert response.status_code == 400
    assert "A product with SKU tea-1 already exists (TEA-1: SKUs are the same whatever their case)." in (
        response.get_data(as_text=True)
    )
    other = client.post("/stock/products/new", data={"sku": "Cup-2", "name": "Cup"})
    assert other.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Product.id))) == 2
        cup = db.session.scalar(select(Product).where(Product.sku == "Cup-2"))  # stored as typed
        cup_id = cup.id
    renamed = client.post(f"/stock/products/{cup_id}/edit", data={"sku": "TEA-1", "name": "Cup"})
    assert renamed.status_code == 400
    assert "already exists" in renamed.get_data(as_text=True)
    recased = client.post(f"/stock/products/{cup_id}/edit", data={"sku": "CUP-2", "name": "Cup"})
    assert recased.status_code == 303  # its own SKU in another case is still its own


def test_the_database_refuses_a_second_sku_in_another_case(app, product):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(Product(sku="Tea-1", name="Sneaked in"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_ledger_filter_and_lookups_ignore_the_case_of_a_sku(client, auth, product):
    auth.login_as("viewer")
    rows = list(csv.DictReader(io.StringIO(client.get("/stock/ledger.csv?sku=tea-1").get_data(as_text=True))))
    assert [r["sku"] for r in rows] == ["TEA-1"]


def test_the_ledger_and_its_csv_name_the_orders_reference(app, client, auth, product):
    from app.stock.orders import create_order, place_order

    with app.app_context():
        order = create_order(customer="Acme", lines=[(product, 2)], user_id=None, reference="ACME-0042")
        place_order(order.id, user_id=None)
        order_id = order.id
    auth.login_as("viewer")
    page = client.get("/stock/ledger").get_data(as_text=True)
    assert f'<a href="/orders/{order_id}">ACME-0042</a>' in page
    assert f">#{order_id}<" not in page
    product_page = client.get(f"/stock/products/{product}").get_data(as_text=True)
    assert ">ACME-0042</a>" in product_page
    rows = list(csv.DictReader(io.StringIO(client.get("/stock/ledger.csv").get_data(as_text=True))))
    assert [(r["reason"], r["order"]) for r in rows] == [("order", "ACME-0042"), ("received", "")]


def test_low_stock_only_applies_at_once_and_without_scripts(app, client, auth, product):
    auth.login_as("viewer")
    with app.app_context():
        remove_stock(product, 6, user_id=None)
        create_product(ProductData.clean(sku="PLENTY", name="Plenty"), user_id=None)
    page = client.get("/stock").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/stock"[^>]*>', page).group(0)
    assert 'hx-get="/stock"' in form
    assert "change" in re.search(r'hx-trigger="([^"]+)"', form).group(1)
    assert 'id="low"' in page
    assert '<button type="submit" class="secondary">Show</button>' in page
    fragment = client.get("/stock?low=y", htmx=True).get_data(as_text=True)  # what htmx swaps in on the change
    assert fragment.lstrip().startswith('<section id="product-results">')
    assert "TEA-1" in fragment
    assert "PLENTY" not in fragment
    assert 'data-testid="threshold">5<' in fragment
    assert 'data-testid="short-by">2<' in fragment  # 4 on hand, low at 5: 2 more to be above it
