"""The alerts page: low-stock alerts, open ones first, with filters, CSV, acknowledge and "check now"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from app.auth.access import role_required
from app.auth.models import Role
from app.csvio import csv_response
from app.notify import service as notify
from app.stock import alerts, queries
from app.stock.forms import AlertFilterForm
from app.web import Filtered, is_htmx, read_filters, render_page, require_confirmation

bp = Blueprint("alerts", __name__)


def _filters() -> Filtered[AlertFilterForm, queries.AlertFilter]:
    form = AlertFilterForm(formdata=request.args)
    if not request.args.get("status"):
        form.status.data = "all"
    return read_filters(
        form,
        lambda f: queries.AlertFilter(
            status=f.status.data,
            q=(f.q.data or "").strip(),
            since=f.since.data,
            until=f.until.data,
            acknowledged=f.acknowledged.data or "",
        ),
        queries.AlertFilter(),
    )


def email_state() -> dict[str, object]:
    """What the page says about email: off, who receives it, and what is stuck."""
    return {
        "enabled": notify.email_enabled(),
        "recipients": notify.alert_recipients() if notify.email_enabled() else [],
        "unsent": [e for e in notify.unsent_emails() if e.kind == "low_stock"],
    }


@bp.get("/alerts")
def index():
    """Low-stock alerts: open ones (how short, since when, who is on it), then closed ones."""
    read = _filters()
    page = queries.list_page(queries.alert_query(read.filters))
    return (
        render_page(
            "alerts/alerts.html",
            "results",
            filters=read.form,
            page=page,
            problem=read.problem,
            email=email_state(),
            open_count=alerts.open_alert_count(),
        ),
        read.status,
    )


@bp.get("/alerts.csv")
def export():
    """The alerts matching the page's filters, as CSV."""
    statement = queries.alert_query(_filters().or_400())
    return csv_response(
        "low-stock-alerts.csv", queries.ALERT_COLUMNS, queries.csv_rows(statement, queries.alert_row, batch=500)
    )


@bp.post("/alerts/<int:alert_id>/acknowledge")
@role_required(Role.STAFF)
def acknowledge(alert_id: int):
    """Say "I am on it": the alert shows who, so nobody else orders the same stock again."""
    require_confirmation()
    alert = alerts.acknowledge(alert_id, user_id=current_user.id)
    if is_htmx():
        return render_page("alerts/alerts.html", "alert_row", alert=alert)
    flash(f"You acknowledged the alert for {alert.product.sku}.", "success")
    return redirect(url_for("alerts.index"), code=303)


@bp.post("/alerts/check")
@role_required(Role.STAFF)
def check_now():
    """Run the low-stock check now instead of waiting for the next periodic run."""
    require_confirmation()
    result = alerts.check()
    flash(
        f"Checked every product: {len(result.opened)} alert(s) opened, {len(result.closed)} closed, "
        f"{len(result.notified)} notice(s) sent.",
        "success",
    )
    return redirect(url_for("alerts.index"), code=303)
