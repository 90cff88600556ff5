"""What the stock pages list: products, ledger rows, orders and alerts, by the page's filters.

Each list page and its CSV export call the same query function with the same
filter object, so a download always holds what the page shows. The CSV columns
and rows are here too, because the pages and `flask stock export` both write them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, or_, select

from app.extensions import db
from app.querying import contains, within_dates
from app.stock.models import Order, OrderLine, Product, StockAlert, StockMovement


def list_page(statement: Select, *, per_page: int = 50) -> Pagination:
    """The page of a list that the request's ?page= asks for (past the end: an empty page, not a 404)."""
    return db.paginate(statement, per_page=per_page, max_per_page=200, error_out=False)


def csv_rows(
    statement: Select, row: Callable[..., Sequence[object]], *, batch: int = 1000
) -> Iterator[Sequence[object]]:
    """The CSV rows of a list query, read in batches as the download streams (`row` gets each result's columns)."""
    for result in db.session.execute(statement.execution_options(yield_per=batch)):
        yield row(*result)


# ---------------------------------------------------------------- products


@dataclass(frozen=True)
class ProductFilter:
    q: str = ""
    low_only: bool = False
    status: str = "active"  # active, inactive, all
    sort: str = "sku"  # sku, name, on_hand


SORTS = {"sku": Product.sku, "name": Product.name, "on_hand": Product.on_hand}


def product_query(filters: ProductFilter) -> Select[tuple[Product]]:
    query = select(Product)
    if filters.q:
        query = query.where(or_(contains(Product.sku, filters.q), contains(Product.name, filters.q)))
    if filters.low_only:
        query = query.where(Product.low_stock_threshold > 0, Product.on_hand <= Product.low_stock_threshold)
    if filters.status == "active":
        query = query.where(Product.active.is_(True))
    elif filters.status == "inactive":
        query = query.where(Product.active.is_(False))
    return query.order_by(SORTS.get(filters.sort, Product.sku), Product.id)


# The products export imports back cleanly: these are the import's columns, and on_hand (ignored there).
PRODUCT_COLUMNS = ["sku", "name", "unit", "low_stock_threshold", "reorder_quantity", "active", "on_hand"]


def product_row(p: Product) -> tuple[object, ...]:
    return (p.sku, p.name, p.unit, p.low_stock_threshold, p.reorder_quantity, p.active, p.on_hand)


# ---------------------------------------------------------------- the ledger


@dataclass(frozen=True)
class LedgerFilter:
    product_id: int | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    reason: str | None = None


def ledger_query(filters: LedgerFilter) -> Select[tuple[StockMovement]]:
    """Ledger rows, newest first."""
    query = select(StockMovement)
    if filters.product_id is not None:
        query = query.where(StockMovement.product_id == filters.product_id)
    query = query.where(within_dates(StockMovement.at, filters.since, filters.until))
    if filters.reason:
        query = query.where(StockMovement.reason == filters.reason)
    return query.order_by(StockMovement.at.desc(), StockMovement.id.desc())


LEDGER_COLUMNS = ["time", "sku", "product", "change", "reason", "balance_after", "note", "user", "order"]


def ledger_row(m: StockMovement) -> tuple[object, ...]:
    user = m.user.email if m.user else "system"
    order = m.order.reference if m.order else ""  # the reference people know, not the order's number
    return (m.at, m.product.sku, m.product.name, m.delta, m.reason, m.balance_after, m.note, user, order)


def balance_history(product_id: int, limit: int = 500) -> list[tuple[datetime, int]]:
    """(time, on-hand after) for the product's latest movements, oldest first: the chart's points."""
    rows = (
        select(StockMovement.at, StockMovement.balance_after)
        .where(StockMovement.product_id == product_id)
        .order_by(StockMovement.at.desc(), StockMovement.id.desc())
        .limit(limit)
    )
    return list(reversed(db.session.execute(rows).all()))


# ---------------------------------------------------------------- orders


