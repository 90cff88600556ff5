"""Measuring models: people's decisions as labelled texts, which of them are held out, the figures, the live rate.

Which texts are held out and why a candidate and the active model are measured together is the policy in
`app.classify.retraining`; this module provides the pieces: `reviewed_texts` splits people's decisions by
`is_held_out`, `EvaluationSet` is what a candidate is measured on (its generated and reviewed parts kept
apart, because the policy weighs them differently), `measure` scores an ONNX model through the runtime (the
way the worker runs it) and `macro_f1` scores answers over chosen categories, `calibrate` fits and measures
a model's temperature, `learning_curve` measures every version on today's reviewed held-out documents,
`acceptance` says how often people kept a model's first choice on real documents and `auto_accept_outcome`
how often people changed what a model filed by itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, exists, func, or_, select

from app.charts import RateBucket
from app.classify import calibration, corpus, runtime
from app.classify.models import Category, ModelVersion, Review
from app.db_types import utcnow
from app.documents.models import Document, ReviewState
from app.extensions import db

HELD_OUT_SEED = 424242  # fixed: the generated part of the evaluation set is the same texts for every version
HELD_OUT_PER_CATEGORY = 40
HELD_OUT_ONE_IN = 5  # one reviewed text in five is kept for measuring and never trained on
MEMORY_REASON_PREFIX = "Like "  # a review reason the memory wrote ("Like invoice_0412.pdf, filed as …")
NO_PREDICTION = "(no prediction)"  # a text the model finds nothing to read in counts as a wrong answer
# Reviewed held-out documents decide promotions and calibration once there are at least MIN_REVIEWED of them;
# a category with at least MIN_REVIEWED_PER_CATEGORY counts as reviewed (its generated texts stop mattering).
MIN_REVIEWED = 20
MIN_REVIEWED_PER_CATEGORY = 5


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
    last = db.session.scalar(select(func.max(Review.id)))
    if last is None:
        return ReviewedTexts()
    # Reviews written while we read must not change the picture: everything is taken up to `last`.
    latest = select(func.max(Review.id).label("id")).where(Review.id <= last).group_by(Review.document_id).subquery()
    rows = db.session.execute(
        select(Document.text, Category.key)
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


@dataclass(frozen=True)
class EvaluationSet:
    """The texts a candidate and the active model are measured on: generated ones with a fixed seed, and reviewed."""

    generated_texts: list[str]
    generated_labels: list[str]
    reviewed_texts: list[str]
    reviewed_labels: list[str]

    @property
    def texts(self) -> list[str]:
        return self.generated_texts + self.reviewed_texts

    @property
    def labels(self) -> list[str]:
        return self.generated_labels + self.reviewed_labels

    def reviewed_categories(self) -> list[str]:
        """Categories with at least MIN_REVIEWED_PER_CATEGORY held-out reviewed documents."""
        counts: dict[str, int] = {}
        for label in self.reviewed_labels:
            counts[label] = counts.get(label, 0) + 1
        return sorted(label for label, count in counts.items() if count >= MIN_REVIEWED_PER_CATEGORY)

    @property
    def decided_by_reviews(self) -> bool:
        """Enough reviewed held-out documents for them, not the generated texts, to decide."""
        return len(self.reviewed_texts) >= MIN_REVIEWED and bool(self.reviewed_categories())


def evaluation_set(allowed: set[str], reviewed: ReviewedTexts) -> EvaluationSet:
    """The generated held-out texts of the `allowed` categories, and the reviewed documents held out."""
    generated = [item for item in corpus.generate(HELD_OUT_PER_CATEGORY, HELD_OUT_SEED) if item.category in allowed]
    return EvaluationSet(
        [item.text for item in generated],
        [item.category for item in generated],
        list(reviewed.held_texts),
        list(reviewed.held_labels),
    )


def predicted_labels(classifier: runtime.OnnxClassifier, texts: Sequence[str]) -> list[str]:
    """The model's first choice for each text (NO_PREDICTION when it finds nothing to read), in batches."""
    predicted: list[str] = []
    for start in range(0, len(texts), 256):
        for top in classifier.predict_many(texts[start : start + 256], k=1):
            predicted.append(top[0][0] if top else NO_PREDICTION)
    return predicted


