"""Background work of classification: retraining on demand and on a schedule.

A retrain is a `TrainingRun` row first and a Huey task second: the row is committed before the task is
enqueued, so the page can show it at once and nothing is lost if the queue is down (the run is marked
failed with the reason). The task writes its progress to the row, each step in its own short
transaction, which is what the page's progress bar polls. At most one run is under way at a time; a
run that has been `running` for over an hour, or `queued` without a worker taking it, is marked failed
(a worker killed mid-task never finishes it, and Huey on Redis does not re-deliver it).

The periodic task only asks `retrain_due()` and, when it says so, starts a run like the button does.
The decision is a plain function so that the page can show it and tests can call it.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from huey import crontab
from sqlalchemy import func, select, text, update

from app.classify import registry
from app.classify.models import ModelVersion, Review, TrainingRun
from app.database import begin_write, is_sqlite
from app.db_types import utcnow
from app.extensions import db
from app.ops import audit
from app.queue import periodic_task, task

log = logging.getLogger(__name__)

UNDER_WAY = ("queued", "running")
STALE_AFTER = timedelta(hours=1)
TRAIN_PER_CATEGORY = 150  # generated texts per category in a retrain (tests make it smaller)
START_LOCK = 7_246_002  # PostgreSQL advisory lock key: one retrain started at a time


@dataclass(frozen=True)
class Started:
    run: TrainingRun
    new: bool  # False: a run was already under way, and this is that one


def _fail_stale(now: datetime) -> None:
    """Mark runs that cannot still be going as failed, in the caller's transaction."""
    cutoff = now - STALE_AFTER
    db.session.execute(
        update(TrainingRun)
        .where(TrainingRun.state == "running", TrainingRun.started_at < cutoff)
        .values(state="failed", finished_at=now, error="The worker stopped during training.")
    )
    db.session.execute(
        update(TrainingRun)
        .where(TrainingRun.state == "queued", TrainingRun.requested_at < cutoff)
        .values(state="failed", finished_at=now, error="No worker started the training within an hour.")
    )


def run_under_way() -> TrainingRun | None:
    """The run queued or running now, if any (stale ones are not counted)."""
    cutoff = utcnow() - STALE_AFTER
    return db.session.scalar(
        select(TrainingRun)
        .where(
            TrainingRun.state.in_(UNDER_WAY),
            func.coalesce(TrainingRun.started_at, TrainingRun.requested_at) >= cutoff,
        )
        .order_by(TrainingRun.id.desc())
        .limit(1)
    )


def latest_run() -> TrainingRun | None:
    return db.session.scalar(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(1))


def start_retrain(*, user_id: int | None, trigger: str) -> Started:
    """Start a retrain in the worker, or return the one already under way."""
    db.session.rollback()  # this function is one transaction of its own
    if is_sqlite():
        begin_write()
    else:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": START_LOCK})
    now = utcnow()
    _fail_stale(now)
    existing = run_under_way()
    if existing is not None:
        db.session.commit()
        return Started(existing, new=False)
    run = TrainingRun(state="queued", trigger=trigger, requested_by=user_id, requested_at=now, stage="Waiting")
    db.session.add(run)
    db.session.flush()
    audit.record(
        "model.retrain",
        target_type="training_run",
        target_id=run.id,
        summary=f"Asked for a retrain ({trigger})",
        actor_id=user_id,
    )
    db.session.commit()
    run_id = run.id
    try:
        retrain(run_id)
    except Exception as error:  # the queue is unreachable: say so on the run rather than leave it waiting
        log.exception("retrain not enqueued", extra={"training_run": run_id})
        _finish(
            run_id, state="failed", error=f"The task queue could not be reached, so training did not start ({error})."
        )
    db.session.expire_all()
    return Started(db.session.get(TrainingRun, run_id), new=True)


def _set_progress(run_id: int, percent: int, stage: str) -> None:
    """Write progress in a transaction of its own, so a poller sees it at once."""
    with db.engine.begin() as connection:
        connection.execute(
            update(TrainingRun)
            .where(TrainingRun.id == run_id, TrainingRun.state == "running")
            .values(progress=max(0, min(100, int(percent))), stage=stage[:200])
        )


def _finish(run_id: int, *, state: str, **values: object) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            update(TrainingRun).where(TrainingRun.id == run_id).values(state=state, finished_at=utcnow(), **values)
        )


