"""The bell and the notifications page: each person's own notices, read or not."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.notify import service
from app.web import is_htmx, render_page, require_confirmation

bp = Blueprint("notify", __name__)


@bp.app_context_processor
def _bell_count():
    """The unread count for the navigation's bell, counted only when a full page draws the bell."""
    return {"bell_count": lambda: service.unread_count(current_user.id)}


@bp.get("/notifications")
def index():
    """My notices, newest first; unread ones stand out."""
    unread_only = request.args.get("show") == "unread"
    page = db.paginate(
        service.notifications_query(current_user.id, unread_only=unread_only),
        per_page=30,
        max_per_page=100,
        error_out=False,
    )
    return render_page(
        "notify/notifications.html",
        "results",
        page=page,
        unread_only=unread_only,
        unread=service.unread_count(current_user.id),
    )


@bp.get("/notifications/bell")
def bell():
    """The bell with my unread count (the navigation polls this)."""
    return render_page("notify/_bell.html", "bell", unread=service.unread_count(current_user.id))


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int):
    """Mark one notice read."""
    require_confirmation()
    try:
        notice = service.mark_read(notification_id, user_id=current_user.id)
    except service.NotificationNotFound as error:
        abort(404, description=str(error))
    if is_htmx():
        return render_page(
            "notify/notifications.html", "notice", notice=notice, unread=service.unread_count(current_user.id)
        ), {"HX-Trigger": "notifications-changed"}
    return redirect(url_for("notify.index"), code=303)


@bp.post("/notifications/read-all")
def mark_all_read():
    """Mark every notice read."""
    require_confirmation()
    count = service.mark_all_read(user_id=current_user.id)
    flash(f"Marked {count} notification{'' if count == 1 else 's'} read.", "success")
    return redirect(url_for("notify.index"), code=303)
