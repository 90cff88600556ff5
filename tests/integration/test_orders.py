"""Orders in the browser: write a draft, place it (all lines or none), cancel, fulfil, export."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.stock.ledger import add_stock
from app.stock.models import Order, Product
from app.stock.orders import create_order
from app.stock.products import ProductData, create_product


@pytest.fixture
def stocked(app):
    with app.app_context():
        bolts = create_product(ProductData.clean(sku="BOLT", name="Bolt"), user_id=None)
        nuts = create_product(ProductData.clean(sku="NUT", name="Nut"), user_id=None)
        add_stock(bolts.id, 10, user_id=None)
        add_stock(nuts.id, 2, user_id=None)
        return {"BOLT": bolts.id, "NUT": nuts.id}


def _on_hand(app):
    with app.app_context():
        return {p.sku: p.on_hand for p in db.session.scalars(select(Product))}


def _new_order(client, lines, customer="Acme Ltd"):
    data = {"customer": customer, "reference": "", "note": ""}
    for i, (sku, qty) in enumerate(lines):
        data[f"lines-{i}-sku"] = sku
        data[f"lines-{i}-quantity"] = qty
    return client.post("/orders/new", data=data)


def test_a_short_order_names_the_sku_and_changes_nothing(app, client, auth, stocked):
    auth.login_as("staff")
    created = _new_order(client, [("BOLT", "5"), ("NUT", "3")])
    assert created.status_code == 303
    order_url = created.headers["Location"]
    order_id = int(order_url.rsplit("/", 1)[1])
    refused = client.post(f"{order_url}/place")
    assert refused.status_code == 409
    assert "NUT: 2 available, 3 needed" in refused.get_data(as_text=True)
    assert _on_hand(app) == {"BOLT": 10, "NUT": 2}
    with app.app_context():
        assert db.session.get(Order, order_id).status == "draft"


def test_place_then_cancel_returns_stock_once(app, client, auth, stocked):
    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "4"), ("NUT", "2")]).headers["Location"]
    assert client.post(f"{order_url}/place").status_code == 303
    assert _on_hand(app) == {"BOLT": 6, "NUT": 0}
    assert client.post(f"{order_url}/cancel").status_code == 303
    assert _on_hand(app) == {"BOLT": 10, "NUT": 2}
    again = client.post(f"{order_url}/cancel")
    assert again.status_code == 409
    assert "is cancelled, so it cannot be cancelled" in again.get_data(as_text=True)
    assert _on_hand(app) == {"BOLT": 10, "NUT": 2}


def test_fulfil_a_placed_order(app, client, auth, stocked):
    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "1")]).headers["Location"]
    client.post(f"{order_url}/place")
    assert client.post(f"{order_url}/fulfil").status_code == 303
    assert 'data-testid="order-status">fulfilled<' in client.get(order_url).get_data(as_text=True)
    assert client.post(f"{order_url}/cancel").status_code == 409


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "An order needs at least one line."),
        ([("BOLT", "1"), ("BOLT", "2")], "Line 2 repeats BOLT from line 1"),
        ([("GHOST", "1")], "There is no product with SKU"),
        ([("BOLT", "0")], "must be more than zero"),
        ([("BOLT", "-2")], "Type the number"),
        ([("BOLT", "1e9")], "Type the number"),
        ([("", "3")], "Line 1: which SKU?"),
    ],
)
def test_bad_orders_get_a_message_and_save_nothing(app, client, auth, stocked, lines, message):
    auth.login_as("staff")
    response = _new_order(client, lines)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Order)).all() == []


def test_orders_csv_has_one_row_per_line_and_the_page_filters(app, client, auth, stocked):
    auth.login_as("staff")
    placed = _new_order(client, [("BOLT", "1"), ("NUT", "1")], customer="Placed Co").headers["Location"]
    client.post(f"{placed}/place")
    _new_order(client, [("BOLT", "2")], customer="Draft Co")
    rows = list(csv.DictReader(io.StringIO(client.get("/orders.csv?status=placed").get_data(as_text=True))))
    assert [(r["customer"], r["sku"], r["quantity"]) for r in rows] == [
        ("Placed Co", "BOLT", "1"),
        ("Placed Co", "NUT", "1"),
    ]
    listing = client.get("/orders?q=draft").get_data(as_text=True)
    assert "Draft Co" in listing
    assert "Placed Co" not in listing


def test_add_line_button_counts_on(client, auth, stocked):
    auth.login_as("staff")
    response = client.get("/orders/new/line?index=3", htmx=True)
    body = response.get_data(as_text=True)
    assert 'name="lines-3-sku"' in body
    assert re.search(r'id="add-line" name="index" value="4"', body)
    assert 'hx-swap-oob="true"' in body
    assert client.get("/orders/new/line?index=500", htmx=True).status_code == 400


def test_viewers_see_orders_but_cannot_act(app, client, auth, stocked):
    with app.app_context():
        order_id = create_order(customer="Acme", lines=[(stocked["BOLT"], 1)], user_id=None).id
    auth.login_as("viewer")
    assert client.get(f"/orders/{order_id}").status_code == 200
    assert client.post(f"/orders/{order_id}/place").status_code == 403
    assert client.get("/orders/new").status_code == 403
    assert _on_hand(app)["BOLT"] == 10
