"""Trained model versions: make one, compare it with the active one, promote it only if it is not worse.

Training texts are the generated corpus plus what people filed: each reviewed document's text under the
category of its latest review. One reviewed text in five (chosen by the SHA-256 of the text, so the same
text always lands on the same side and no one has to remember a split) is never trained on: together with
a generated held-out set with a fixed seed it is the evaluation set. The set grows as people review, so
figures stored with older versions are not comparable with today's; that is why a candidate and the
active model are both measured, through their ONNX files as the worker runs them, on the same current set
at the moment of comparison. The candidate is promoted when its macro-F1 is at least the active one's.

Promotion is one transaction under a lock (PostgreSQL advisory lock, SQLite's write lock), and the
database allows one active version (a partial unique index), so two admins promoting at once end with
exactly one active version: whoever came second. Training imports scikit-learn lazily: the web and the
worker need this module to read the registry, and only training needs the training requirements.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from app.charts import RateBucket
from app.classify import runtime
from app.classify.models import Category, ModelVersion, Review
from app.database import begin_write, is_sqlite
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db
from app.ops import audit

log = logging.getLogger(__name__)

HELD_OUT_SEED = 424242  # fixed: the generated part of the evaluation set is the same texts for every version
HELD_OUT_PER_CATEGORY = 40
HELD_OUT_ONE_IN = 5  # one reviewed text in five is kept for measuring and never trained on
NO_PREDICTION = "(no prediction)"  # a text the model finds nothing to read in counts as a wrong answer
PROMOTION_LOCK = 7_246_001  # PostgreSQL advisory lock key: one promotion at a time
PROMOTE_ATTEMPTS = 3

Progress = Callable[[int, str], None]


class ModelError(DomainError):
    """A change to the model registry was refused; the message says why."""


class VersionNotFound(ModelError):
    status_code = 404


class PromotionRefused(ModelError):
    status_code = 409


_made: set[Path] = set()


def models_dir() -> Path:
    folder = Path(current_app.config["DATA_DIR"]) / "models"
    if folder not in _made:  # once per process: this is on every document's path
        folder.mkdir(parents=True, exist_ok=True)
        _made.add(folder)
    return folder


# ---------------------------------------------------------------- what the worker classifies with, cached

CHANGED_STAMP = "changed"  # a file in models_dir, rewritten whenever the active model or the categories change
SNAPSHOT_MAX_AGE = 30.0  # seconds: the fallback for a change made without the stamp (another host, SQL by hand)


@dataclass(frozen=True)
class Snapshot:
    """The active model and the active categories, as the classify step needs them."""

    version_id: int | None
    filename: str | None
    categories: dict[str, int]  # active category name -> id


_snapshots: dict[tuple[str, str], tuple[object, float, Snapshot]] = {}
_snapshot_lock = threading.Lock()


def note_change() -> None:
    """Tell every process sharing DATA_DIR to re-read the active model and categories before its next document."""
    stamp = models_dir() / CHANGED_STAMP
    temp = stamp.with_name(f".{CHANGED_STAMP}-{os.getpid()}-{threading.get_ident()}")
    temp.write_text(str(time.time_ns()))
    os.replace(temp, stamp)


def _stamp_identity(folder: Path) -> object:
    try:
        stat = os.stat(folder / CHANGED_STAMP)
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def snapshot() -> Snapshot:
    """The active model and categories, read from the database only when the stamp changed (or every 30 s).

    The classify step runs this for every document; without the cache it was two queries per document,
    most of the step's time (bench/classify.py). Promotions and category changes call `note_change`.
    """
    folder = models_dir()
    key = (str(folder), current_app.config["SQLALCHEMY_DATABASE_URI"])
    identity = _stamp_identity(folder)
    now = time.monotonic()
    with _snapshot_lock:
        cached = _snapshots.get(key)
        if cached is not None and cached[0] == identity and now - cached[1] < SNAPSHOT_MAX_AGE:
            return cached[2]
    version = db.session.execute(
        select(ModelVersion.id, ModelVersion.filename).where(ModelVersion.active.is_(True))
    ).first()
    names = dict(db.session.execute(select(Category.name, Category.id).where(Category.active.is_(True))).all())
    fresh = Snapshot(version.id if version else None, version.filename if version else None, names)
    with _snapshot_lock:
        _snapshots[key] = (identity, now, fresh)
    return fresh


def active_version() -> ModelVersion | None:
    return db.session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True)))


def versions() -> list[ModelVersion]:
    return list(db.session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def get_version(version_id: int) -> ModelVersion:
    version = db.session.get(ModelVersion, version_id)
    if version is None:
        raise VersionNotFound(f"There is no model version {version_id}.")
    return version


def active_model_path() -> Path | None:
    version = active_version()
    return models_dir() / version.filename if version else None


# ---------------------------------------------------------------- training and evaluation data


def text_checksum(text: str) -> str:
    """SHA-256 of a text, as `Document.text_sha256` stores it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def is_held_out(text: str) -> bool:
    """True for the one reviewed text in five kept for measuring models: decided by the text itself, forever."""
    return int(text_checksum(text)[:8], 16) % HELD_OUT_ONE_IN == 0