def _failure_sentence(error: Exception) -> str:
    from app.errors import DomainError

    if isinstance(error, ImportError):
        return "This worker cannot train models: the training requirements (requirements-train.txt) are not installed."
    if isinstance(error, DomainError | ValueError) or type(error).__name__ == "ModelRejected":
        return str(error)[:500]
    return f"Training stopped with an unexpected error ({type(error).__name__}); the worker's log has the details."


def run_training(run_id: int) -> None:
    """Train, measure and maybe promote, recording progress and the outcome on the run."""
    claimed = db.session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.state == "queued")
        .values(state="running", started_at=utcnow(), progress=1, stage="Starting")
    ).rowcount
    db.session.commit()
    if not claimed:
        log.info("training run is not waiting; nothing to do", extra={"training_run": run_id})
        return
    run = db.session.get(TrainingRun, run_id)
    user_id = run.requested_by if run else None
    log.info("training started", extra={"training_run": run_id})
    try:
        outcome = registry.train_candidate(
            per_category=TRAIN_PER_CATEGORY,
            user_id=user_id,
            progress=lambda percent, stage: _set_progress(run_id, percent, stage),
        )
    except Exception as error:
        db.session.rollback()
        sentence = _failure_sentence(error)
        log.exception("training failed", extra={"training_run": run_id, "error": sentence})
        _finish(run_id, state="failed", error=sentence, stage="Failed")
        return
    _finish(
        run_id,
        state="finished",
        progress=100,
        stage=outcome.reason[:200],
        model_version_id=outcome.candidate.id,
        promoted=outcome.promoted,
    )
    log.info(
        "training finished",
        extra={"training_run": run_id, "model_version": outcome.candidate.id, "promoted": outcome.promoted},
    )


@task()
def retrain(run_id: int) -> None:
    """Train a new model for a `TrainingRun` (the retrain button and the schedule enqueue this)."""
    run_training(run_id)


# ---------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class Decision:
    due: bool
    reason: str  # a sentence: why it is or is not time to retrain

    def __bool__(self) -> bool:
        return self.due


def _can_train() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("sklearn", "skl2onnx"))


def retrain_due(now: datetime | None = None) -> Decision:
    """Whether the periodic retrain should start one now: on, nothing under way, enough new reviews, not too soon."""
    now = now or utcnow()
    config = current_app.config
    every = float(config["RETRAIN_EVERY_HOURS"])
    needed = int(config["RETRAIN_MIN_REVIEWS"])
    if every <= 0:
        return Decision(False, "The periodic retrain is off (QM_RETRAIN_EVERY_HOURS is 0).")
    if run_under_way() is not None:
        return Decision(False, "A retrain is already under way.")
    # New reviews since the newest model learnt from any: retraining on the same data makes the same model.
    learnt = db.session.scalar(select(func.max(ModelVersion.last_review_id))) or 0
    new_reviews = db.session.scalar(select(func.count(Review.id)).where(Review.id > learnt)) or 0
    if new_reviews < needed:
        return Decision(
            False,
            f"{new_reviews} new review{'s' if new_reviews != 1 else ''} since the last training; "
            f"the periodic retrain waits for {needed}.",
        )
    last_run = db.session.scalar(select(func.max(TrainingRun.requested_at)))
    last_version = db.session.scalar(select(func.max(ModelVersion.created_at)))
    last = max((at for at in (last_run, last_version) if at is not None), default=None)
    if last is not None and now - last < timedelta(hours=every):
        next_at = last + timedelta(hours=every)
        return Decision(
            False,
            f"There are new reviews; the last training was at {last:%Y-%m-%d %H:%M} UTC, "
            f"so the next is due after {next_at:%Y-%m-%d %H:%M} UTC.",
        )
    if not _can_train():
        return Decision(False, "This installation cannot train models: install requirements-train.txt.")
    return Decision(True, f"{new_reviews} new review{'s' if new_reviews != 1 else ''} since the last training.")


@periodic_task(crontab(minute="*/10"))
def scheduled_retrain() -> None:
    """Every ten minutes: start a retrain if `retrain_due()` says it is time."""
    decision = retrain_due()
    if not decision:
        log.debug("periodic retrain skipped", extra={"reason": decision.reason})
        return
    started = start_retrain(user_id=None, trigger="schedule")
    log.info("periodic retrain started", extra={"reason": decision.reason, "training_run": started.run.id})
