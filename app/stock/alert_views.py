"""The alerts page: low-stock alerts, open ones first, with filters, CSV, acknowledge and "check now"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from app.auth.access import role_required
from app.auth.models import Role
from app.csvio import csv_response
from app.extensions import db
from app.forms import ConfirmForm
from app.notify import service as notify
from app.stock import alerts
from app.stock.forms import AlertFilterForm
from app.web import invalid_filters, is_htmx, render_page

bp = Blueprint("alerts", __name__)

CSV_COLUMNS = [
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


def _filters() -> tuple[AlertFilterForm, alerts.AlertFilter, bool]:
    form = AlertFilterForm(formdata=request.args)
    if not request.args.get("status"):
        form.status.data = "all"
    if not form.validate():
        return form, alerts.AlertFilter(), False
    return (
        form,
        alerts.AlertFilter(
            status=form.status.data,
            q=(form.q.data or "").strip(),
            since=form.since.data,
            until=form.until.data,
            acknowledged=form.acknowledged.data or "",
        ),
        True,
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
    form, filters, valid = _filters()
    page = db.paginate(alerts.alert_query(filters), per_page=50, max_per_page=200, error_out=False)
    return (
        render_page(
            "alerts/alerts.html",
            "results",
            filters=form,
            page=page,
            valid=valid,
            email=email_state(),
            open_count=alerts.open_alert_count(),
        ),
        200 if valid else 400,
    )


@bp.get("/alerts.csv")
def export():
    """The alerts matching the page's filters, as CSV."""
    form, filters, valid = _filters()
    if not valid:
        abort(400, description=invalid_filters(form))

    def rows():
        for a in db.session.scalars(alerts.alert_query(filters).execution_options(yield_per=500)):
            p = a.product
            if a.email is None:
                email = ""
            elif a.email.sent_at:
                email = "sent"
            else:
                email = f"not sent yet: {a.email.last_error or 'waiting'}"
            yield (
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

    return csv_response("low-stock-alerts.csv", CSV_COLUMNS, rows())


@bp.post("/alerts/<int:alert_id>/acknowledge")
@role_required(Role.STAFF)
def acknowledge(alert_id: int):
    """Say "I am on it": the alert shows who, so nobody else orders the same stock again."""
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    alert = alerts.acknowledge(alert_id, user_id=current_user.id)
    if is_htmx():
        return render_page("alerts/alerts.html", "alert_row", alert=alert)
    flash(f"You acknowledged the alert for {alert.product.sku}.", "success")
    return redirect(url_for("alerts.index"), code=303)


@bp.post("/alerts/check")
@role_required(Role.STAFF)
def check_now():
    """Run the low-stock check now instead of waiting for the next periodic run."""
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    result = alerts.check()
    flash(
        f"Checked every product: {len(result.opened)} alert(s) opened, {len(result.closed)} closed, "
        f"{len(result.notified)} notice(s) sent.",
        "success",
    )
    return redirect(url_for("alerts.index"), code=303)
