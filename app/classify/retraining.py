"""Retraining: how a new model version is made and judged, and the training runs that make one in the worker.

The policy, written here and nowhere else. Training texts are the generated corpus plus what people filed:
each reviewed document's text under the category of its latest review. One reviewed text in five (chosen by
the SHA-256 of the text, so the same text always lands on the same side and no one has to remember a split)
is never trained on: together with a generated held-out set with a fixed seed it is the evaluation set. The
set grows as people review, so figures stored with older versions are not comparable with today's; that is
why a candidate and the active model are both measured, through their ONNX files as the worker runs them, on
the same current set at the moment of comparison.

Weights: every reviewed document weighs REVIEWED_WEIGHT (3) in the fit; a category's generated texts weigh
1 - r/RETIRE_GENERATED_AT each (r: that category's reviewed training documents; never below GENERATED_FLOOR),
so by 100 reviews a category is learnt from what people filed, with its generated texts as a faint prior.
Real documents are what the model is for; the generated ones only stand in until there are some. And no
category people file into weighs less in all than a generated category does: when a category's generated
texts weigh less than the average generated category's (a category people created has none), its reviewed
documents share the difference, each still at least REVIEWED_WEIGHT. Without that, the first five reviews of
a new kind of document were five texts against 1,500 generated ones, and the model went on suggesting
generated categories nobody uses (`bench/classify.py --learning`, docs/PERFORMANCE.md).

Promotion: once at least `evaluation.MIN_REVIEWED` (20) reviewed documents are held out and at least one
category has `evaluation.MIN_REVIEWED_PER_CATEGORY` (5) of them, the candidate is promoted when its macro-F1
on the held-out reviewed documents, averaged over those reviewed categories, is at least the active model's,
and its macro-F1 on the generated held-out texts of the other categories (nobody has reviewed enough of them
to judge) is at most FLOOR_TOLERANCE (0.02) below the active model's. Until then both models are measured on
generated and reviewed held-out texts together and the candidate needs a macro-F1 at least the active one's.
A forced retrain promotes anyway; a candidate is never promoted over a version made active while it was
being trained. Calibration (a temperature, `calibration`) is fitted on the held-out set after the verdict
and changes no answer, so it never decides a promotion.

A retrain is a `TrainingRun` row first and a Huey task second: the row is committed before the task is
enqueued, so the page can show it at once and nothing is lost if the queue is down (the run is marked
failed with the reason). The run writes its progress to the row, each step in its own short transaction,
which is what the page's progress bar polls. At most one run is under way at a time; a run that has been
`running` for over an hour, or `queued` without a worker taking it, is marked failed (a worker killed
mid-task never finishes it, and Huey on Redis does not re-deliver it). The periodic retrain asks
`retrain_due()`, a plain function so that the page can show the decision and tests can call it.

One piece: the rule (weights, the verdict and the figures it compares) and the runs and schedule that carry
it out are changed together whenever the rule changes, and the runs are a third of the module; splitting them
off would put the policy's only caller in another file.

The task to enqueue is passed in by the caller (`app.classify.tasks` holds it and imports this module).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from app.classify import calibration, corpus, evaluation, registry, runtime
from app.classify.models import Category, ModelVersion, Review, TrainingRun
from app.database import lock_transaction
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db
from app.ops import audit
from app.queue import enqueue_after_commit
from app.timezones import local

log = logging.getLogger(__name__)

UNDER_WAY = ("queued", "running")
STALE_AFTER = timedelta(hours=1)
TRAIN_PER_CATEGORY = 150  # generated texts per category in a retrain (tests make it smaller)
REVIEWED_WEIGHT = 3.0  # a reviewed document counts three times a generated text of a category nobody reviewed
RETIRE_GENERATED_AT = 100  # reviewed training documents after which a category's generated texts weigh the floor
GENERATED_FLOOR = 0.1
FLOOR_TOLERANCE = 0.02  # how far the generated texts of unreviewed categories may slip when reviews decide
START_LOCK = 7_246_002  # PostgreSQL advisory lock key: one retrain started at a time

Progress = Callable[[int, str], None]


# ---------------------------------------------------------------- training a candidate


@dataclass(frozen=True)
class TrainingOutcome:
    candidate: ModelVersion
    previous: ModelVersion | None  # the model that was active when the candidate was measured
    promoted: bool
    reason: str  # why it was or was not promoted, as a sentence
    baseline: dict[str, Any] | None  # the previous model's figures on the same evaluation set, or why there are none


def _nothing(_percent: int, _stage: str) -> None:
    return None


def _labelled(items: list[corpus.LabelledText], allowed: set[str]) -> tuple[list[str], list[str]]:
    kept = [item for item in items if item.category in allowed]
    return [item.text for item in kept], [item.category for item in kept]


def training_weights(generated_labels: list[str], reviewed_labels: list[str]) -> list[float]:
    """The weight of each training text, generated ones first: the rule in this module's docstring."""
    reviewed_per_category = Counter(reviewed_labels)
    generated_per_category = Counter(generated_labels)
    average = sum(generated_per_category.values()) / len(generated_per_category) if generated_per_category else 0.0

    def generated(label: str) -> float:
        return max(GENERATED_FLOOR, 1.0 - reviewed_per_category.get(label, 0) / RETIRE_GENERATED_AT)

    def reviewed(label: str) -> float:
        missing = average - generated_per_category.get(label, 0) * generated(label)
        return max(REVIEWED_WEIGHT, missing / reviewed_per_category[label])

    return [generated(label) for label in generated_labels] + [reviewed(label) for label in reviewed_labels]


