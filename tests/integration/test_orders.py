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


# ---------------------------------------------------------------- issue 14: cancelling asks first


def test_cancelling_a_placed_order_asks_first_and_says_what_comes_back(app, client, auth, stocked):
    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "4"), ("NUT", "2")]).headers["Location"]
    client.post(f"{order_url}/place")
    page = client.get(order_url).get_data(as_text=True)
    assert f'href="{order_url}/cancel"' in page  # the order's page links to the question, it does not cancel
    assert f'action="{order_url}/cancel"' not in page
    question = client.get(f"{order_url}/cancel")
    assert question.status_code == 200
    body = question.get_data(as_text=True)
    assert 'data-testid="confirm-cancel"' in body
    returns = re.findall(r"<td>(BOLT|NUT)</td>\s*<td>[^<]*</td>\s*<td class=\"num\">\+(\d+) pcs</td>", body)
    assert returns == [("BOLT", "4"), ("NUT", "2")]
    assert "return 6 units to stock" in body
    assert f'action="{order_url}/cancel"' in body
    assert _on_hand(app) == {"BOLT": 6, "NUT": 0}  # asking changed nothing
    assert client.post(f"{order_url}/cancel").status_code == 303
    assert _on_hand(app) == {"BOLT": 10, "NUT": 2}


def test_the_cancel_question_for_a_draft_says_no_stock_moves(client, auth, stocked):
    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "4")]).headers["Location"]
    body = client.get(f"{order_url}/cancel").get_data(as_text=True)
    assert "no stock was taken, so none moves" in body


def test_the_cancel_question_is_not_asked_of_a_cancelled_order_nor_by_a_viewer(app, client, auth, stocked):
    with app.app_context():
        order_id = create_order(customer="Acme", lines=[(stocked["BOLT"], 1)], user_id=None).id
    auth.login_as("viewer")
    assert client.get(f"/orders/{order_id}/cancel").status_code == 403
    auth.logout()
    auth.login_as("staff")
    client.post(f"/orders/{order_id}/cancel")
    again = client.get(f"/orders/{order_id}/cancel")
    assert again.status_code == 303
    assert "cannot be cancelled" in client.get(f"/orders/{order_id}").get_data(as_text=True)


def test_a_cancel_without_the_form_token_is_refused(app, client, auth, stocked):
    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "4")]).headers["Location"]
    client.post(f"{order_url}/place")
    assert client.post(f"{order_url}/cancel", csrf=False).status_code == 400
    assert _on_hand(app)["BOLT"] == 6


# ---------------------------------------------------------------- issue 14: SKUs ignore case; the order's words


def test_order_lines_match_skus_whatever_their_case(app, client, auth, stocked):
    auth.login_as("staff")
    created = _new_order(client, [("bolt", "2"), (" Nut ", "1")])
    assert created.status_code == 303
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        assert sorted((line.product.sku, line.quantity) for line in order.lines) == [("BOLT", 2), ("NUT", 1)]


def test_the_same_sku_in_another_case_on_two_lines_is_one_product(client, auth, stocked):
    auth.login_as("staff")
    response = _new_order(client, [("BOLT", "1"), ("bolt", "2")])
    assert response.status_code == 400
    assert "Line 2 repeats BOLT from line 1" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-2", "Type the number of units to order, more than zero, like 3, not &#39;-2&#39;"),
        ("0", "The quantity on line 1 must be more than zero."),
        ("lots", "Type the number of units to order, like 3"),
    ],
)
def test_a_bad_order_quantity_gets_the_orders_message_not_the_counts(app, client, auth, stocked, quantity, message):
    auth.login_as("staff")
    response = _new_order(client, [("BOLT", quantity)])
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body
    assert "counted" not in body
    with app.app_context():
        assert db.session.scalars(select(Order)).all() == []


# ---------------------------------------------------------------- issue 14: the orders CSV's times


def test_orders_csv_has_placed_fulfilled_and_cancelled_times(app, client, auth, stocked):
    auth.login_as("staff")
    fulfilled = _new_order(client, [("BOLT", "1")], customer="Fulfilled Co").headers["Location"]
    client.post(f"{fulfilled}/place")
    client.post(f"{fulfilled}/fulfil")
    cancelled = _new_order(client, [("NUT", "1")], customer="Cancelled Co").headers["Location"]
    client.post(f"{cancelled}/place")
    client.post(f"{cancelled}/cancel")
    rows = {r["customer"]: r for r in csv.DictReader(io.StringIO(client.get("/orders.csv").get_data(as_text=True)))}
    assert rows["Fulfilled Co"]["placed_at"]
    assert rows["Fulfilled Co"]["fulfilled_at"]
    assert rows["Fulfilled Co"]["cancelled_at"] == ""
    assert rows["Cancelled Co"]["placed_at"]
    assert rows["Cancelled Co"]["cancelled_at"]
    assert rows["Cancelled Co"]["fulfilled_at"] == ""


