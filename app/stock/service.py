"""The rules of stock: every change is a ledger row, and on-hand never drifts from it.

Plain functions for views, CLI, tasks and tests. Each public function is one
transaction: it commits when it succeeds and leaves nothing behind when it
raises. `_apply_movement` is the only code that changes `Product.on_hand`: one
conditional UPDATE (`on_hand = on_hand + :delta WHERE on_hand + :delta >= 0`)
and the ledger row, in the same transaction — never a total computed in Python.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TypeVar

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.db_types import utcnow
from app.extensions import db
from app.ops import audit
from app.stock import alerts
from app.stock.errors import (
    DuplicateSku,
    IdempotencyConflict,
    InactiveProduct,
    InsufficientStock,
    InvalidOrder,
    InvalidProduct,
    InvalidQuantity,
    InvalidReason,
    OrderNotFound,
    OrderStateError,
    ProductNotFound,
    Shortage,
)
from app.stock.models import (
    DECREASE_REASONS,
    INCREASE_REASONS,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Reason,
    StockMovement,
)

T = TypeVar("T")
# A quantity as typed: an optional sign, spaces, up to 12 digits. Matched with fullmatch on text that is
# already stripped and bounded: the sign and the spaces cannot trade characters, so it never backtracks.
_CHANGE = re.compile(r"([+-]?)\s*(\d{1,12})")
MAX_QUANTITY_CHARS = 20  # "+24" needs 3; anything longer than this is not a quantity a person typed
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


# ---------------------------------------------------------------- quantities


def max_movement() -> int:
    return current_app.config["MAX_MOVEMENT"]


def check_quantity(quantity: object, *, what: str = "quantity", allow_zero: bool = False) -> int:
    """A whole number within the allowed range, or InvalidQuantity saying what is wrong."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(f"The {what} must be a whole number, not {quantity!r}.")
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise InvalidQuantity(
            f"The {what} must be more than zero." if not allow_zero else f"The {what} cannot be negative."
        )
    limit = max_movement()
    if quantity > limit:
        raise InvalidQuantity(f"The {what} {quantity} is more than the {limit} allowed in one go.")
    return quantity


def _quantity_parts(text: str | None) -> tuple[str, str] | None:
    """The sign and digits of a typed quantity, or None.

    Bounded first and stripped before the one regular expression, which is a fullmatch with
    nothing to backtrack over: a field of 50,000 spaces used to take half a minute here.
    """
    text = (text or "").strip()
    if len(text) > MAX_QUANTITY_CHARS:
        return None
    match = _CHANGE.fullmatch(text)
    return (match.group(1), match.group(2)) if match else None


def _shown(text: str | None) -> str:
    """The start of what was typed, for an error message (never the whole of a huge value)."""
    return repr((text or "")[:200].strip()[:40])


def parse_change(text: str) -> int:
    """`+24`, `24` or `-3` as a signed whole number; anything else is InvalidQuantity."""
    parts = _quantity_parts(text)
    if parts is None:
        raise InvalidQuantity(f"Type a whole number like +24 or -3, not {_shown(text)}.")
    sign, digits = parts
    value = int(digits)
    check_quantity(value, what="change")
    return -value if sign == "-" else value


def parse_count(text: str) -> int:
    """A counted figure: a whole number, zero or more."""
    parts = _quantity_parts(text)
    if parts is None or parts[0]:
        raise InvalidQuantity(f"Type the number you counted, like 42, not {_shown(text)}.")
    return check_quantity(int(parts[1]), what="count", allow_zero=True)


def _reason(value: str | Reason, allowed: Sequence[Reason], direction: str) -> Reason:
    try:
        reason = Reason(value)
    except ValueError:
        reason = None
    if reason not in allowed:
        names = ", ".join(r.value for r in allowed)
        raise InvalidReason(f"{value!r} is not a reason to {direction} stock; use one of {names}.")
    return reason


# ---------------------------------------------------------------- the ledger


def _why_not_applied(product_id: int, delta: int, allow_inactive: bool) -> Exception:
    """The conditional update touched no row: say which rule stopped it."""
    product = db.session.get(Product, product_id, populate_existing=True)
    if product is None:
        return ProductNotFound(f"There is no product number {product_id}.")
    if not product.active and not allow_inactive:
        return InactiveProduct(f"{product.sku} is inactive: reactivate it before changing its stock.")
    return InsufficientStock([Shortage(product.sku, requested=-delta, available=product.on_hand)])


