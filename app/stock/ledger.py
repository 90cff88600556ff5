"""The ledger: every change of stock is a row here, and on-hand never drifts from the sum of the rows.

`apply_movement` is the only code that changes `Product.on_hand`: one conditional UPDATE
(`on_hand = on_hand + :delta WHERE on_hand + :delta >= 0`) and the ledger row, in the same
transaction, never a total computed in Python. The public changes (add, remove, count) are one
transaction each: they commit when they succeed and leave nothing behind when they raise.
Products, orders and the importer write their own transactions and end them with `commit_change`, so an alert
a change opened is noticed only once it is committed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.db_types import utcnow
from app.extensions import db
from app.stock import alerts
from app.stock.errors import (
    IdempotencyConflict,
    InactiveProduct,
    InsufficientStock,
    ProductNotFound,
    Shortage,
)
from app.stock.models import DECREASE_REASONS, INCREASE_REASONS, Product, Reason, StockMovement
from app.stock.quantities import check_quantity, check_reason

T = TypeVar("T")


# ---------------------------------------------------------------- one movement


def _why_not_applied(product_id: int, delta: int, allow_inactive: bool) -> Exception:
    """The conditional update touched no row: say which rule stopped it."""
    product = db.session.get(Product, product_id, populate_existing=True)
    if product is None:
        return ProductNotFound(f"There is no product number {product_id}.")
    if not product.active and not allow_inactive:
        return InactiveProduct(f"{product.sku} is inactive: reactivate it before changing its stock.")
    return InsufficientStock([Shortage(product.sku, requested=-delta, available=product.on_hand)])


def apply_movement(
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


def commit_change() -> None:
    """Commit a stock transaction, then have any alert it opened noticed (never before the commit)."""
    db.session.commit()
    alerts.notify_after_commit()


def roll_back_change() -> None:
    """Undo a stock transaction, and forget any alert it opened: that alert does not exist."""
    db.session.rollback()
    alerts.forget_pending()


# ---------------------------------------------------------------- a change made once per form


def new_idempotency_key() -> str:
    """A fresh key for a form that changes stock."""
    return secrets.token_urlsafe(18)


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
        commit_change()
    except IntegrityError:
        # A concurrent request with the same key committed first; its movement stands for ours.
        roll_back_change()
        existing = _replayed(key, product_id, matches)
        if existing is None:
            raise
        return existing  # type: ignore[return-value]
    except Exception:
        roll_back_change()
        raise
    return result


# ---------------------------------------------------------------- adjustments and counts


def _adjust(
    product_id: int, delta: int, reason: Reason, user_id: int | None, note: str | None, idempotency_key: str | None
) -> StockMovement:
    """One signed change for a reason, made once per key: what adding and removing have in common."""
    return _once(
        idempotency_key,
        product_id,
        lambda m: m.delta == delta and m.reason == reason.value,
        lambda: apply_movement(
            product_id, delta, reason=reason, user_id=user_id, note=note, idempotency_key=idempotency_key
        ),
    )


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
    reason = check_reason(reason, INCREASE_REASONS, "add")
    return _adjust(product_id, quantity, reason, user_id, note, idempotency_key)


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
    reason = check_reason(reason, DECREASE_REASONS, "remove")
    return _adjust(product_id, -quantity, reason, user_id, note, idempotency_key)


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
        return apply_movement(
            product_id, delta, reason=Reason.COUNT, user_id=user_id, note=note, idempotency_key=idempotency_key
        )

    # A count's balance after is the counted figure: the same key with another figure is another count.
    return _once(
        idempotency_key, product_id, lambda m: m.reason == Reason.COUNT.value and m.balance_after == counted, write
    )


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