def macro_f1(truth: Sequence[str], predicted: Sequence[str], categories: Sequence[str]) -> float:
    """F1 per category, averaged over `categories` (every text takes part: a wrong answer costs precision too)."""
    scores = []
    for category in categories:
        hits = sum(t == category and p == category for t, p in zip(truth, predicted, strict=True))
        chosen = sum(p == category for p in predicted)
        actual = sum(t == category for t in truth)
        scores.append(2 * hits / (chosen + actual) if chosen + actual else 0.0)
    return float(sum(scores) / len(scores)) if scores else 0.0


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth) if truth else 0.0


def measure(classifier: runtime.OnnxClassifier, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores and confusion of an ONNX model on labelled texts, as stored in metrics.

    Macro-F1 averages over the categories present in `labels`, so a model is not marked down for a category
    that no longer exists, and both models in a comparison are averaged over the same categories.
    """
    if not texts or len(texts) != len(labels):
        raise ValueError("Measuring a model needs as many labels as texts, and at least one of each.")
    return figures(labels, predicted_labels(classifier, texts))


def figures(labels: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """`measure`'s figures for answers already given (one model's answers, sliced by the caller)."""
    # scikit-learn is a training requirement only; the web and the worker import this module without it.
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    truth = [str(label) for label in labels]
    predicted = list(predicted)
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


# ---------------------------------------------------------------- how the models do on real documents


def judged_the_model() -> ColumnElement[bool]:
    """Reviews that kept or overruled a suggestion of the model's: it made one, and the memory's was not first."""
    memory_said = func.coalesce(Review.previous_review_reason, "").startswith(MEMORY_REASON_PREFIX)
    return and_(Review.predicted.is_not(None), ~memory_said)


def acceptance(version_id: int | None = None, *, days: int = 182, today: date | None = None) -> list[RateBucket]:
    """Share of reviews that kept the model's first choice, per day (short histories) or per week.

    Reviews of documents the model made no suggestion for are left out: there was nothing to accept. So are
    those whose first suggestion was the memory's (an earlier person's decision, not the model's).
    """
    today = today or utcnow().date()
    since = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    query = select(Review.at, Review.accepted).where(Review.at >= since, judged_the_model())
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


# ---------------------------------------------------------------- calibration


def calibrate(classifier: runtime.OnnxClassifier, held_out: EvaluationSet) -> dict[str, Any]:
    """Fit the model's temperature on held-out texts and say how well calibrated it is before and after.

    Fitted on the reviewed held-out documents once there are MIN_REVIEWED of them (real documents are what
    the threshold is for), else on the whole evaluation set, generated texts included. The figure "after" is
    measured honestly: the set is split in two by text checksum, each half is calibrated with a temperature
    fitted on the other half, and the reliability bins and the expected calibration error are taken over both
    halves so calibrated. The temperature stored is fitted on the whole set.
    """
    reviewed = len(held_out.reviewed_texts) >= MIN_REVIEWED
    texts, labels = (
        (held_out.reviewed_texts, held_out.reviewed_labels) if reviewed else (held_out.texts, held_out.labels)
    )
    prepared = [runtime.prepare(text, classifier.max_chars) for text in texts]
    keep = [i for i, text in enumerate(prepared) if text]
    index = {label: i for i, label in enumerate(classifier.labels)}
    truth = np.array([index.get(labels[i], -1) for i in keep], dtype=int)
    raw = classifier.probabilities([prepared[i] for i in keep]) if keep else np.zeros((0, len(classifier.labels)))
    temperature = calibration.fit_temperature(raw, truth) if len(keep) else 1.0
    halves = np.array([int(text_checksum(texts[i])[8:16], 16) % 2 for i in keep], dtype=int)
    after = raw.copy()
    for half in (0, 1):
        inside = halves == half
        if inside.any() and (~inside).any():
            other = calibration.fit_temperature(raw[~inside], truth[~inside])
            after[inside] = calibration.apply_temperature(raw[inside], other)
        elif inside.any():
            after[inside] = calibration.apply_temperature(raw[inside], temperature)
    bins_before = calibration.reliability(*calibration.top_and_correct(raw, truth))
    bins_after = calibration.reliability(*calibration.top_and_correct(after, truth))
    return {
        "temperature": temperature,
        "fitted_on": "reviewed" if reviewed else "generated",
        "size": len(keep),
        "ece_before": calibration.expected_calibration_error(bins_before),
        "ece_after": calibration.expected_calibration_error(bins_after),
        "bins_before": calibration.bins_as_dicts(bins_before),
        "bins_after": calibration.bins_as_dicts(bins_after),
    }


# ---------------------------------------------------------------- the learning curve


@dataclass(frozen=True)
class CurvePoint:
    """One version measured on today's reviewed held-out documents."""

    version_id: int
    reviewed_size: int  # how many reviewed documents it was trained on
    accuracy: float | None  # None: its file cannot be used any more
    size: int


