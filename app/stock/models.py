"""Products, the stock ledger (one row per change), orders and their lines.

`Product.on_hand` is a cached total of its ledger rows. It is changed only by
`app.stock.ledger.apply_movement`, in the same transaction as the ledger
row, so `on_hand == sum(delta)` always holds (`flask stock verify` checks).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class Reason(StrEnum):
    """Why stock changed. The first group raises it, the second lowers it, the rest are the system's."""

    RECEIVED = "received"
    RETURNED = "returned"
    DAMAGED = "damaged"
    EXPIRED = "expired"
    USED = "used"
    CORRECTION = "correction"  # either way
    ORDER = "order"
    ORDER_CANCELLED = "order_cancelled"
    COUNT = "count"
    OPENING_BALANCE = "opening_balance"  # the stock a product had when it was first imported


INCREASE_REASONS = (Reason.RECEIVED, Reason.RETURNED, Reason.CORRECTION)
DECREASE_REASONS = (Reason.DAMAGED, Reason.EXPIRED, Reason.USED, Reason.CORRECTION)
REASON_LABELS = {
    Reason.RECEIVED: "Received",
    Reason.RETURNED: "Returned by a customer",
    Reason.DAMAGED: "Damaged",
    Reason.EXPIRED: "Expired",
    Reason.USED: "Used",
    Reason.CORRECTION: "Correction",
    Reason.ORDER: "Order",
    Reason.ORDER_CANCELLED: "Order cancelled",
    Reason.COUNT: "Stock count",
    Reason.OPENING_BALANCE: "Opening balance",
}


class OrderStatus(StrEnum):
    DRAFT = "draft"  # lines can be written; no stock taken
    PLACED = "placed"  # stock taken, every line at once
    FULFILLED = "fulfilled"  # shipped; stock stays taken
    CANCELLED = "cancelled"  # if it was placed, its stock came back once


def is_low(on_hand: int, threshold: int | None) -> bool:
    """The one definition of "low": at or below a threshold above zero."""
    return bool(threshold) and on_hand <= threshold


def sku_key(sku: str) -> str:
    """What makes two SKUs the same: their letters whatever the case (SKUs are ASCII, see products.py)."""
    return sku.strip().lower()


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Product(db.Model):
    __tablename__ = "products"
    audit_kind = "product"  # what the audit log calls a row of this table
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("reorder_quantity >= 0", name="reorder_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    # The SKU in lower case, set whenever the SKU is: SKUs are stored as typed but name one product whatever
    # their case, so "tea-1" beside "TEA-1" is refused by this unique column and lookups match on it. A column
    # rather than an index on lower(sku), because SQLite cannot read such an index back to compare the schema.
    sku_key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32), default="pcs")
    low_stock_threshold: Mapped[int] = mapped_column(default=0)
    reorder_quantity: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @validates("sku")
    def _keep_sku_key(self, _name: str, sku: str) -> str:
        self.sku_key = sku_key(sku)
        return sku

    @property
    def is_low(self) -> bool:
        """At or below its threshold (a threshold of 0 means "never warn")."""
        return is_low(self.on_hand, self.low_stock_threshold)

    @property
    def shortfall(self) -> int:
        """How many units it would take to be above the threshold again (0 when it is not low)."""
        return self.low_stock_threshold - self.on_hand + 1 if self.is_low else 0

    def __repr__(self) -> str:
        return f"<Product {self.sku} on_hand={self.on_hand}>"


class StockMovement(db.Model):
    """One change of one product's stock: the ledger. Rows are never updated or deleted."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(_in("reason", Reason), name="reason_known"),
        # A count that matched is recorded as a zero movement; every other change moves stock.
        CheckConstraint("delta <> 0 OR reason = 'count'", name="delta_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_not_negative"),
        Index("ix_stock_movements_product_at", "product_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    balance_after: Mapped[int]
    # The form's one-time key: the same key twice is one movement, not two.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    product: Mapped[Product] = relationship(lazy="joined")
    user = relationship("User", lazy="joined")
    # The ledger names an order by its reference, which people know, not by its number.
    order: Mapped[Order | None] = relationship(lazy="joined")


class Order(db.Model):
    __tablename__ = "orders"
    audit_kind = "order"  # what the audit log calls a row of this table
    __table_args__ = (CheckConstraint(_in("status", OrderStatus), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.DRAFT.value, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def total_units(self) -> int:
        return sum(line.quantity for line in self.lines)


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id", name="uq_order_lines_order_product"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


class StockAlert(db.Model):
    """One stay of one product at or below its threshold: opened on the crossing, closed when restored.

    At most one alert per product is open, enforced by the database, so however
    many movements, checks and workers see the same crossing, it is one alert
    and one notice. `notified_at` is set by whoever claims the alert to notify
    people (a conditional UPDATE), so the notice goes out once.
    """

    __tablename__ = "stock_alerts"
    audit_kind = "stock_alert"  # what the audit log calls a row of this table
    __table_args__ = (
        Index(
            "uq_stock_alerts_one_open",
            "product_id",
            unique=True,
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        Index("ix_stock_alerts_opened", "opened_at"),
        Index("ix_stock_alerts_unnotified", "notified_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the crossing looked like: the figure it fell to and the threshold at that moment.
    on_hand_at_open: Mapped[int]
    threshold_at_open: Mapped[int]
    # "movement" (the change that crossed) or "check" (the periodic check found it).
    opened_by: Mapped[str] = mapped_column(String(16))
    opening_movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_hand_at_close: Mapped[int | None]
    closing_movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_emails.id"))

    product: Mapped[Product] = relationship(lazy="joined")
    acknowledger = relationship("User", lazy="joined", foreign_keys=[acknowledged_by])
    email = relationship("OutgoingEmail", lazy="joined")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