@dataclass(frozen=True)
class ReviewedTexts:
    """People's decisions as labelled texts: the part to train on, the part kept for measuring."""

    train_texts: list[str] = field(default_factory=list)
    train_labels: list[str] = field(default_factory=list)
    held_texts: list[str] = field(default_factory=list)
    held_labels: list[str] = field(default_factory=list)
    last_review_id: int | None = None  # the newest review when they were read


def reviewed_texts() -> ReviewedTexts:
    """Every reviewed document with text, under the category of its latest review (if that category is active)."""
    from app.documents.models import Document

    last = db.session.scalar(select(func.max(Review.id)))
    if last is None:
        return ReviewedTexts()
    # Reviews written while we read must not change the picture: everything is taken up to `last`.
    latest = select(func.max(Review.id).label("id")).where(Review.id <= last).group_by(Review.document_id).subquery()
    rows = db.session.execute(
        select(Document.text, Category.name)
        .select_from(Review)
        .join(latest, latest.c.id == Review.id)
        .join(Document, Document.id == Review.document_id)
        .join(Category, Category.id == Review.chosen_category_id)
        .where(Category.active.is_(True), Document.text.is_not(None))
        .order_by(Review.document_id)
    )
    found = ReviewedTexts(last_review_id=last)
    for document_text, category in rows:
        if not runtime.prepare(document_text):
            continue  # nothing a model can read: neither teaches nor measures anything
        if is_held_out(document_text):
            found.held_texts.append(document_text)
            found.held_labels.append(category)
        else:
            found.train_texts.append(document_text)
            found.train_labels.append(category)
    return found


def _labelled(items, allowed: set[str]) -> tuple[list[str], list[str]]:
    kept = [item for item in items if item.category in allowed]
    return [item.text for item in kept], [item.category for item in kept]


