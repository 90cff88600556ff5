"""Low-stock alerts: opened where the crossing happens, reconciled by a periodic check, noticed once.

A product is low when `on_hand <= low_stock_threshold` and the threshold is
above zero. The movement that crosses into low opens an alert in its own
transaction (it knows the balance before and after, under the row lock), and
the movement that crosses back out closes it, so a quick -20/+20 is two
crossings however late anyone looks. `check` is the safety net for changes
made outside the ledger (plain SQL, an edited threshold): it opens and closes
alerts to match the stock as it is now.

One crossing notifies once: at most one open alert per product (a partial
unique index; inserts are `ON CONFLICT DO NOTHING`), and `send_notices` claims
un-noticed alerts with a conditional UPDATE, so two workers never both notice
the same one. Notices are written after the stock change commits: email never
slows or blocks a stock change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import and_, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.database import begin_write, is_sqlite
from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.notify import service as notify
from app.ops import audit
from app.stock.errors import AlertNotFound, AlertStateError
from app.stock.models import Product, StockAlert, is_low

PENDING_KEY = "qm_alerts_to_notify"  # session.info flag: this transaction opened an alert

# What happens after a commit is the queue's business, and the queue's tasks call into this module:
# so the tasks module registers itself here (see app/stock/tasks.py) instead of being imported, and
# the imports run one way, tasks -> alerts. Without listeners the periodic check does both jobs.
_on_alert_opened: list[Callable[[], object]] = []
_on_email_queued: list[Callable[[int], object]] = []


def when_alert_opened(listener: Callable[[], object]) -> Callable[[], object]:
    """Call `listener` after a stock transaction that opened an alert has committed."""
    if listener not in _on_alert_opened:
        _on_alert_opened.append(listener)
    return listener


def when_email_queued(listener: Callable[[int], object]) -> Callable[[int], object]:
    """Call `listener` with the email's id after the notices that queued it have committed."""
    if listener not in _on_email_queued:
        _on_email_queued.append(listener)
    return listener


# ---------------------------------------------------------------- opening and closing


def _insert_unless_open():
    """An INSERT of alerts that skips a product which already has an open one (the partial unique index)."""
    dialect = sqlite if is_sqlite() else postgresql
    return dialect.insert(StockAlert).on_conflict_do_nothing(
        index_elements=["product_id"], index_where=StockAlert.closed_at.is_(None)
    )


def _open(product_id: int, on_hand: int, threshold: int, *, by: str, movement_id: int | None, now: datetime) -> bool:
    """Insert the open alert unless the product has one; True when this call opened it."""
    statement = (
        _insert_unless_open()
        .values(
            product_id=product_id,
            opened_at=now,
            on_hand_at_open=on_hand,
            threshold_at_open=threshold,
            opened_by=by,
            opening_movement_id=movement_id,
        )
        .returning(StockAlert.id)
    )
    opened = db.session.execute(statement).scalar_one_or_none() is not None
    if opened:
        db.session.info[PENDING_KEY] = True
    return opened