def _apply_movement(
    product_id: int,
    delta: int,
    *,
    reason: Reason,
    user_id: int | None,
    note: str | None = None,
    order_id: int | None = None,
    idempotency_key: str | None = None,
    allow_inactive: bool = False,
) -> StockMovement:
    """Change on-hand by `delta` and write its ledger row; the caller commits."""
    conditions = [Product.id == product_id, Product.on_hand + delta >= 0]
    if not allow_inactive:
        conditions.append(Product.active.is_(True))
    statement = (
        update(Product)
        .where(*conditions)
        .values(on_hand=Product.on_hand + delta, updated_at=utcnow())
        .returning(Product.on_hand, Product.low_stock_threshold, Product.active)
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(statement).one_or_none()
    if row is None:
        raise _why_not_applied(product_id, delta, allow_inactive)
    balance, threshold, active = row
    movement = StockMovement(
        product_id=product_id,
        delta=delta,
        reason=reason.value,
        note=(note or "").strip()[:500] or None,
        user_id=user_id,
        order_id=order_id,
        balance_after=balance,
        idempotency_key=idempotency_key,
    )
    db.session.add(movement)
    db.session.flush()
    # The crossing is decided here, under the row lock, from this movement's own before and after.
    alerts.on_movement(product_id, balance - delta, balance, threshold if active else 0, movement.id)
    return movement


def _commit() -> None:
    """Commit a stock transaction, then have any alert it opened noticed (never before the commit)."""
    db.session.commit()
    alerts.notify_after_commit()


def _rollback() -> None:
    db.session.rollback()
    alerts.forget_pending()


def _replayed(key: str | None, product_id: int, matches: Callable[[StockMovement], bool]) -> StockMovement | None:
    """The movement this key already made, if any; a key reused for another change is refused."""
    if not key:
        return None
    existing = db.session.scalar(select(StockMovement).where(StockMovement.idempotency_key == key))
    if existing is None:
        return None
    if existing.product_id != product_id or not matches(existing):
        raise IdempotencyConflict("This form was already used for a different change. Reload the page and try again.")
    return existing


def _once(key: str | None, product_id: int, matches: Callable[[StockMovement], bool], write: Callable[[], T]) -> T:
    """Run `write` in a write transaction unless `key` already did; commit; replay on a race."""
    db.session.rollback()  # start clean: this function is one transaction
    begin_write()
    existing = _replayed(key, product_id, matches)
    if existing is not None:
        db.session.rollback()
        return existing  # type: ignore[return-value]
    try:
        result = write()
        _commit()
    except IntegrityError:
        # A concurrent request with the same key committed first; its movement stands for ours.
        _rollback()
        existing = _replayed(key, product_id, matches)
        if existing is None:
            raise
        return existing  # type: ignore[return-value]
    except Exception:
        _rollback()
        raise
    return result


def add_stock(
    product_id: int,
    quantity: int,
    *,
    user_id: int | None,
    reason: str | Reason = Reason.RECEIVED,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> StockMovement:
    """Put `quantity` units into stock for `reason` (received, returned, correction)."""
    quantity = check_quantity(quantity)
    reason = _reason(reason, INCREASE_REASONS, "add")
    return _once(
        idempotency_key,
        product_id,
        lambda m: m.delta == quantity and m.reason == reason.value,
        lambda: _apply_movement(
            product_id, quantity, reason=reason, user_id=user_id, note=note, idempotency_key=idempotency_key
        ),
    )


def remove_stock(
    product_id: int,
    quantity: int,
    *,
    user_id: int | None,
    reason: str | Reason = Reason.USED,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> StockMovement:
    """Take `quantity` units out for `reason` (damaged, expired, used, correction); never below zero."""
    quantity = check_quantity(quantity)
    reason = _reason(reason, DECREASE_REASONS, "remove")
    return _once(
        idempotency_key,
        product_id,
        lambda m: m.delta == -quantity and m.reason == reason.value,
        lambda: _apply_movement(
            product_id, -quantity, reason=reason, user_id=user_id, note=note, idempotency_key=idempotency_key
        ),
    )


def count_stock(
    product_id: int,
    counted: int,
    *,
    user_id: int | None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> StockMovement:
    """Record a stocktake: the difference between `counted` and on-hand becomes one movement."""
    counted = check_quantity(counted, what="count", allow_zero=True)

    def write() -> StockMovement:
        # Lock the row (PostgreSQL; SQLite holds the write lock already) so the
        # difference is taken against the figure nobody else can change meanwhile.
        product = db.session.scalar(
            select(Product).where(Product.id == product_id).with_for_update().execution_options(populate_existing=True)
        )
        if product is None:
            raise ProductNotFound(f"There is no product number {product_id}.")
        if not product.active:
            raise InactiveProduct(f"{product.sku} is inactive: reactivate it before counting it.")
        delta = counted - product.on_hand
        return _apply_movement(
            product_id, delta, reason=Reason.COUNT, user_id=user_id, note=note, idempotency_key=idempotency_key
        )

    # A count's balance after is the counted figure: the same key with another figure is another count.
    return _once(
        idempotency_key, product_id, lambda m: m.reason == Reason.COUNT.value and m.balance_after == counted, write
    )


def new_idempotency_key() -> str:
    """A fresh key for a form that changes stock."""
    return secrets.token_urlsafe(18)


# ---------------------------------------------------------------- products


@dataclass(frozen=True)
class ProductData:
    """A product's editable fields, validated."""

    sku: str
    name: str
    unit: str = "pcs"
    low_stock_threshold: int = 0
    reorder_quantity: int = 0
    active: bool = True

    @classmethod
    def clean(cls, **values: object) -> ProductData:
        """Check every field; InvalidProduct lists all problems at once."""
        errors: dict[str, str] = {}
        sku = str(values.get("sku") or "").strip()
        name = " ".join(str(values.get("name") or "").split())
        unit = str(values.get("unit") or "pcs").strip() or "pcs"
        if not sku:
            errors["sku"] = "A SKU is required."
        elif not _SKU.match(sku):
            errors["sku"] = (
                "Use up to 64 letters, digits, dots, dashes, slashes or underscores, starting with a letter or digit."
            )
        if not name:
            errors["name"] = "A name is required."
        elif len(name) > 200:
            errors["name"] = "At most 200 characters."
        if len(unit) > 32:
            errors["unit"] = "At most 32 characters."
        numbers = {}
        for field in ("low_stock_threshold", "reorder_quantity"):
            raw = values.get(field, 0)
            if raw is None or raw == "":
                raw = 0
            try:
                number = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw).strip())
            except ValueError:
                errors[field] = f"Must be a whole number, not {str(raw)[:20]!r}."
                continue
            if number < 0 or number > max_movement():
                errors[field] = f"Must be between 0 and {max_movement()}."
            numbers[field] = number
        active = values.get("active", True)
        if isinstance(active, str):
            lowered = active.strip().lower()
            if lowered in {"", "true", "yes", "1", "y"}:
                active = True
            elif lowered in {"false", "no", "0", "n"}:
                active = False
            else:
                errors["active"] = f"Must be true or false, not {active[:20]!r}."
        if errors:
            raise InvalidProduct(errors)
        return cls(sku=sku, name=name, unit=unit, active=bool(active), **numbers)


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise ProductNotFound(f"There is no product number {product_id}.")
    return product


def product_by_sku(sku: str) -> Product:
    product = db.session.scalar(select(Product).where(Product.sku == sku.strip()))
    if product is None:
        raise ProductNotFound(f"There is no product with SKU {sku.strip()[:64]!r}.")
    return product


def _fields(product: Product) -> dict[str, object]:
    return {field: getattr(product, field) for field in ProductData.__dataclass_fields__}


def create_product(data: ProductData, *, user_id: int | None) -> Product:
    """Add a product with no stock; stock arrives through `add_stock`."""
    if db.session.scalar(select(Product.id).where(Product.sku == data.sku)) is not None:
        raise DuplicateSku(f"A product with SKU {data.sku} already exists.")
    product = Product(**asdict(data))
    db.session.add(product)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DuplicateSku(f"A product with SKU {data.sku} already exists.") from None
    audit.record(
        "product.create",
        target_type="product",
        target_id=product.id,
        summary=f"Created product {data.sku} ({data.name})",
        actor_id=user_id,
        after=asdict(data),
    )
    alerts.reconcile_product(product)
    _commit()
    return product


def update_product(product_id: int, data: ProductData, *, user_id: int | None) -> Product:
    """Change a product's details (never its stock)."""
    product = get_product(product_id)
    before = _fields(product)
    if data.sku != product.sku and db.session.scalar(select(Product.id).where(Product.sku == data.sku)):
        raise DuplicateSku(f"A product with SKU {data.sku} already exists.")
    after = asdict(data)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return product
    for field, value in changed.items():
        setattr(product, field, value)
    audit.record(
        "product.update",
        target_type="product",
        target_id=product.id,
        summary=f"Changed {', '.join(changed)} of {data.sku}",
        actor_id=user_id,
        before={k: before[k] for k in changed},
        after=changed,
    )
    if {"low_stock_threshold", "active"} & changed.keys():
        db.session.flush()
        db.session.refresh(product)  # the on-hand figure as it is now, not as it was read
        alerts.reconcile_product(product)
    _commit()
    return product


# ---------------------------------------------------------------- orders


def get_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(f"There is no order number {order_id}.")
    return order


def create_order(
    *,
    customer: str,
    lines: Sequence[tuple[int, int]],
    user_id: int | None,
    reference: str | None = None,
    note: str | None = None,
) -> Order:
    """A draft order of (product id, quantity) lines; no stock moves until it is placed."""
    customer = " ".join((customer or "").split())
    if not customer:
        raise InvalidOrder("Say who the order is for.")
    if len(customer) > 200:
        raise InvalidOrder("The customer name can have at most 200 characters.")
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
    reference = (reference or "").strip() or f"ORD-{utcnow():%Y%m%d}-{secrets.token_hex(3).upper()}"
    if len(reference) > 64:
        raise InvalidOrder("The reference can have at most 64 characters.")
    if db.session.scalar(select(Order.id).where(Order.reference == reference)) is not None:
        raise InvalidOrder(f"An order with reference {reference} already exists.")
    order = Order(reference=reference, customer=customer, note=(note or "").strip() or None, created_by=user_id)
    order.lines = [OrderLine(product_id=p, quantity=q) for p, q in lines]
    db.session.add(order)
    db.session.flush()
    audit.record(
        "order.create",
        target_type="order",
        target_id=order.id,
        summary=f"Created order {reference} for {customer} ({len(lines)} lines)",
        actor_id=user_id,
        after={"reference": reference, "customer": customer, "lines": [list(line) for line in lines]},
    )
    db.session.commit()
    return order


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


def place_order(order_id: int, *, user_id: int | None) -> Order:
    """Take the stock of every line, or of none: a short line names its SKU and what is available."""
    db.session.rollback()
    begin_write()
    try:
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
            _apply_movement(line.product_id, -line.quantity, reason=Reason.ORDER, user_id=user_id, order_id=order_id)
        audit.record(
            "order.place",
            target_type="order",
            target_id=order_id,
            summary=f"Placed order {order.reference} ({order.total_units} units)",
            actor_id=user_id,
        )
        _commit()
    except Exception:
        _rollback()
        raise
    return get_order(order_id)


def cancel_order(order_id: int, *, user_id: int | None) -> Order:
    """Cancel a draft or placed order; a placed order's stock comes back exactly once."""
    db.session.rollback()
    begin_write()
    try:
        order = get_order(order_id)
        now = utcnow()
        if _transition(order_id, OrderStatus.PLACED, OrderStatus.CANCELLED, cancelled_at=now):
            lines = sorted(order.lines, key=lambda line: line.product_id)
            _lock_products([line.product_id for line in lines])
            for line in lines:
                _apply_movement(
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
        _commit()
    except Exception:
        _rollback()
        raise
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


# ---------------------------------------------------------------- the invariant


@dataclass(frozen=True)
class Mismatch:
    sku: str
    on_hand: int
    ledger_sum: int


def verify_ledger() -> list[Mismatch]:
    """Products whose on-hand differs from the sum of their ledger rows (empty when all is well)."""
    ledger = (
        select(StockMovement.product_id, func.sum(StockMovement.delta).label("total"))
        .group_by(StockMovement.product_id)
        .subquery()
    )
    total = func.coalesce(ledger.c.total, 0)
    rows = db.session.execute(
        select(Product.sku, Product.on_hand, total)
        .outerjoin(ledger, ledger.c.product_id == Product.id)
        .where(Product.on_hand != total)
        .order_by(Product.sku)
    )
    return [Mismatch(sku, on_hand, int(ledger_sum)) for sku, on_hand, ledger_sum in rows]
