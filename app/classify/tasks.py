"""The queue's entry points for classification: each task only calls `retraining`, where the work is.

Views and the schedule start a retrain with `retraining.start_retrain(..., task=retrain)`, which commits
the run before it enqueues this task; what a run does and when one is due is said in `retraining`.
"""

from __future__ import annotations

from huey import crontab

from app.classify import retraining
from app.queue import periodic_task, task


@task()
def retrain(run_id: int) -> None:
    """Train a new model for a `TrainingRun` (the retrain button and the schedule enqueue this)."""
    retraining.run_training(run_id)


@periodic_task(crontab(minute="*/10"))
def scheduled_retrain() -> None:
    """Every ten minutes: start a retrain if `retrain_due()` says it is time."""
    retraining.retrain_if_due(retrain)
