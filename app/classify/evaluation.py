"""Measuring models: people's decisions as labelled texts, which of them are held out, the figures, the live rate.

Which texts are held out and why a candidate and the active model are measured together is the policy in
`app.classify.retraining`; this module provides the pieces: `reviewed_texts` splits people's decisions by
`is_held_out`, `measure` scores an ONNX model through the runtime (the way the worker runs it), and
`acceptance` says how often people kept a model's first choice on real documents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.charts import RateBucket
from app.classify import runtime
from app.classify.models import Category, Review
from app.db_types import utcnow
from app.documents.models import Document
from app.extensions import db

HELD_OUT_SEED = 424242  # fixed: the generated part of the evaluation set is the same texts for every version
HELD_OUT_PER_CATEGORY = 40
HELD_OUT_ONE_IN = 5  # one reviewed text in five is kept for measuring and never trained on
NO_PREDICTION = "(no prediction)"  # a text the model finds nothing to read in counts as a wrong answer


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


def measure(classifier: runtime.OnnxClassifier, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores and confusion of an ONNX model on labelled texts, as stored in metrics.

    Macro-F1 averages over the categories present in `labels`, so a model is not marked down for a category
    that no longer exists, and both models in a comparison are averaged over the same categories.
    """
    # scikit-learn is a training requirement only; the web and the worker import this module without it.
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