def _close(product_id: int, on_hand: int, *, movement_id: int | None, now: datetime) -> bool:
    """Close the product's open alert, if it has one; True when this call closed it."""
    result = db.session.execute(
        update(StockAlert)
        .where(StockAlert.product_id == product_id, StockAlert.closed_at.is_(None))
        .values(closed_at=now, on_hand_at_close=on_hand, closing_movement_id=movement_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount > 0


def on_movement(product_id: int, before: int, after: int, threshold: int, movement_id: int) -> None:
    """Called by the ledger inside a movement's transaction: open or close on a crossing."""
    was_low, now_low = is_low(before, threshold), is_low(after, threshold)
    if now_low and not was_low:
        _open(product_id, after, threshold, by="movement", movement_id=movement_id, now=utcnow())
    elif was_low and not now_low:
        _close(product_id, after, movement_id=movement_id, now=utcnow())


def reconcile_product(product: Product) -> None:
    """After a product's threshold or status changed (same transaction): make its alert match."""
    now = utcnow()
    if product.active and is_low(product.on_hand, product.low_stock_threshold):
        _open(product.id, product.on_hand, product.low_stock_threshold, by="threshold", movement_id=None, now=now)
    else:
        _close(product.id, product.on_hand, movement_id=None, now=now)


def notify_after_commit() -> None:
    """After a stock transaction committed: if it opened an alert, have a worker send the notices now."""
    if not db.session.info.pop(PENDING_KEY, False):
        return
    for listener in _on_alert_opened:
        listener()


def forget_pending() -> None:
    """The transaction rolled back: whatever it opened does not exist."""
    db.session.info.pop(PENDING_KEY, None)


# ---------------------------------------------------------------- the periodic check


@dataclass(frozen=True)
class CheckResult:
    opened: list[str]  # SKUs
    closed: list[str]
    notified: list[str]


def _low_condition():
    return and_(
        Product.active.is_(True), Product.low_stock_threshold > 0, Product.on_hand <= Product.low_stock_threshold
    )


def reconcile(now: datetime | None = None) -> tuple[list[str], list[str]]:
    """Open alerts for low products without one and close those no longer low: two statements, one transaction."""
    now = now or utcnow()
    db.session.rollback()
    begin_write()
    has_open = exists().where(StockAlert.product_id == Product.id, StockAlert.closed_at.is_(None))
    missing = select(
        Product.id, literal(now, UTCDateTime), Product.on_hand, Product.low_stock_threshold, literal("check")
    ).where(_low_condition(), ~has_open)
    opened_ids = db.session.scalars(
        _insert_unless_open()
        .from_select(["product_id", "opened_at", "on_hand_at_open", "threshold_at_open", "opened_by"], missing)
        .returning(StockAlert.product_id)
    ).all()
    still_low = select(Product.id).where(_low_condition())
    closed_ids = db.session.scalars(
        update(StockAlert)
        .where(StockAlert.closed_at.is_(None), StockAlert.product_id.not_in(still_low))
        .values(
            closed_at=now,
            on_hand_at_close=select(Product.on_hand).where(Product.id == StockAlert.product_id).scalar_subquery(),
        )
        .returning(StockAlert.product_id)
        .execution_options(synchronize_session=False)
    ).all()
    skus = dict(
        db.session.execute(select(Product.id, Product.sku).where(Product.id.in_([*opened_ids, *closed_ids]))).all()
    )
    opened = sorted(skus[i] for i in opened_ids)
    closed = sorted(skus[i] for i in closed_ids)
    if opened or closed:
        audit.record(
            "alerts.check",
            target_type="stock_alert",
            target_id=None,
            summary=f"Low-stock check opened {len(opened)} and closed {len(closed)} alerts",
            actor_id=None,
            after={"opened": opened[:500], "closed": closed[:500]},
        )
    db.session.commit()
    return opened, closed


def check(now: datetime | None = None) -> CheckResult:
    """The periodic safety net: reconcile alerts with the stock, then send every notice still unsent."""
    opened, closed = reconcile(now)
    notified = send_notices()
    return CheckResult(opened, closed, notified)


# ---------------------------------------------------------------- notices


def _product_link(product_id: int) -> str:
    return f"/stock/products/{product_id}"


def send_notices() -> list[str]:
    """Claim every alert nobody was told about, tell people in the app, queue one email; the SKUs noticed."""
    db.session.rollback()
    begin_write()
    now = utcnow()
    claimed = list(
        db.session.scalars(
            update(StockAlert)
            .where(StockAlert.notified_at.is_(None))
            .values(notified_at=now)
            .returning(StockAlert.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        db.session.rollback()
        return []
    alerts = list(
        db.session.scalars(
            select(StockAlert)
            .where(StockAlert.id.in_(claimed))
            .order_by(StockAlert.opened_at, StockAlert.id)
            .execution_options(populate_existing=True)
        )
    )
    people = notify.people_to_notify()
    for alert in alerts:
        product = alert.product
        still = "" if alert.is_open else f" (back to {alert.on_hand_at_close} since)"
        notify.notify_users(
            people,
            kind="low_stock",
            dedupe_key=f"stock_alert:{alert.id}",
            title=f"Low stock: {product.sku} {product.name}"[:200],
            body=f"{alert.on_hand_at_open} {product.unit} on hand, threshold {alert.threshold_at_open}; "
            f"reorder {product.reorder_quantity}{still}.",
            link=_product_link(product.id),
        )
    recipients = notify.alert_recipients() if notify.email_enabled() else []
    email_id = None
    if recipients:
        email = notify.queue_email(kind="low_stock", recipients=recipients, **_email_content(alerts))
        email_id = email.id
        for alert in alerts:
            alert.email_id = email_id
    noticed = [alert.product.sku for alert in alerts]  # read before the commit expires them
    db.session.commit()
    if email_id is not None:
        for listener in _on_email_queued:
            listener(email_id)
    return noticed


def _email_content(alerts: list[StockAlert]) -> dict[str, str]:
    """Subject, plain text and HTML of one email listing every product that newly went low."""
    base_url = current_app.config["BASE_URL"]
    rows = [
        {
            "sku": a.product.sku,
            "name": a.product.name,
            "unit": a.product.unit,
            "on_hand": a.on_hand_at_open,
            "threshold": a.threshold_at_open,
            "reorder": a.product.reorder_quantity,
            "restored": None if a.is_open else a.on_hand_at_close,
            "url": base_url + _product_link(a.product_id),
        }
        for a in alerts
    ]
    skus = ", ".join(row["sku"] for row in rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
    noun = "product" if len(rows) == 1 else "products"
    context = {"rows": rows, "alerts_url": base_url + "/alerts"}
    return {
        "subject": f"Low stock: {len(rows)} {noun} ({skus})",
        "text_body": render_template("email/low_stock.txt", **context),
        "html_body": render_template("email/low_stock.html", **context),
    }


# ---------------------------------------------------------------- people acting on alerts


def acknowledge(alert_id: int, *, user_id: int) -> StockAlert:
    """A person says they are on it: the team sees who."""
    alert = db.session.get(StockAlert, alert_id)
    if alert is None:
        raise AlertNotFound(f"There is no alert number {alert_id}.")
    if not alert.is_open:
        raise AlertStateError(f"The alert for {alert.product.sku} is closed already: the stock was restored.")
    result = db.session.execute(
        update(StockAlert)
        .where(StockAlert.id == alert_id, StockAlert.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by=user_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        audit.record(
            "alert.acknowledge",
            target_type="stock_alert",
            target_id=alert_id,
            summary=f"Acknowledged the low-stock alert for {alert.product.sku}",
            actor_id=user_id,
        )
    db.session.commit()
    db.session.refresh(alert)
    return alert


# ---------------------------------------------------------------- counting


def open_alert_count() -> int:
    """How many products are low right now (one open alert each): the start page and metrics show it."""
    return db.session.scalar(select(func.count(StockAlert.id)).where(StockAlert.closed_at.is_(None)))