def measure(classifier: runtime.OnnxClassifier, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores and confusion of an ONNX model on labelled texts, as stored in metrics.

    Macro-F1 averages over the categories present in `labels`, so a model is not marked down for a category
    that no longer exists, and both models in a comparison are averaged over the same categories.
    """
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    if not texts or len(texts) != len(labels):
        raise ValueError("Measuring a model needs as many labels as texts, and at least one of each.")
    truth = [str(label) for label in labels]
    predicted: list[str] = []
    for start in range(0, len(texts), 256):
        for top in classifier.predict_many(texts[start : start + 256], k=1):
            predicted.append(top[0][0] if top else NO_PREDICTION)
    seen = set(truth) | set(predicted)
    order = sorted(seen - {NO_PREDICTION}) + ([NO_PREDICTION] if NO_PREDICTION in seen else [])
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=order, zero_division=0)
    index = {label: i for i, label in enumerate(order)}
    confusion = [[0] * len(order) for _ in order]
    for true, guess in zip(truth, predicted, strict=True):
        confusion[index[true]][index[guess]] += 1
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0)),
        "size": len(truth),
        "labels": order,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(order, precision, recall, f1, support, strict=True)
        },
        "confusion": confusion,
    }


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


def train_candidate(
    *,
    per_category: int = 150,
    seed: int = 1,
    user_id: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> TrainingOutcome:
    """Train on generated and reviewed texts, save the ONNX file, register it, promote it if not worse (or forced).

    `progress(percent, stage)` is told how far it has got, between steps that take a while; it is never
    called while this function has uncommitted changes, so it may write to the database itself.
    """
    from app.classify import corpus, training  # training-time dependencies, loaded only here

    report = progress or _nothing
    report(5, "Reading the reviewed documents")
    active_names = set(db.session.scalars(select(Category.name).where(Category.active.is_(True))))
    allowed = active_names or set(corpus.CATEGORIES)
    generated_texts, generated_labels = _labelled(corpus.generate(per_category, seed), allowed)
    held_texts, held_labels = _labelled(corpus.generate(HELD_OUT_PER_CATEGORY, HELD_OUT_SEED), allowed)
    reviewed = reviewed_texts()
    texts = generated_texts + reviewed.train_texts
    labels = generated_labels + reviewed.train_labels
    eval_texts = held_texts + reviewed.held_texts
    eval_labels = held_labels + reviewed.held_labels
    db.session.rollback()  # end the read transaction: training takes a while and needs no snapshot

    report(15, f"Training on {len(texts)} texts ({len(reviewed.train_texts)} from reviewed documents)")
    model = training.train(texts, labels, seed=seed)
    report(60, "Checking that the saved model gives the same answers as the trained one")
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(model.onnx_model).hexdigest()
    filename = f"model-{stamp}-{digest[:10]}.onnx"
    exported = training.export(model, models_dir() / filename, eval_texts)

    report(75, f"Measuring the new model on {len(eval_texts)} held-out texts")
    metrics = measure(runtime.OnnxClassifier(exported.path), eval_texts, eval_labels)
    metrics |= {
        "agreement": exported.agreement,
        "eval_generated": len(held_texts),
        "eval_reviewed": len(reviewed.held_texts),
    }
    previous = active_version()
    baseline: dict[str, Any] | None = None
    if previous is not None:
        report(85, f"Measuring the active model (version {previous.id}) on the same texts")
        baseline = {"version_id": previous.id}
        try:
            figures = measure(runtime.OnnxClassifier(models_dir() / previous.filename), eval_texts, eval_labels)
        except runtime.ModelUnavailable as error:
            baseline["error"] = str(error)
        else:
            baseline |= {"accuracy": figures["accuracy"], "macro_f1": figures["macro_f1"]}
        metrics["baseline"] = baseline
    better, reason = _verdict(metrics, previous, baseline)
    if not better:
        reason = f"{'Promoted because it was forced, although' if force else 'Not promoted:'} {reason}"

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
    db.session.add(candidate)
    db.session.flush()
    audit.record(
        "model.train",
        target_type="model_version",
        target_id=candidate.id,
        summary=(
            f"Trained model {candidate.id} on {model.training_size} texts ({candidate.reviewed_size} reviewed): "
            f"macro-F1 {metrics['macro_f1']:.3f} on {len(eval_texts)} held-out"
        ),
        actor_id=user_id,
        after={"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"], "baseline": baseline},
    )
    db.session.commit()

    promoted = False
    if better or force:
        try:
            promote(candidate.id, user_id=user_id, replacing=previous.id if previous else None, check_file=False)
            promoted = True
        except PromotionRefused as refused:
            reason = str(refused)
            candidate.note = reason[:500]
            db.session.commit()
    return TrainingOutcome(candidate=candidate, previous=previous, promoted=promoted, reason=reason, baseline=baseline)


def _verdict(
    metrics: dict[str, Any], previous: ModelVersion | None, baseline: dict[str, Any] | None
) -> tuple[bool, str]:
    """Whether the candidate is at least as good as the active model, and the sentence people will read."""
    new = metrics["macro_f1"]
    if previous is None or baseline is None:
        return True, "Promoted: there was no active model."
    if "error" in baseline:
        return True, (
            f"Promoted: the active model (version {previous.id}) could not be measured, so the new one replaces it. "
            f"{baseline['error']}"
        )
    old = baseline["macro_f1"]
    figures = f"macro-F1 {new:.3f} against {old:.3f} for version {previous.id} on the same {metrics['size']} texts"
    if new >= old:
        return True, f"Promoted: it is at least as good as the active model ({figures})."
    return False, f"it is worse than the active model ({figures})."


# ---------------------------------------------------------------- promotion


_ANY: Any = object()


def _lock_promotions() -> None:
    """Serialise promotions: SQLite takes its write lock now, PostgreSQL an advisory lock until commit."""
    if is_sqlite():
        begin_write()
    else:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROMOTION_LOCK})


def promote(
    version_id: int, *, user_id: int | None, replacing: int | None = _ANY, check_file: bool = True
) -> ModelVersion:
    """Make `version_id` the model the worker uses for the next document (also how an admin rolls back).

    With `replacing`, promote only if that version (None: no version) is still the active one, so a
    training run that measured itself against version 3 cannot push aside version 2 that an admin
    rolled back to meanwhile. Safe to call from two places at once: one lock, one transaction.
    """
    version = get_version(version_id)
    if check_file:
        try:
            runtime.load(models_dir() / version.filename)
        except runtime.ModelUnavailable as error:
            raise PromotionRefused(f"Model {version_id} cannot be used, so it stays inactive. {error}") from None
    attempt = 0
    while True:
        attempt += 1
        db.session.rollback()  # one transaction of its own, started under the lock
        try:
            _lock_promotions()
            current = active_version()
            current_id = current.id if current else None
            if replacing is not _ANY and current_id != replacing:
                db.session.rollback()
                raise PromotionRefused(
                    f"Not promoted: model {current_id} was made active while model {version_id} was being trained "
                    f"and measured. Retrain to compare them again, or promote model {version_id} by hand."
                )
            version = get_version(version_id)
            if current_id == version_id:
                db.session.rollback()
                return version
            db.session.execute(update(ModelVersion).where(ModelVersion.active.is_(True)).values(active=False))
            db.session.flush()  # the partial unique index allows one active row at any moment
            version.active = True
            version.promoted_at = utcnow()
            version.promoted_by = user_id
            older = current_id is not None and version_id < current_id
            audit.record(
                "model.promote",
                target_type="model_version",
                target_id=version_id,
                summary=f"{'Rolled back to' if older else 'Promoted'} model {version_id}"
                + (f" (model {current_id} was active)" if current_id else ""),
                actor_id=user_id,
                before={"active_version": current_id},
                after={"active_version": version_id},
            )
            db.session.commit()
            note_change()
            return version
        except IntegrityError:
            # Another promotion got in without the lock (e.g. an older process): start again from what it left.
            db.session.rollback()
            log.warning("promotion collided, trying again", extra={"model_version": version_id, "attempt": attempt})
            if attempt == PROMOTE_ATTEMPTS:
                raise PromotionRefused(
                    f"Model {version_id} could not be promoted because others kept promoting at the same moment; "
                    "try again."
                ) from None


# ---------------------------------------------------------------- how the models do on real documents


def acceptance(version_id: int | None = None, *, days: int = 182, today: date | None = None) -> list[RateBucket]:
    """Share of reviews that kept the model's first choice, per day (short histories) or per week.

    Reviews of documents the model made no suggestion for are left out: there was nothing to accept.
    """
    today = today or utcnow().date()
    since = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    query = select(Review.at, Review.accepted).where(Review.at >= since, Review.predicted.is_not(None))
    if version_id is not None:
        query = query.where(Review.model_version_id == version_id)
    rows = db.session.execute(query).all()
    if not rows:
        return []
    first = min(at for at, _ in rows).astimezone(UTC).date()
    weekly = (today - first).days > 45
    if weekly:
        first -= timedelta(days=first.weekday())  # weeks start on Monday
    step = timedelta(days=7 if weekly else 1)
    starts: list[date] = []
    day = first
    while day <= today:
        starts.append(day)
        day += step
    totals = {start: [0, 0] for start in starts}
    for at, accepted in rows:
        day = at.astimezone(UTC).date()
        start = day - timedelta(days=day.weekday()) if weekly else day
        counts = totals.setdefault(start, [0, 0])
        counts[0] += bool(accepted)
        counts[1] += 1
    return [
        RateBucket(
            start=start,
            label=f"{'week of ' if weekly else ''}{start.day} {start:%b}",
            accepted=counts[0],
            total=counts[1],
        )
        for start, counts in sorted(totals.items())
    ]