def train_candidate(
    *,
    per_category: int = 150,
    seed: int = 1,
    user_id: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> TrainingOutcome:
    """Train on generated and reviewed texts, save the ONNX file and its calibration, register it, promote it if
    the policy says so (or forced).

    `progress(percent, stage)` is told how far it has got, between steps that take a while; it is never
    called while this function has uncommitted changes, so it may write to the database itself.
    """
    # scikit-learn and skl2onnx: a training requirement only, which the web and the worker images do not have.
    from app.classify import training

    report = progress or _nothing
    report(5, "Reading the reviewed documents")
    active_keys = set(db.session.scalars(select(Category.key).where(Category.active.is_(True))))
    allowed = active_keys or set(corpus.CATEGORIES)
    generated_texts, generated_labels = _labelled(corpus.generate(per_category, seed), allowed)
    reviewed = evaluation.reviewed_texts()
    held_out = evaluation.evaluation_set(allowed, reviewed)
    texts = generated_texts + reviewed.train_texts
    labels = generated_labels + reviewed.train_labels
    weights = training_weights(generated_labels, reviewed.train_labels)
    db.session.rollback()  # end the read transaction: training takes a while and needs no snapshot

    report(15, f"Training on {len(texts)} texts ({len(reviewed.train_texts)} from reviewed documents)")
    model = training.train(texts, labels, seed=seed, sample_weight=weights)
    report(60, "Checking that the saved model gives the same answers as the trained one")
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(model.onnx_model).hexdigest()
    filename = f"model-{stamp}-{digest[:10]}.onnx"
    exported = training.export(model, registry.models_dir() / filename, held_out.texts)

    report(70, f"Measuring the new model on {len(held_out.texts)} held-out texts")
    new_model = runtime.OnnxClassifier(exported.path)
    answers = evaluation.predicted_labels(new_model, held_out.texts)
    metrics = evaluation.figures(held_out.labels, answers)
    metrics |= {
        "agreement": exported.agreement,
        "eval_generated": len(held_out.generated_texts),
        "eval_reviewed": len(held_out.reviewed_texts),
        "reviewed": _part_figures(held_out, answers, reviewed_part=True),
        "generated": _part_figures(held_out, answers, reviewed_part=False),
    }
    previous = registry.active_version()
    baseline: dict[str, Any] | None = None
    active_answers: list[str] | None = None
    if previous is not None:
        report(80, f"Measuring the active model (version {previous.id}) on the same texts")
        baseline = {"version_id": previous.id}
        try:
            active_model = runtime.OnnxClassifier(registry.models_dir() / previous.filename)
            active_answers = evaluation.predicted_labels(active_model, held_out.texts)
        except runtime.ModelUnavailable as error:
            baseline["error"] = str(error)
        else:
            figures = evaluation.figures(held_out.labels, active_answers)
            baseline |= {"accuracy": figures["accuracy"], "macro_f1": figures["macro_f1"]}
            baseline["reviewed"] = _part_figures(held_out, active_answers, reviewed_part=True)
            baseline["generated"] = _part_figures(held_out, active_answers, reviewed_part=False)
        metrics["baseline"] = baseline
    metrics["decision"] = _decision_figures(held_out, answers, active_answers)
    better, reason = _verdict(metrics, previous, baseline)
    if not better:
        reason = f"{'Promoted because it was forced, although' if force else 'Not promoted:'} {reason}"

    report(90, "Fitting how sure the new model should be (calibration)")
    fitted = evaluation.calibrate(new_model, held_out)
    metrics["calibration"] = fitted
    calibration.write_sidecar(
        exported.path,
        {key: fitted[key] for key in ("temperature", "fitted_on", "size", "ece_before", "ece_after")}
        | {"model": filename},
    )

    report(95, "Registering the new version")
    candidate = ModelVersion(
        filename=filename,
        sha256=exported.sha256,
        training_size=model.training_size,
        reviewed_size=len(reviewed.train_texts),
        metrics=metrics,
        last_review_id=reviewed.last_review_id,
        note=reason[:500],
    )
    registry.register(candidate, user_id=user_id)

    promoted = False
    if better or force:
        try:
            registry.promote(
                candidate.id, user_id=user_id, replacing=previous.id if previous else None, check_file=False
            )
            promoted = True
        except registry.PromotionRefused as refused:
            reason = str(refused)
            candidate.note = reason[:500]
            db.session.commit()
    return TrainingOutcome(candidate=candidate, previous=previous, promoted=promoted, reason=reason, baseline=baseline)


def _part_figures(held_out: evaluation.EvaluationSet, answers: list[str], *, reviewed_part: bool) -> dict[str, Any]:
    """Accuracy and macro-F1 on the reviewed (or the generated) part of the evaluation set alone."""
    cut = len(held_out.generated_texts)
    truth = held_out.reviewed_labels if reviewed_part else held_out.generated_labels
    given = answers[cut:] if reviewed_part else answers[:cut]
    present = sorted(set(truth))
    return {
        "size": len(truth),
        "accuracy": evaluation.accuracy(truth, given),
        "macro_f1": evaluation.macro_f1(truth, given, present),
    }


def _decision_figures(
    held_out: evaluation.EvaluationSet, answers: list[str], active_answers: list[str] | None
) -> dict[str, Any]:
    """The figures the verdict compares, for both models, under the rule of the day (this module's docstring)."""
    cut = len(held_out.generated_texts)
    if not held_out.decided_by_reviews:
        found: dict[str, Any] = {"by": "all", "size": len(held_out.texts)}
        categories = sorted(set(held_out.labels))
        found["candidate"] = {"primary": evaluation.macro_f1(held_out.labels, answers, categories)}
        if active_answers is not None:
            found["active"] = {"primary": evaluation.macro_f1(held_out.labels, active_answers, categories)}
        return found
    reviewed_categories = held_out.reviewed_categories()
    floor_categories = sorted(set(held_out.generated_labels) - set(reviewed_categories))

    def scores(given: list[str]) -> dict[str, float | None]:
        primary = evaluation.macro_f1(held_out.reviewed_labels, given[cut:], reviewed_categories)
        floor = None
        if floor_categories:
            floor = evaluation.macro_f1(held_out.generated_labels, given[:cut], floor_categories)
        return {"primary": primary, "floor": floor}

    found = {
        "by": "reviewed",
        "size": len(held_out.reviewed_texts),
        "reviewed_categories": reviewed_categories,
        "floor_categories": floor_categories,
        "floor_size": sum(label in floor_categories for label in held_out.generated_labels),
        "tolerance": FLOOR_TOLERANCE,
        "candidate": scores(answers),
    }
    if active_answers is not None:
        found["active"] = scores(active_answers)
    return found


def _verdict(
    metrics: dict[str, Any], previous: ModelVersion | None, baseline: dict[str, Any] | None
) -> tuple[bool, str]:
    """Whether the policy promotes the candidate, and the sentence people will read."""
    if previous is None or baseline is None:
        return True, "Promoted: there was no active model."
    if "error" in baseline:
        return True, (
            f"Promoted: the active model (version {previous.id}) could not be measured, so the new one replaces it. "
            f"{baseline['error']}"
        )
    decision = metrics["decision"]
    new, old = decision["candidate"]["primary"], decision["active"]["primary"]
    if decision["by"] == "all":
        figures = f"macro-F1 {new:.3f} against {old:.3f} for version {previous.id} on the same {metrics['size']} texts"
        if new >= old:
            return True, f"Promoted: it is at least as good as the active model ({figures})."
        return False, f"it is worse than the active model ({figures})."
    kinds = len(decision["reviewed_categories"])
    on_reviews = (
        f"macro-F1 {new:.3f} against {old:.3f} for version {previous.id} on the same {decision['size']} held-out "
        f"reviewed documents, over the {kinds} categor{'y' if kinds == 1 else 'ies'} with enough of them"
    )
    if new < old:
        return False, f"it is worse than the active model on real documents: {on_reviews}."
    floor_new, floor_old = decision["candidate"]["floor"], decision["active"]["floor"]
    if floor_new is None or floor_old is None:
        return True, f"Promoted: it is at least as good as the active model on real documents: {on_reviews}."
    on_generated = (
        f"macro-F1 {floor_new:.3f} against {floor_old:.3f} on the generated texts of the "
        f"{len(decision['floor_categories'])} categories nobody has reviewed enough"
    )
    if floor_new < floor_old - decision["tolerance"]:
        return False, (
            f"it is at least as good on real documents ({on_reviews}), but more than "
            f"{decision['tolerance']:.2f} worse on categories nobody has reviewed yet: {on_generated}."
        )
    return True, (
        f"Promoted: it is at least as good as the active model on real documents ({on_reviews}), and no more than "
        f"{decision['tolerance']:.2f} worse on the rest: {on_generated}."
    )


# ---------------------------------------------------------------- training runs


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


def start_retrain(*, user_id: int | None, trigger: str, task: Callable[[int], Any]) -> Started:
    """Start a retrain by handing the new run's id to `task` (`tasks.retrain`), or return the run under way."""
    db.session.rollback()  # this function is one transaction of its own
    lock_transaction(START_LOCK)
    now = utcnow()
    _fail_stale(now)
    existing = run_under_way()
    if existing is not None:
        db.session.commit()
        return Started(existing, new=False)
    run = TrainingRun(state="queued", trigger=trigger, requested_by=user_id, requested_at=now, stage="Waiting")
    db.session.add(run)
    db.session.flush()
    audit.record_about(run, "model.retrain", f"Asked for a retrain ({trigger})", user_id)
    run_id = run.id
    if not enqueue_after_commit(task, run_id, fallback="the run is marked failed", training_run=run_id):
        # Say so on the run rather than leave it waiting for a worker that will never hear of it.
        error = "The task queue could not be reached, so training did not start; the log has the details."
        _finish(run_id, state="failed", error=error)
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
    if isinstance(error, ImportError):
        return "This worker cannot train models: the training requirements (requirements-train.txt) are not installed."
    # ModelRejected is named, not imported: importing `training` needs scikit-learn, which may be what is missing.
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
        outcome = train_candidate(
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


# ---------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class Decision:
    due: bool
    reason: str  # a sentence: why it is or is not time to retrain

    def __bool__(self) -> bool:
        return self.due


def _can_train() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("sklearn", "skl2onnx"))


def _reviews(count: int) -> str:
    return f"{count} new review{'s' if count != 1 else ''}"


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
        waits = f"the periodic retrain waits for {needed}"
        return Decision(False, f"{_reviews(new_reviews)} since the last training; {waits}.")
    last_run = db.session.scalar(select(func.max(TrainingRun.requested_at)))
    last_version = db.session.scalar(select(func.max(ModelVersion.created_at)))
    last = max((at for at in (last_run, last_version) if at is not None), default=None)
    if last is not None and now - last < timedelta(hours=every):
        next_at = last + timedelta(hours=every)
        return Decision(
            False,
            # In the zone of the person reading the models page; UTC in the worker's log lines.
            f"There are new reviews; the last training was at {local(last, zoned=True)}, "
            f"so the next is due after {local(next_at, zoned=True)}.",
        )
    if not _can_train():
        return Decision(False, "This installation cannot train models: install requirements-train.txt.")
    return Decision(True, f"{_reviews(new_reviews)} since the last training.")


def retrain_if_due(task: Callable[[int], Any]) -> None:
    """Start a retrain (through `task`, as the button does) when `retrain_due()` says it is time."""
    decision = retrain_due()
    if not decision:
        log.debug("periodic retrain skipped", extra={"reason": decision.reason})
        return
    started = start_retrain(user_id=None, trigger="schedule", task=task)
    log.info("periodic retrain started", extra={"reason": decision.reason, "training_run": started.run.id})
