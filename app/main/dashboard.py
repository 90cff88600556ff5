"""The start page's counts: what needs attention today, each one linking to the list that shows it.

Every count is one aggregate query (never a list loaded and measured), and each uses the list page's own
query function with the filter its link carries, so the number on the card is the number of rows the
link opens. The acceptance rate is the one count without a list query to borrow: it is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import url_for
from sqlalchemy import case, func, select

from app.auth.models import Role, User
from app.classify import evaluation
from app.classify import queries as review_queries
from app.classify.models import Review
from app.db_types import utcnow
from app.documents import queries as document_queries
from app.documents.models import Document, DocumentState
from app.extensions import db
from app.ops import service as ops_service
from app.querying import count_rows
from app.stock import alerts
from app.stock import queries as stock_queries
from app.stock.models import Order, OrderStatus, Product

FAILED_DAYS = 7  # "failed in the last 7 days": today and the six days before it
ACCEPTANCE_DAYS = 30


@dataclass(frozen=True)
class Tile:
    """One card: a number, what it counts, the list it opens, and whether it asks for someone's attention."""

    key: str  # data-count in the page: tests and the htmx swap find the card by it
    number: int | str
    label: str
    url: str
    alert: bool = False  # drawn in the warning colour while the number is not zero
    note: str | None = None  # a second line, such as "and 3 queued"
    note_url: str | None = None


@dataclass(frozen=True)
class Action:
    """A call to action under the cards, shown only to people whose role may take it."""

    key: str
    label: str
    url: str


def _count_documents(filters: document_queries.DocumentFilter) -> int:
    return count_rows(document_queries.document_query(filters), Document.id)


def _order_counts() -> dict[str, int]:
    """Orders per status, in one grouped query."""
    rows = db.session.execute(select(Order.status, func.count(Order.id)).group_by(Order.status))
    counts = dict.fromkeys((s.value for s in OrderStatus), 0)
    counts.update({status: number for status, number in rows})
    return counts


def acceptance_rate(days: int = ACCEPTANCE_DAYS, today: date | None = None) -> tuple[int, int]:
    """(kept, reviewed): reviews of the last `days` days that kept the model's first choice, out of those
    where the model made one. The same rule as `app.classify.evaluation.acceptance`, summed in the database
    instead of bucketed per day, since the card shows a single share."""
    today = today or utcnow().date()
    since = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    kept, reviewed = db.session.execute(
        select(func.coalesce(func.sum(case((Review.accepted.is_(True), 1), else_=0)), 0), func.count(Review.id)).where(
            Review.at >= since, evaluation.judged_the_model()
        )
    ).one()
    return int(kept), int(reviewed)


def _low_products() -> int:
    return count_rows(stock_queries.product_query(stock_queries.ProductFilter(low_only=True)), Product.id)


def tiles(user: User, today: date | None = None) -> list[Tile]:
    """The cards for `user`: the same counts for every role, and the model and the workers for admins."""
    today = today or utcnow().date()
    failed_since = today - timedelta(days=FAILED_DAYS - 1)
    states = document_queries.state_counts()
    orders = _order_counts()
    waiting = review_queries.size(review_queries.QueueFilter())
    failed = _count_documents(document_queries.DocumentFilter(state=DocumentState.FAILED, since=failed_since))
    uploaded = _count_documents(document_queries.DocumentFilter(since=today))
    open_alerts = alerts.open_alert_count() or 0
    queued = states[DocumentState.QUEUED]
    cards = [
        Tile("review", waiting, "waiting for review", url_for("review.index"), alert=bool(waiting)),
        Tile(
            "processing",
            states[DocumentState.PROCESSING],
            "being processed",
            url_for("documents.index", state=DocumentState.PROCESSING.value),
            note=f"and {queued} queued" if queued else None,
            note_url=url_for("documents.index", state=DocumentState.QUEUED.value) if queued else None,
        ),
        Tile(
            "failed",
            failed,
            f"failed in the last {FAILED_DAYS} days",
            url_for("documents.index", state=DocumentState.FAILED.value, since=failed_since.isoformat()),
            alert=bool(failed),
        ),
        Tile("uploaded", uploaded, "uploaded today", url_for("documents.index", since=today.isoformat())),
        Tile("low", _low_products(), "products low on stock", url_for("stock.products", low="y")),
        Tile("alerts", open_alerts, "open alerts", url_for("alerts.index", status="open"), alert=bool(open_alerts)),
        Tile("draft", orders[OrderStatus.DRAFT], "draft orders", url_for("orders.index", status=OrderStatus.DRAFT)),
        Tile(
            "placed",
            orders[OrderStatus.PLACED],
            "orders placed, not yet fulfilled",
            url_for("orders.index", status=OrderStatus.PLACED),
        ),
    ]
    if user.can(Role.ADMIN):
        kept, reviewed = acceptance_rate(today=today)
        rate = f"{round(100 * kept / reviewed)}%" if reviewed else "none"
        detail = f"{kept} of {reviewed} reviews" if reviewed else "no reviews yet"
        cards.append(
            Tile(
                "acceptance",
                rate,
                f"of the model's suggestions kept (last {ACCEPTANCE_DAYS} days)",
                url_for("models.index"),
                note=detail,
            )
        )
        worker = ops_service.worker_status()
        number = "OK" if worker.ok else "Check"
        cards.append(Tile("workers", number, f"workers: {worker.text}", url_for("ops.system"), alert=not worker.ok))
    return cards


def actions(user: User) -> list[Action]:
    """What this person can start from here: nothing for a viewer, who may look but not change."""
    if not user.can(Role.STAFF):
        return []
    return [
        Action("upload", "Upload documents", url_for("documents.upload_page")),
        Action("start-review", "Start reviewing", url_for("review.index")),
        Action("new-order", "New order", url_for("orders.new")),
    ]
