"""Health, readiness, /metrics, the admin audit-log page and the System page (workers, queue, periodic tasks)."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.auth.access import public, role_required
from app.auth.models import Role, User
from app.csvio import csv_response
from app.extensions import db
from app.ops import gauges, queries, service, workers
from app.ops import metrics as ops_metrics
from app.ops.forms import AuditFilterForm
from app.ops.queries import AuditFilter
from app.search.indexer import index_status
from app.web import Filtered, read_filters, render_page

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@public
def healthz():
    """The process is up and answering; says nothing about its dependencies."""
    return jsonify(status="ok")


def _may_see_readiness_details() -> bool:
    """Callers /metrics lets in (inside the deployment, or with the metrics token), and signed-in admins.

    The address is asked first: it needs no database, which may be the very thing that is down.
    Loading the signed-in user does need it; when that fails the caller gets the verdict only.
    """
    if ops_metrics.may_read(request):
        return True
    try:
        return bool(current_user.is_authenticated and current_user.can(Role.ADMIN))
    except Exception:  # the database is down: /readyz must still answer (503), not fail itself
        db.session.rollback()
        return False


@bp.get("/readyz")
@public
def readyz():
    """Every dependency answers: 200 when all do, 503 naming the ones that do not.

    Strangers get the verdict only, from a probe at most a few seconds old: error texts name hosts
    and paths, and the counts and the model's figures are nobody else's business. Admins and
    callers inside the deployment (the same rule as /metrics) get every detail, probed afresh.
    """
    if not _may_see_readiness_details():
        ready = service.is_ready()
        response = jsonify(status="ok" if ready else "unavailable")
        response.status_code = 200 if ready else 503
        response.headers["Cache-Control"] = "no-store"
        return response
    checks = service.readiness()
    ready = all(state == "ok" for state in checks.values())
    # The model and the search index are reported, not required: without a model documents wait for
    # review; without an index search says so, and the worker rebuilds it. Neither stops the rest of the app.
    response = jsonify(
        status="ok" if ready else "unavailable",
        checks=checks,
        model=service.model_status(),
        search=index_status(),
        # Drift the last check could not repair, or checks that stopped: "degraded", never a reason to fail.
        search_drift=service.search_drift().as_dict() if checks["database"] == "ok" else {"status": "unknown"},
        # Reported like the model, never a reason to fail; not asked when the database is down (no second wait).
        workers=service.workers_for_readyz() if checks["database"] == "ok" else {"error": "database unavailable"},
    )
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@public
def metrics():
    """Prometheus figures, for readers inside the deployment or holding the token (checked here, not by sign-in)."""
    if not ops_metrics.may_read(request):
        abort(403, description="Metrics are read from inside the deployment, or with the metrics token.")
    body, content_type = gauges.render()
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


@bp.app_template_filter("age")
def age(seconds: float | None) -> str:
    """A duration in the largest unit that keeps it readable: 45 s, 12 min, 3 h 5 min, 2 days."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{hours // 24} days"


@bp.get("/admin/system")
@role_required(Role.ADMIN)
def system():
    """Workers and their heartbeats, the queue, periodic tasks, the search index's checks and recent failures
    (refreshes itself)."""
    overview = workers.system_overview()
    return render_page("ops/system.html", "system", overview=overview, search=service.search_drift(overview.now))


def _audit_filters() -> Filtered[AuditFilterForm, AuditFilter]:
    form = AuditFilterForm(formdata=request.args)
    users = db.session.execute(select(User.id, User.email).order_by(User.email)).all()
    form.actor.choices = [SelectChoice("", "Anyone"), SelectChoice("system", "The system")] + [
        SelectChoice(str(user_id), email) for user_id, email in users
    ]
    form.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(a) for a in queries.audit_actions()]
    form.target_type.choices = [SelectChoice("", "Anything")] + [SelectChoice(t) for t in queries.audit_target_types()]
    return read_filters(
        form,
        lambda f: AuditFilter(
            actor_id=int(f.actor.data) if (f.actor.data or "").isdigit() else None,
            system_only=f.actor.data == "system",
            action=f.action.data or None,
            target_type=f.target_type.data or None,
            since=f.since.data,
            until=f.until.data,
        ),
        AuditFilter(),
    )


@bp.get("/admin/audit")
@role_required(Role.ADMIN)
def audit_log():
    """The audit log, newest first, filtered by who, what and when (all of it, with the problem, when a filter is not
    valid)."""
    read = _audit_filters()
    page = db.paginate(queries.audit_query(read.filters), per_page=50, max_per_page=200, error_out=False)
    return render_page("ops/audit.html", "results", form=read.form, page=page, problem=read.problem), read.status


@bp.get("/admin/audit.csv")
@role_required(Role.ADMIN)
def audit_log_csv():
    """The same filtered audit log as a CSV download."""
    read = _audit_filters()
    if read.problem:
        return render_page("ops/audit.html", "results", form=read.form, page=None, problem=read.problem), 400
    query = queries.audit_query(read.filters)

    def rows():
        for event in db.session.scalars(query.execution_options(yield_per=500)):
            yield (
                event.at,
                event.actor.email if event.actor else "system",
                event.action,
                event.target_type,
                event.target_id,
                event.summary,
                event.request_id,
                event.ip,
            )

    return csv_response("audit-log.csv", queries.CSV_COLUMNS, rows())
