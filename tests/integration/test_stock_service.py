"""The stock rules through the service functions, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.stock.errors import (
    DuplicateSku,
    IdempotencyConflict,
    InactiveProduct,
    InsufficientStock,
    InvalidOrder,
    InvalidQuantity,
    InvalidReason,
    OrderStateError,
    ProductNotFound,
)
from app.stock.ledger import add_stock, count_stock, remove_stock, verify_ledger
from app.stock.models import StockMovement
from app.stock.orders import cancel_order, create_order, fulfil_order, get_order, place_order
from app.stock.products import ProductData, create_product, get_product
from app.stock.quantities import parse_change


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def make_product(sku="BOLT-10", name="Bolt 10 mm", **extra):
    return create_product(ProductData.clean(sku=sku, name=name, **extra), user_id=None).id


def on_hand(product_id):
    return get_product(product_id).on_hand


def ledger(product_id):
    return db.session.scalars(
        select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id)
    ).all()


def test_add_and_remove_write_ledger_rows_with_balances(ctx):
    pid = make_product()
    add_stock(pid, 24, user_id=None, reason="received")
    remove_stock(pid, 5, user_id=None, reason="damaged", note="crushed box")
    assert on_hand(pid) == 19
    rows = ledger(pid)
    assert [(r.delta, r.reason, r.balance_after) for r in rows] == [(24, "received", 24), (-5, "damaged", 19)]
    assert rows[1].note == "crushed box"
    assert verify_ledger() == []


def test_stock_never_goes_negative(ctx):
    pid = make_product()
    add_stock(pid, 3, user_id=None)
    with pytest.raises(InsufficientStock) as refused:
        remove_stock(pid, 4, user_id=None, reason="used")
    assert (refused.value.sku, refused.value.available, refused.value.requested) == ("BOLT-10", 3, 4)
    assert on_hand(pid) == 3
    assert len(ledger(pid)) == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True, None, 10**9])
def test_bad_quantities_are_refused(ctx, bad):
    pid = make_product()
    with pytest.raises(InvalidQuantity):
        add_stock(pid, bad, user_id=None)
    assert ledger(pid) == []


def test_reasons_must_fit_the_direction(ctx):
    pid = make_product()
    with pytest.raises(InvalidReason):
        add_stock(pid, 1, user_id=None, reason="damaged")
    with pytest.raises(InvalidReason):
        remove_stock(pid, 1, user_id=None, reason="received")
    with pytest.raises(InvalidReason):
        add_stock(pid, 1, user_id=None, reason="order")  # the system's reason, not a person's


def test_unknown_and_inactive_products_are_refused(ctx):
    with pytest.raises(ProductNotFound):
        add_stock(999, 1, user_id=None)
    pid = make_product(active="false")
    with pytest.raises(InactiveProduct):
        add_stock(pid, 1, user_id=None)


def test_the_same_idempotency_key_adds_stock_once(ctx):
    pid = make_product()
    first = add_stock(pid, 24, user_id=None, idempotency_key="form-1")
    again = add_stock(pid, 24, user_id=None, idempotency_key="form-1")
    assert first.id == again.id
    assert on_hand(pid) == 24
    with pytest.raises(IdempotencyConflict):
        add_stock(pid, 25, user_id=None, idempotency_key="form-1")


def test_a_count_form_reused_for_a_different_figure_is_refused(ctx):
    pid = make_product()
    add_stock(pid, 10, user_id=None)
    count_stock(pid, 42, user_id=None, idempotency_key="count-form-1")
    assert count_stock(pid, 42, user_id=None, idempotency_key="count-form-1").balance_after == 42
    with pytest.raises(IdempotencyConflict):
        count_stock(pid, 40, user_id=None, idempotency_key="count-form-1")
    assert on_hand(pid) == 42


def test_count_records_the_difference_as_one_movement(ctx):
    pid = make_product()
    add_stock(pid, 10, user_id=None)
    count_stock(pid, 7, user_id=None, note="shelf count")
    count_stock(pid, 7, user_id=None)  # a count that matches is recorded too
    assert on_hand(pid) == 7
    assert [(r.delta, r.reason) for r in ledger(pid)] == [(10, "received"), (-3, "count"), (0, "count")]
    with pytest.raises(InvalidQuantity):
        count_stock(pid, -1, user_id=None)


def test_duplicate_sku_is_refused(ctx):
    make_product()
    with pytest.raises(DuplicateSku):
        make_product()


def test_placing_takes_every_line_or_none(ctx):
    bolts, nuts = make_product("BOLT"), make_product("NUT")
    add_stock(bolts, 10, user_id=None)
    add_stock(nuts, 2, user_id=None)
    order = create_order(customer="Acme", lines=[(bolts, 5), (nuts, 3)], user_id=None)
    with pytest.raises(InsufficientStock) as refused:
        place_order(order.id, user_id=None)
    assert "NUT: 2 available, 3 needed" in str(refused.value)
    assert (on_hand(bolts), on_hand(nuts)) == (10, 2)
    assert get_order(order.id).status == "draft"

    add_stock(nuts, 1, user_id=None)
    placed = place_order(order.id, user_id=None)
    assert placed.status == "placed"
    assert (on_hand(bolts), on_hand(nuts)) == (5, 0)
    with pytest.raises(OrderStateError):
        place_order(order.id, user_id=None)


def test_cancelling_returns_stock_exactly_once(ctx):
    pid = make_product()
    add_stock(pid, 10, user_id=None)
    order = create_order(customer="Acme", lines=[(pid, 4)], user_id=None)
    place_order(order.id, user_id=None)
    assert on_hand(pid) == 6
    cancel_order(order.id, user_id=None)
    assert on_hand(pid) == 10
    with pytest.raises(OrderStateError):
        cancel_order(order.id, user_id=None)
    assert on_hand(pid) == 10
    reasons = [r.reason for r in ledger(pid)]
    assert reasons == ["received", "order", "order_cancelled"]
    assert verify_ledger() == []


def test_fulfilled_orders_keep_their_stock_taken(ctx):
    pid = make_product()
    add_stock(pid, 5, user_id=None)
    order = create_order(customer="Acme", lines=[(pid, 5)], user_id=None)
    with pytest.raises(OrderStateError):
        fulfil_order(order.id, user_id=None)  # a draft cannot ship
    place_order(order.id, user_id=None)
    fulfil_order(order.id, user_id=None)
    with pytest.raises(OrderStateError):
        cancel_order(order.id, user_id=None)
    assert on_hand(pid) == 0


def test_bad_orders_are_refused_and_write_nothing(ctx):
    pid = make_product()
    with pytest.raises(InvalidOrder):
        create_order(customer="Acme", lines=[], user_id=None)
    with pytest.raises(InvalidOrder):
        create_order(customer="Acme", lines=[(pid, 1), (pid, 2)], user_id=None)
    with pytest.raises(InvalidOrder):
        create_order(customer="  ", lines=[(pid, 1)], user_id=None)
    with pytest.raises(InvalidQuantity):
        create_order(customer="Acme", lines=[(pid, 0)], user_id=None)
    with pytest.raises(ProductNotFound):
        create_order(customer="Acme", lines=[(12345, 1)], user_id=None)
    from app.stock.models import Order

    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_verify_names_products_whose_total_drifted(ctx):
    pid = make_product("DRIFT-1")
    add_stock(pid, 5, user_id=None)
    from sqlalchemy import text

    db.session.execute(text("UPDATE products SET on_hand = 7 WHERE id = :id"), {"id": pid})
    db.session.commit()
    mismatches = verify_ledger()
    assert [(m.sku, m.on_hand, m.ledger_sum) for m in mismatches] == [("DRIFT-1", 7, 5)]


@pytest.mark.parametrize(("text", "value"), [("+24", 24), ("24", 24), (" -3 ", -3), ("+ 7", 7)])
def test_parse_change(ctx, text, value):
    assert parse_change(text) == value


@pytest.mark.parametrize("text", ["", "+", "1e9", "2.5", "abc", "--3", "0", "+0", "99999999999"])
def test_parse_change_refuses(ctx, text):
    with pytest.raises(InvalidQuantity):
        parse_change(text)
