"""Home, admin landing, and placeholder pages for the areas not built yet.

Each placeholder says what will be there, so the navigation is complete from
the first day. When an area arrives, its blueprint takes the URL and its
entry in `AREAS` stops being `planned`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask_login import current_user

from app.auth.access import role_required
from app.auth.models import Role, User
from app.db_types import utcnow
from app.main import dashboard
from app.ops import service as ops_service
from app.web import render_page

bp = Blueprint("main", __name__)


@dataclass(frozen=True)
class Area:
    title: str
    endpoint: str
    description: str
    planned: bool = False  # True: a placeholder page says what will be there
    # What the area holds, for a viewer: the description above offers actions (upload, review, change) that a
    # viewer's role does not allow, and the start page tells no one about actions they cannot take.
    to_look_at: str | None = None

    def describe_for(self, user: User) -> str:
        """The description to show `user`: what they can do there, or for a viewer what there is to see."""
        return self.description if self.to_look_at is None or user.can(Role.STAFF) else self.to_look_at


AREAS = [
    Area(
        "Documents",
        "documents.index",
        "Upload invoices, delivery notes, certificates and scans; follow each through reading and classification.",
        to_look_at="Invoices, delivery notes, certificates and scans, and where each stands in reading and filing.",
    ),
    Area(
        "Review",
        "review.index",
        "Check the classifications the model was unsure about, lowest confidence first, with keyboard shortcuts.",
        to_look_at="The documents the model was unsure about, waiting for a person to file them.",
    ),
    Area(
        "Search",
        "search.index",
        "Full-text search over every document, with filters, highlighted snippets and CSV export.",
    ),
    Area(
        "Stock",
        "stock.products",
        "Products and the stock ledger: add stock in increments, remove it with a reason, count it, see its history.",
        to_look_at="Products, what is on hand, and the history of every movement in the stock ledger.",
    ),
    Area(
        "Orders",
        "orders.index",
        "Orders that take stock out all at once or not at all, and give it back exactly once when cancelled.",
        to_look_at="Orders by customer and status, with their lines and when each was placed or fulfilled.",
    ),
    Area(
        "Alerts",
        "alerts.index",
        "Products at or below their low-stock threshold: opened the moment stock crosses, noticed once.",
    ),
]


@bp.app_context_processor
def _navigation():
    return {"areas": AREAS}


@bp.get("/")
def index():
    """The start page: what needs attention (counts linking to their lists), where to go, and whether the
    system is healthy. The counts poll this same URL, which answers htmx with the counts block alone."""
    tiles = dashboard.tiles(current_user)
    return render_page(
        "main/index.html",
        "dashboard",
        open_alerts=next(tile.number for tile in tiles if tile.key == "alerts"),
        tiles=tiles,
        actions=dashboard.actions(current_user),
        counted_at=utcnow(),
    )


@bp.get("/status")
def status():
    """The dependency status card (polled by the home page)."""
    return render_page(
        "main/index.html",
        "status_card",
        checks=ops_service.readiness(),
        worker=ops_service.worker_status(),
    )


def _planned_area_view(area: Area):
    def planned_area():
        """A placeholder page for an area that is planned but not built yet."""
        return render_template("main/planned.html", title=area.title, description=area.description)

    return planned_area


# Each placeholder sits at the URL its area will own, so links made today stay right.
for _area in AREAS:
    if _area.planned:
        _slug = _area.endpoint.split(".", 1)[1]
        bp.add_url_rule(f"/{_slug}", endpoint=_slug, view_func=_planned_area_view(_area))


@bp.get("/admin")
@role_required(Role.ADMIN)
def admin():
    """The admin landing page: users, audit log, and what is to come."""
    return render_template("main/admin.html", user=current_user)
