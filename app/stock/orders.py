"""Orders: a draft of lines (editable until placed), placed (every line's stock taken, or none), cancelled, fulfilled.

A draft moves no stock. Placing and cancelling a placed order move stock through the ledger, in
one transaction with the order's change of status; the status changes with a conditional UPDATE,
so two people pressing the same button move the stock once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select, update

from app.database import begin_write
from app.db_types import utcnow
from app.extensions import db
from app.ops import audit
from app.stock.errors import (
    InactiveProduct,
    InsufficientStock,
    InvalidOrder,
    OrderNotFound,
    OrderStateError,
    Shortage,
)
from app.stock.ledger import apply_movement, commit_change, roll_back_change
from app.stock.models import Order, OrderLine, OrderStatus, Product, Reason
from app.stock.products import get_product
from app.stock.quantities import check_quantity


def get_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(f"There is no order number {order_id}.")
    return order


def _clean_customer(customer: str) -> str:
    customer = " ".join((customer or "").split())
    if not customer:
        raise InvalidOrder("Say who the order is for.")
    if len(customer) > 200:
        raise InvalidOrder("The customer name can have at most 200 characters.")
    return customer


def _check_lines(lines: Sequence[tuple[int, int]]) -> None:
    """Every line a product that can be ordered, a quantity above zero, each product on one line only."""
    if not lines:
        raise InvalidOrder("An order needs at least one line.")
    seen: dict[int, int] = {}
    for number, (product_id, quantity) in enumerate(lines, start=1):
        check_quantity(quantity, what=f"quantity on line {number}")
        product = get_product(product_id)
        if not product.active:
            raise InactiveProduct(f"Line {number}: {product.sku} is inactive and cannot be ordered.")
        if product_id in seen:
            raise InvalidOrder(f"Line {number} repeats {product.sku} from line {seen[product_id]}: put it on one line.")
        seen[product_id] = number


def create_order(
    *,
    customer: str,
    lines: Sequence[tuple[int, int]],
    user_id: int | None,
    reference: str | None = None,
    note: str | None = None,
) -> Order:
    """A draft order of (product id, quantity) lines; no stock moves until it is placed."""
    customer = _clean_customer(customer)
    _check_lines(lines)
    reference = (reference or "").strip() or f"ORD-{utcnow():%Y%m%d}-{secrets.token_hex(3).upper()}"
    if len(reference) > 64:
        raise InvalidOrder("The reference can have at most 64 characters.")
    if db.session.scalar(select(Order.id).where(Order.reference == reference)) is not None:
        raise InvalidOrder(f"An order with reference {reference} already exists.")
    order = Order(reference=reference, customer=customer, note=(note or "").strip() or None, created_by=user_id)
    order.lines = [OrderLine(product_id=p, quantity=q) for p, q in lines]
    db.session.add(order)
    db.session.flush()
    audit.record_about(
        order,
        "order.create",
        f"Created order {reference} for {customer} ({len(lines)} lines)",
        user_id,
        after={"reference": reference, "customer": customer, "lines": [list(line) for line in lines]},
    )
    db.session.commit()
    return order


def update_draft(
    order_id: int,
    *,
    customer: str,
    lines: Sequence[tuple[int, int]],
    user_id: int | None,
    note: str | None = None,
) -> Order:
    """Rewrite a draft's customer, note and lines (added, changed, removed); refused once it is placed.

    The order's row is locked first, so an edit and a "place" pressed at the same moment happen one
    after the other: either the edit lands on the draft and the placing takes the edited lines, or the
    order is placed and the edit is refused.
    """
    customer = _clean_customer(customer)
    note = (note or "").strip() or None
    db.session.rollback()
    begin_write()
    try:
        order = db.session.scalar(
            select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
        )
        if order is None:
            raise OrderNotFound(f"There is no order number {order_id}.")
        if order.status != OrderStatus.DRAFT:
            raise OrderStateError(
                f"Order {order.reference} is {order.status}, so it cannot be changed: only a draft can be."
            )
        _check_lines(lines)
        before = {
            "customer": order.customer,
            "note": order.note,
            "lines": [[line.product_id, line.quantity] for line in order.lines],
        }
        after = {"customer": customer, "note": note, "lines": [list(line) for line in lines]}
        if before == after:
            db.session.rollback()
            return get_order(order_id)
        wanted = dict(lines)
        kept = {line.product_id: line for line in order.lines if line.product_id in wanted}
        for line in list(order.lines):
            if line.product_id not in wanted:
                order.lines.remove(line)
        db.session.flush()  # removed lines go first, so a product can come back on a new line
        for product_id, quantity in lines:
            if product_id in kept:
                kept[product_id].quantity = quantity
            else:
                order.lines.append(OrderLine(product_id=product_id, quantity=quantity))
        order.customer, order.note = customer, note
        db.session.flush()
        changed = [name for name in ("customer", "note", "lines") if before[name] != after[name]]
        audit.record(
            "order.edit",
            target_type="order",
            target_id=order_id,
            summary=f"Changed {', '.join(changed)} of draft order {order.reference}",
            actor_id=user_id,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return get_order(order_id)


def _lock_products(product_ids: Sequence[int]) -> dict[int, Product]:
    """Lock the products in id order, so two orders sharing products never deadlock."""
    rows = db.session.scalars(
        select(Product)
        .where(Product.id.in_(sorted(set(product_ids))))
        .order_by(Product.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {product.id: product for product in rows}


def _transition(order_id: int, source: OrderStatus, target: OrderStatus, **stamps) -> bool:
    """Move the order from `source` to `target` if it is still in `source`; True when this call did it."""
    result = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == source.value)
        .values(status=target.value, **stamps)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _state_error(order: Order, doing: str) -> OrderStateError:
    db.session.refresh(order)
    return OrderStateError(f"Order {order.reference} is {order.status}, so it cannot be {doing}.")


@contextmanager
def _moving_stock() -> Iterator[None]:
    """One write transaction that moves stock: committed (and its alerts noticed) when the block ends,
    undone when it raises."""
    db.session.rollback()
    begin_write()
    try:
        yield
        commit_change()
    except Exception:
        roll_back_change()
        raise


def place_order(order_id: int, *, user_id: int | None) -> Order:
    """Take the stock of every line, or of none: a short line names its SKU and what is available."""
    with _moving_stock():
        order = get_order(order_id)
        if not _transition(order_id, OrderStatus.DRAFT, OrderStatus.PLACED, placed_at=utcnow()):
            raise _state_error(order, "placed")
        lines = sorted(order.lines, key=lambda line: line.product_id)
        products = _lock_products([line.product_id for line in lines])
        retired = [products[line.product_id].sku for line in lines if not products[line.product_id].active]
        if retired:
            raise InactiveProduct(f"{', '.join(retired)} became inactive after the order was written: remove the line.")
        shortages = [
            Shortage(products[line.product_id].sku, line.quantity, products[line.product_id].on_hand)
            for line in lines
            if products[line.product_id].on_hand < line.quantity
        ]
        if shortages:
            raise InsufficientStock(shortages)
        for line in lines:
            apply_movement(line.product_id, -line.quantity, reason=Reason.ORDER, user_id=user_id, order_id=order_id)
        audit.record(
            "order.place",
            target_type="order",
            target_id=order_id,
            summary=f"Placed order {order.reference} ({order.total_units} units)",
            actor_id=user_id,
        )
    return get_order(order_id)


def cancel_order(order_id: int, *, user_id: int | None) -> Order:
    """Cancel a draft or placed order; a placed order's stock comes back exactly once."""
    with _moving_stock():
        order = get_order(order_id)
        now = utcnow()
        if _transition(order_id, OrderStatus.PLACED, OrderStatus.CANCELLED, cancelled_at=now):
            lines = sorted(order.lines, key=lambda line: line.product_id)
            _lock_products([line.product_id for line in lines])
            for line in lines:
                apply_movement(
                    line.product_id,
                    line.quantity,
                    reason=Reason.ORDER_CANCELLED,
                    user_id=user_id,
                    order_id=order_id,
                    allow_inactive=True,  # stock comes back even if the product was retired meanwhile
                )
            summary = f"Cancelled placed order {order.reference}; {order.total_units} units back in stock"
        elif _transition(order_id, OrderStatus.DRAFT, OrderStatus.CANCELLED, cancelled_at=now):
            summary = f"Cancelled draft order {order.reference}"
        else:
            raise _state_error(order, "cancelled")
        audit.record("order.cancel", target_type="order", target_id=order_id, summary=summary, actor_id=user_id)
    return get_order(order_id)


def fulfil_order(order_id: int, *, user_id: int | None) -> Order:
    """Mark a placed order as shipped; its stock was taken when it was placed."""
    order = get_order(order_id)
    if not _transition(order_id, OrderStatus.PLACED, OrderStatus.FULFILLED, fulfilled_at=utcnow()):
        db.session.rollback()
        raise _state_error(order, "marked fulfilled")
    audit.record(
        "order.fulfil",
        target_type="order",
        target_id=order_id,
        summary=f"Order {order.reference} fulfilled",
        actor_id=user_id,
    )
    db.session.commit()
    return get_order(order_id)