_curves: dict[tuple[Any, ...], list[CurvePoint]] = {}
_curve_lock = threading.Lock()
CURVE_VERSIONS = 30  # the newest versions measured; older ones are left off the chart


def learning_curve(versions: Sequence[ModelVersion], models_dir: Path) -> list[CurvePoint]:
    """Each version's accuracy on the reviewed held-out documents of today, oldest version first.

    Measured when the page asks, through the ONNX files as the worker runs them, so every version is scored on
    the same documents (figures stored at training time were on the smaller set of their day); kept per process
    until a review or a version changes what there is to measure. Empty while no reviewed document is held out.
    """
    chosen = sorted(versions, key=lambda version: version.id)[-CURVE_VERSIONS:]
    newest_review = db.session.scalar(select(func.max(Review.id)))
    key = (str(models_dir), newest_review, tuple((version.id, version.sha256) for version in chosen))
    with _curve_lock:
        if key in _curves:
            return _curves[key]
    held = reviewed_texts()
    points: list[CurvePoint] = []
    if held.held_texts:
        for version in chosen:
            try:
                classifier = runtime.OnnxClassifier(models_dir / version.filename)
            except runtime.ModelUnavailable:
                points.append(CurvePoint(version.id, version.reviewed_size, None, len(held.held_texts)))
                continue
            predicted = predicted_labels(classifier, held.held_texts)
            points.append(
                CurvePoint(
                    version.id, version.reviewed_size, accuracy(held.held_labels, predicted), len(held.held_texts)
                )
            )
    with _curve_lock:
        _curves.clear()  # one set of figures per process: the newest
        _curves[key] = points
    return points


# ---------------------------------------------------------------- what the threshold does


@dataclass(frozen=True)
class AutoAcceptOutcome:
    """Of the documents a version classified, how many it filed by itself, and how many of those people changed."""

    classified: int
    auto_accepted: int
    changed: int

    @property
    def auto_share(self) -> float | None:
        return self.auto_accepted / self.classified if self.classified else None

    @property
    def changed_share(self) -> float | None:
        return self.changed / self.auto_accepted if self.auto_accepted else None


def auto_accept_outcome(version_id: int) -> AutoAcceptOutcome:
    """Documents in use that `version_id` classified; those it auto-accepted; those a person then changed.

    Auto-accepted means filed without a person because the model was sure enough: the document is still
    `auto_accepted` with no reason given, or a person's review found it so (`previous_review_state`, again with
    no reason: documents filed because their text equals a reviewed one carry a reason, and are not the
    threshold's doing). Changed means a person has since filed such a document under another category than
    the model's first choice.
    """
    live = and_(
        Document.model_version_id == version_id, Document.confidence.is_not(None), Document.deleted_at.is_(None)
    )
    reviewed_from_auto = exists().where(
        Review.document_id == Document.id,
        Review.previous_review_state == ReviewState.AUTO_ACCEPTED,
        Review.previous_review_reason.is_(None),
    )
    auto = or_(
        and_(Document.review_state == ReviewState.AUTO_ACCEPTED, Document.review_reason.is_(None)),
        reviewed_from_auto,
    )
    changed = and_(auto, exists().where(Review.document_id == Document.id, Review.accepted.is_(False)))
    classified, auto_accepted, changed_count = db.session.execute(
        select(
            func.count(Document.id),
            func.count(Document.id).filter(auto),
            func.count(Document.id).filter(changed),
        ).where(live)
    ).one()
    return AutoAcceptOutcome(int(classified), int(auto_accepted), int(changed_count))