# ---------------------------------------------------------------- issue 14: editing a draft


def _edit(client, order_url, lines, customer="Acme Ltd", note=""):
    data = {"customer": customer, "note": note}
    for i, (sku, qty) in enumerate(lines):
        data[f"lines-{i}-sku"] = sku
        data[f"lines-{i}-quantity"] = qty
    return client.post(f"{order_url}/edit", data=data)


def test_a_draft_can_be_edited_lines_added_changed_removed_and_it_is_audited(app, client, auth, stocked):
    from app.ops.models import AuditEvent

    with app.app_context():
        create_product(ProductData.clean(sku="WASHER", name="Washer"), user_id=None)
    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "4"), ("NUT", "1")]).headers["Location"]
    form = client.get(f"{order_url}/edit")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert 'name="lines-0-sku" value="BOLT"' in body
    assert 'value="4"' in body
    saved = _edit(client, order_url, [("BOLT", "6"), ("", ""), ("washer", "3")], customer="Acme Ltd (north)")
    assert saved.status_code == 303
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        assert order.customer == "Acme Ltd (north)"
        assert [(line.product.sku, line.quantity) for line in order.lines] == [("BOLT", 6), ("WASHER", 3)]
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "order.edit")).one()
        assert "lines" in event.summary
        assert "customer" in event.summary
    assert _on_hand(app) == {"BOLT": 10, "NUT": 2, "WASHER": 0}  # a draft moves no stock
    assert client.post(f"{order_url}/place").status_code == 409  # WASHER has none: the edited lines are placed


def test_a_bad_edit_gets_a_message_and_changes_nothing(app, client, auth, stocked):
    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "4")]).headers["Location"]
    for lines, message in [
        ([("", "")], "An order needs at least one line."),
        ([("BOLT", "-1")], "Type the number of units to order"),
        ([("GHOST", "1")], "There is no product with SKU"),
        ([("BOLT", "1"), ("bolt", "1")], "repeats BOLT"),
    ]:
        response = _edit(client, order_url, lines)
        assert response.status_code == 400, lines
        assert message in response.get_data(as_text=True)
    with app.app_context():
        order = db.session.scalars(select(Order)).one()
        assert [(line.product.sku, line.quantity) for line in order.lines] == [("BOLT", 4)]


def test_a_placed_order_cannot_be_edited(app, client, auth, stocked):
    from app.stock.errors import OrderStateError
    from app.stock.orders import update_draft

    auth.login_as("staff")
    order_url = _new_order(client, [("BOLT", "4")]).headers["Location"]
    client.post(f"{order_url}/place")
    assert 'data-testid="edit-order"' not in client.get(order_url).get_data(as_text=True)
    assert client.get(f"{order_url}/edit").status_code == 303
    assert _edit(client, order_url, [("BOLT", "9")]).status_code == 303  # sent back to the order: nothing saved
    order_id = int(order_url.rsplit("/", 1)[1])
    with app.app_context():
        with pytest.raises(OrderStateError, match="only a draft can be"):
            update_draft(order_id, customer="X", lines=[(stocked["BOLT"], 9)], user_id=None)
        assert db.session.get(Order, order_id).lines[0].quantity == 4
    assert _on_hand(app)["BOLT"] == 6


def test_viewers_cannot_edit_a_draft(app, client, auth, stocked):
    with app.app_context():
        order_id = create_order(customer="Acme", lines=[(stocked["BOLT"], 1)], user_id=None).id
    auth.login_as("viewer")
    assert client.get(f"/orders/{order_id}/edit").status_code == 403
    assert client.post(f"/orders/{order_id}/edit", data={"customer": "X"}).status_code == 403


def test_a_line_shows_the_products_name_and_on_hand_while_typing(client, auth, stocked):
    auth.login_as("staff")
    found = client.get("/orders/lookup?lines-0-sku=bolt", htmx=True)
    assert found.status_code == 200
    body = found.get_data(as_text=True)
    assert "Bolt" in body
    assert "10 pcs on hand" in body
    missing = client.get("/orders/lookup?lines-2-sku=%3Cb%3Eghost", htmx=True).get_data(as_text=True)
    assert "No product has SKU &lt;b&gt;ghost." in missing
    assert client.get("/orders/lookup", htmx=True).get_data(as_text=True).strip() == ""
    form = client.get("/orders/new").get_data(as_text=True)
    assert 'hx-get="/orders/lookup"' in form
    assert 'hx-target="#lines-0-info"' in form
