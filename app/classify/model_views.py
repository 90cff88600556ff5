"""The models page: versions and their figures, retrain now, promote or roll back.

Staff may look (they review documents and want to know how the model does); only admins act. The
retrain button answers htmx with the run's panel, which polls itself every second until the run ends;
without script the form posts and the page comes back with the same panel. All work is in
`registry`, `evaluation` and `retraining` (a retrain is handed `tasks.retrain` to enqueue); these views
only check who asks and render.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_login import current_user

from app.auth.access import role_required
from app.auth.models import Role
from app.charts import line_chart, rate_chart, reliability_chart
from app.classify import calibration, evaluation, registry, retraining, tasks
from app.classify.models import ModelVersion, TrainingRun
from app.extensions import db
from app.forms import ConfirmForm
from app.web import is_htmx, render_page, require_confirmation

bp = Blueprint("models", __name__, url_prefix="/admin/models")


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only() -> None:
    """Models are an admin's business, like everything under /admin (the access-map test holds every one to it)."""


def _panel(run: TrainingRun):
    """The run's panel; when the run has ended, an event that makes the page reload its list of versions."""
    body = render_page("models/run.html", "panel", **_panel_context(run))
    if is_htmx() and run.state not in retraining.UNDER_WAY:
        return body, 200, {"HX-Trigger": "model-trained"}
    return body


def _panel_context(run: TrainingRun | None) -> dict:
    version = db.session.get(ModelVersion, run.model_version_id) if run and run.model_version_id else None
    return {"run": run, "run_version": version, "confirm": ConfirmForm(), "under_way": retraining.UNDER_WAY}


def _calibration_context(version: ModelVersion | None) -> dict:
    """A version's calibration as stored at training time: figures, and a reliability chart before and after."""
    fitted = ((version.metrics or {}).get("calibration") if version else None) or {}
    before = calibration.bins_from_dicts(fitted.get("bins_before", []))
    after = calibration.bins_from_dicts(fitted.get("bins_after", []))
    return {
        "calibrated": fitted,
        "reliability_before": reliability_chart(before),
        "reliability_after": reliability_chart(after),
        "bins_before": before,
        "bins_after": after,
        "outcome": evaluation.auto_accept_outcome(version.id) if version else None,
        "threshold": current_app.config["AUTO_ACCEPT_THRESHOLD"],
    }


def _learning_chart(points: list[evaluation.CurvePoint]):
    measured = [point for point in points if point.accuracy is not None]
    return line_chart(
        [
            (
                point.reviewed_size,
                point.accuracy,
                f"v{point.version_id}",
                f"version {point.version_id}: trained with {point.reviewed_size} reviews, "
                f"{point.accuracy:.0%} right on {point.size} held-out reviewed documents",
            )
            for point in measured
        ]
    )


@bp.get("")
def index():
    """Every version with its figures and actions, the latest training run, and how the model does live."""
    versions = registry.versions()
    buckets = evaluation.acceptance()
    active = next((v for v in versions if v.active), None)
    curve = evaluation.learning_curve(versions, registry.models_dir())
    return render_page(
        "models/index.html",
        "versions",  # what the page reloads (htmx) when a run it watches has ended
        versions=versions,
        active=active,
        acceptance=rate_chart(buckets, what="reviews kept the model's first choice"),
        buckets=buckets,
        decision=retraining.retrain_due(),
        every_hours=current_app.config["RETRAIN_EVERY_HOURS"],
        rule=_rule(),
        curve=curve,
        learning=_learning_chart(curve),
        **_calibration_context(active),
        **_panel_context(retraining.latest_run()),
    )


def _rule() -> dict:
    """The promotion rule's numbers, for the one sentence on the page (the rule itself is in `retraining`)."""
    return {
        "min_reviewed": evaluation.MIN_REVIEWED,
        "per_category": evaluation.MIN_REVIEWED_PER_CATEGORY,
        "tolerance": retraining.FLOOR_TOLERANCE,
        "weight": retraining.REVIEWED_WEIGHT,
        "retire": retraining.RETIRE_GENERATED_AT,
    }


@bp.get("/<int:version_id>")
def show(version_id: int):
    """One version: its figures, per category, where it confuses categories, and how often people keep its choice."""
    version = db.session.get(ModelVersion, version_id)
    if version is None:
        abort(404, description=f"There is no model version {version_id}.")
    buckets = evaluation.acceptance(version.id)
    return render_page(
        "models/version.html",
        version=version,
        metrics=version.metrics or {},
        acceptance=rate_chart(buckets, what="reviews kept this model's first choice"),
        buckets=buckets,
        confirm=ConfirmForm(),
        active=registry.active_version(),
        rule=_rule(),
        **_calibration_context(version),
    )


@bp.post("/retrain")
@role_required(Role.ADMIN)
def retrain():
    """Start a retrain in the worker (or show the one under way)."""
    require_confirmation()
    started = retraining.start_retrain(user_id=current_user.id, trigger="manual", task=tasks.retrain)
    if is_htmx():
        return _panel(started.run)
    if started.new:
        flash("Retraining started: the progress shows below.", "success")
    else:
        flash("A retrain is already under way: its progress shows below.", "success")
    return redirect(url_for("models.index"), code=303)


@bp.get("/runs/<int:run_id>")
def run(run_id: int):
    """A training run's panel: progress while it is under way (it polls itself), the outcome when it ends."""
    training_run = db.session.get(TrainingRun, run_id)
    if training_run is None:
        abort(404, description=f"There is no training run {run_id}.")
    return _panel(training_run)


@bp.post("/<int:version_id>/promote")
@role_required(Role.ADMIN)
def promote(version_id: int):
    """Make a version the active one, better or not: forcing a promotion and rolling back are the same act."""
    require_confirmation()
    before = registry.active_version()
    before_id = before.id if before else None
    version = registry.promote(version_id, user_id=current_user.id)  # ModelError: 404/409 page with the reason
    if before_id == version.id:
        flash(f"Model {version.id} was already the active one.", "success")
    elif before_id is not None and version.id < before_id:
        flash(f"Rolled back to model {version.id}: the worker uses it for the next document.", "success")
    else:
        flash(f"Model {version.id} is now active: the worker uses it for the next document.", "success")
    return redirect(url_for("models.index"), code=303)
