"""What the stock pages list: products, ledger rows and orders, by the page's filters.

Each list page and its CSV export call the same query function with the same
filter object, so a download always holds what the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, or_, select

from app.extensions import db
from app.querying import contains, within_dates
from app.stock.models import Order, OrderLine, Product, StockMovement


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


def balance_history(product_id: int, limit: int = 500) -> list[tuple[datetime, int]]:
    """(time, on-hand after) for the product's latest movements, oldest first: the chart's points."""
    rows = (
        select(StockMovement.at, StockMovement.balance_after)
        .where(StockMovement.product_id == product_id)
        .order_by(StockMovement.at.desc(), StockMovement.id.desc())
        .limit(limit)
    )
    return list(reversed(db.session.execute(rows).all()))


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