@dataclass(frozen=True)
class OrderFilter:
    q: str = ""
    status: str | None = None
    since: date | None = None
    until: date | None = None


def order_query(filters: OrderFilter) -> Select[tuple[Order]]:
    """Orders, newest first."""
    query = select(Order)
    if filters.q:
        query = query.where(or_(contains(Order.reference, filters.q), contains(Order.customer, filters.q)))
    if filters.status:
        query = query.where(Order.status == filters.status)
    query = query.where(within_dates(Order.created_at, filters.since, filters.until))
    return query.order_by(Order.created_at.desc(), Order.id.desc())


def order_lines_query(filters: OrderFilter) -> Select[tuple[Order, OrderLine]]:
    """One row per order line (for the CSV), in the order list's order."""
    orders = order_query(filters).subquery()
    return (
        select(Order, OrderLine)
        .join(orders, orders.c.id == Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .order_by(Order.created_at.desc(), Order.id.desc(), OrderLine.id)
    )


ORDER_COLUMNS = [
    "reference",
    "customer",
    "status",
    "created_at",
    "placed_at",
    "fulfilled_at",
    "cancelled_at",
    "sku",
    "product",
    "quantity",
]


def order_line_row(order: Order, line: OrderLine) -> tuple[object, ...]:
    product = line.product
    return (
        order.reference,
        order.customer,
        order.status,
        order.created_at,
        order.placed_at,
        order.fulfilled_at,
        order.cancelled_at,
        product.sku,
        product.name,
        line.quantity,
    )


# ---------------------------------------------------------------- alerts


@dataclass(frozen=True)
class AlertFilter:
    status: str = "all"  # open, closed, all
    q: str = ""
    since: date | None = None
    until: date | None = None
    acknowledged: str = ""  # "", yes, no


def alert_query(filters: AlertFilter) -> Select[tuple[StockAlert]]:
    """Alerts matching the filter: open ones first (newest first), then closed ones by when they closed."""
    query = select(StockAlert).join(Product, Product.id == StockAlert.product_id)
    if filters.status == "open":
        query = query.where(StockAlert.closed_at.is_(None))
    elif filters.status == "closed":
        query = query.where(StockAlert.closed_at.is_not(None))
    if filters.q:
        query = query.where(or_(contains(Product.sku, filters.q), contains(Product.name, filters.q)))
    if filters.acknowledged == "yes":
        query = query.where(StockAlert.acknowledged_at.is_not(None))
    elif filters.acknowledged == "no":
        query = query.where(StockAlert.acknowledged_at.is_(None))
    query = query.where(within_dates(StockAlert.opened_at, filters.since, filters.until))
    still_open = StockAlert.closed_at.is_(None)
    return query.order_by(still_open.desc(), StockAlert.closed_at.desc(), StockAlert.opened_at.desc(), StockAlert.id)


ALERT_COLUMNS = [
    "sku",
    "product",
    "status",
    "opened_at",
    "opened_by",
    "on_hand_at_open",
    "threshold",
    "on_hand_now",
    "short_by",
    "reorder_quantity",
    "acknowledged_by",
    "acknowledged_at",
    "closed_at",
    "on_hand_at_close",
    "email",
]


def alert_row(a: StockAlert) -> tuple[object, ...]:
    p = a.product
    if a.email is None:
        email = ""
    elif a.email.sent_at:
        email = "sent"
    else:
        email = f"not sent yet: {a.email.last_error or 'waiting'}"
    return (
        p.sku,
        p.name,
        "open" if a.is_open else "closed",
        a.opened_at,
        a.opened_by,
        a.on_hand_at_open,
        a.threshold_at_open,
        p.on_hand,
        p.shortfall if a.is_open else 0,
        p.reorder_quantity,
        a.acknowledger.email if a.acknowledger else "",
        a.acknowledged_at,
        a.closed_at,
        a.on_hand_at_close,
        email,
    )
