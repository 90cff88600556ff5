"""Classifying a document's text with the active model (top three, and whether a person must look), and
a person's decisions on it.

`classify_document` is called from the pipeline's classify step in the worker. It never raises for a
missing or broken model: the document then waits for review with the reason, so processing always
finishes. `review_document` and `accept_suggestions` are the review page's decisions (refused for a
document another reviewer holds: see `leases`); `skip` puts a document at the end of one reviewer's
queue; taking a decision back is in `undo`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, func, select

from app.classify import evaluation, leases, memory, queries, registry, runtime
from app.classify.models import Category, Review, ReviewLease, ReviewSkip
from app.db_types import utcnow
from app.documents.models import Document, ReviewState
from app.errors import Conflict, DomainError
from app.extensions import db
from app.ops import audit
from app.search import outbox
from app.timezones import local

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Classification:
    review_state: ReviewState
    category_id: int | None
    predictions: list[list[Any]]
    confidence: float | None
    model_version_id: int | None
    review_reason: str | None

    def as_fields(self) -> dict[str, Any]:
        """The document columns this sets."""
        return {
            "review_state": self.review_state,
            "category_id": self.category_id,
            "predictions": self.predictions or None,
            "confidence": self.confidence,
            "model_version_id": self.model_version_id,
            # The column holds 200 characters; a reason naming a long file name or path is cut, not refused.
            "review_reason": self.review_reason[:200] if self.review_reason else None,
        }


def _waits(reason: str, predictions=None, version_id=None, confidence=None) -> Classification:
    return Classification(ReviewState.NEEDS_REVIEW, None, predictions or [], confidence, version_id, reason)


def classify_text(text: str | None) -> Classification:
    """The active model's top three for `text` and what the memory of reviews says; accepted when sure enough.

    The memory (`memory`: the reviewed document most like this text) goes first when it is at least
    `memory.SUGGEST_AT` alike, so the review page's suggestion (and its `a` key) is a person's earlier decision.
    It files the document without a person when the model is sure of the same category, or when the texts are
    nearly the same (`memory.AUTO_ACCEPT_AT`) and the model is not sure of another; anything else waits for a
    person, the memory's suggestion first (docs/DECISIONS.md has the measurements behind the two figures).
    """
    if not (text or "").strip():
        return _waits("No text was found in the document.")
    active = registry.snapshot()  # cached per process: no queries on the way of each document
    return _with_memory(_model_says(text, active), _recall(text), active)


def _model_says(text: str, active: registry.Snapshot) -> Classification:
    if active.version_id is None:
        return _waits("There is no active model yet.")
    try:
        classifier = runtime.load(registry.models_dir() / active.filename)
        top = classifier.predict(text, k=3)
    except runtime.ModelUnavailable as error:
        log.warning("model unavailable", extra={"model_version": active.version_id, "error": str(error)})
        return _waits(f"The model could not be used: {error}", version_id=active.version_id)
    if not top:
        return _waits(
            "The text has nothing the model can read (no Latin letters or digits).", version_id=active.version_id
        )
    predictions = [[name, round(probability, 4)] for name, probability in top]
    name, confidence = top[0]
    category_id = active.categories.get(name)
    if category_id is None:
        return _waits(
            f"The model chose {name!r}, which is not an active category.", predictions, active.version_id, confidence
        )
    threshold = current_app.config["AUTO_ACCEPT_THRESHOLD"]
    if confidence < threshold:
        reason = f"The model is {confidence:.0%} sure; documents under {threshold:.0%} are checked by a person."
        return Classification(ReviewState.NEEDS_REVIEW, category_id, predictions, confidence, active.version_id, reason)
    return Classification(ReviewState.AUTO_ACCEPTED, category_id, predictions, confidence, active.version_id, None)


def _recall(text: str) -> memory.Match | None:
    """The memory's nearest reviewed document; a memory that cannot answer leaves the model alone."""
    try:
        return memory.nearest(text)
    except Exception:  # the memory helps; it must never stop a document from being processed
        log.exception("memory unavailable")
        return None


def _with_memory(outcome: Classification, match: memory.Match | None, active: registry.Snapshot) -> Classification:
    """The model's outcome with the memory's suggestion first, when a reviewed document is alike enough."""
    if match is None or match.similarity < memory.SUGGEST_AT:
        return outcome
    category_id = active.categories.get(match.category_key)
    if category_id is None:
        return outcome  # filed under a category retired since (the memory drops it at its next look)
    similarity = round(match.similarity, 4)
    others = [p for p in outcome.predictions if p[0] != match.category_key]
    predictions = [[match.category_key, similarity], *others][:3]
    model_first = outcome.predictions[0][0] if outcome.predictions else None
    model_sure = outcome.review_state == ReviewState.AUTO_ACCEPTED
    agrees = model_first == match.category_key
    if (agrees and model_sure) or (match.similarity >= memory.AUTO_ACCEPT_AT and (agrees or not model_sure)):
        state = ReviewState.AUTO_ACCEPTED
    else:
        state = ReviewState.NEEDS_REVIEW
    return Classification(state, category_id, predictions, similarity, outcome.model_version_id, match.reason)


def predict(text: str | None, k: int = 3) -> list[tuple[str, float]]:
    """The active model's k likeliest categories for `text`, as (name, probability), best first.

    For tests and scripts: the registry says which file is active, then the runtime reads it. Raises
    ModelUnavailable when there is no active model or it cannot be used.
    """
    path = registry.active_model_path()
    if path is None:
        raise runtime.ModelUnavailable("There is no active model yet: run `flask model train`.")
    return runtime.load(path).predict(text, k=k)


def text_checksum(text: str | None) -> str | None:
    """SHA-256 of a document's extracted text, None when there is none."""
    if not (text or "").strip():
        return None
    return evaluation.text_checksum(text)


# Built once, here: constructing this select cost more than running it (bench/classify.py --profile).
# Only the checksum is a condition: given the state and deletion conditions too, SQLite (which keeps no statistics)
# took the index of review_state and read every reviewed document, 4 ms a document once 3,000 were reviewed
# (bench/classify.py, the memory's section). Documents with the same text are few; the rest is sorted out below.
_TWIN = (
    select(
        Document.id,
        Document.filename,
        Document.review_state,
        Document.deleted_at,
        Category.id,
        Category.name,
        Category.active,
    )
    .join(Category, Category.id == Document.category_id)
    .where(Document.text_sha256 == bindparam("checksum"))
)


def classify_document(document_id: int, text: str | None, checksum: str | None = None) -> Classification:
    """`classify_text`, except that a document reading exactly like one a person filed is filed the same way."""
    outcome = classify_text(text)
    checksum = checksum or text_checksum(text)
    if checksum is None:
        return outcome
    # Core, not the ORM session: no ORM work is needed for four columns, and it halves the cost.
    twins = [
        (twin_id, name, category_id, category_name)
        for twin_id, name, state, deleted_at, category_id, category_name, active in db.session.connection().execute(
            _TWIN, {"checksum": checksum}
        )
        if twin_id != document_id and state == ReviewState.REVIEWED and deleted_at is None and active
    ]
    if not twins:
        return outcome
    twin_id, twin_name, category_id, category_name = max(twins)  # the newest
    reason = f"Same text as {twin_name} (document {twin_id}), which a person filed under {category_name}."
    filed = ReviewState.AUTO_ACCEPTED
    return Classification(filed, category_id, outcome.predictions, outcome.confidence, outcome.model_version_id, reason)


class ReviewError(DomainError):
    """A review was refused; nothing changed."""


class DocumentMissing(ReviewError):
    status_code = 404


class DocumentHeld(Conflict, ReviewError):
    """Another reviewer holds the document (409): deciding it now would race them."""


def _refuse_if_held(document: Document, user_id: int | None, now: datetime) -> None:
    """A person may not decide a document someone else holds; the system (user_id None) always may."""
    if user_id is None:
        return
    lease = queries.holder(document.id, now)
    if lease is not None and lease.user_id != user_id:
        raise DocumentHeld(
            f"{leases.holder_name(lease.user_id)} is reviewing {document.filename} until "
            f"{local(lease.expires_at, '%H:%M', zoned=True)}; "
            "nothing was changed. Take the next document."
        )


def skip(document_id: int, *, user_id: int, now: datetime | None = None) -> Document:
    """Put a waiting document at the end of this reviewer's queue and let go of it."""
    document = _reviewable(document_id)
    leases.remember_skip(document.id, user_id, waiting=document.review_state == ReviewState.NEEDS_REVIEW, now=now)
    return document


def _decide(document: Document, category: Category, user_id: int | None) -> Review:
    """File `document` under `category` as a person's decision, in the caller's transaction."""
    predicted = document.predictions[0][0] if document.predictions else None
    confidence = document.predictions[0][1] if document.predictions else None
    before = {"category_id": document.category_id, "review_state": document.review_state}
    review = Review(
        document_id=document.id,
        user_id=user_id,
        predicted=predicted,
        confidence=confidence,
        model_version_id=document.model_version_id,
        chosen_category_id=category.id,
        accepted=predicted == category.key,
        previous_category_id=document.category_id,
        previous_review_state=document.review_state,
        previous_review_reason=document.review_reason,
    )
    document.category_id = category.id
    document.review_state = ReviewState.REVIEWED
    document.review_reason = None
    db.session.add(review)
    memory.remember(document)  # the next similar document is suggested this category (note_change after commit)
    # Decided: nobody holds it any more, and nobody's skip order needs it.
    db.session.execute(delete(ReviewLease).where(ReviewLease.document_id == document.id))
    db.session.execute(delete(ReviewSkip).where(ReviewSkip.document_id == document.id))
    audit.record(
        "document.review",
        target_type="document",
        target_id=document.id,
        summary=f"Filed {document.filename} under {category.name}"
        + (f" (model said {predicted})" if predicted and predicted != category.key else ""),
        actor_id=user_id,
        before=before,
        after={"category_id": category.id, "review_state": ReviewState.REVIEWED},
    )
    outbox.note_change(document.id)  # its category is searchable
    return review


def _reviewable(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    if document is None:
        raise DocumentMissing(f"There is no document number {document_id}.")
    if document.deleted_at is not None:
        raise DocumentMissing(f"{document.filename} was deleted.")
    if document.state != "processed":
        raise ReviewError(f"{document.filename} is {document.state}; it can be reviewed once it is processed.")
    return document


def review_document(document_id: int, category_id: int, *, user_id: int | None) -> Review:
    """File a document under a category by a person's decision, recording what the model had said."""
    document = _reviewable(document_id)
    category = db.session.get(Category, category_id)
    if category is None or not category.active:
        raise ReviewError("Choose an active category.")
    _refuse_if_held(document, user_id, utcnow())
    review = _decide(document, category, user_id)
    db.session.commit()
    memory.note_change()
    outbox.request_drain()
    return review


@dataclass(frozen=True)
class BulkOutcome:
    accepted: list[str]  # file names filed under the model's first choice
    passed_over: list[str]  # sentences: which ones were left alone and why


def accept_suggestions(document_ids: list[int], *, user_id: int | None) -> BulkOutcome:
    """Accept the model's first choice for each document still waiting; all in one transaction.

    A document that no longer waits (someone decided meanwhile), has no suggestion, or whose
    suggestion is a retired category is left alone and named in `passed_over`.
    """
    if not document_ids:
        raise ReviewError("Select at least one document to accept.")
    documents = db.session.scalars(select(Document).where(Document.id.in_(set(document_ids))).order_by(Document.id))
    active = {c.key: c for c in db.session.scalars(select(Category).where(Category.active.is_(True)))}
    held = leases.held_by_others(document_ids, user_id)
    accepted: list[str] = []
    passed_over: list[str] = []
    for document in documents:
        if not document.is_live or document.review_state != ReviewState.NEEDS_REVIEW:
            passed_over.append(f"{document.filename} no longer waits for review.")
        elif document.id in held:
            passed_over.append(f"{held[document.id]} is reviewing {document.filename}.")
        elif not document.predictions:
            passed_over.append(f"{document.filename} has no suggestion to accept.")
        elif document.predictions[0][0] not in active:
            passed_over.append(f"{document.filename}: {document.predictions[0][0]} is not an active category.")
        else:
            _decide(document, active[document.predictions[0][0]], user_id)
            accepted.append(document.filename)
    db.session.commit()
    if accepted:
        memory.note_change()
        outbox.request_drain()
    return BulkOutcome(accepted, passed_over)


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk accept would do, for the confirmation step: per category, how many documents."""

    document_ids: list[int]
    per_category: list[tuple[str, int]]

    @property
    def count(self) -> int:
        return len(self.document_ids)


def plan_accept(document_ids: list[int], *, user_id: int | None) -> BulkPlan:
    """The documents a bulk accept of `document_ids` would file, by category; nothing is written."""
    if not document_ids:
        raise ReviewError("Select at least one document to accept.")
    active = dict(db.session.execute(select(Category.key, Category.name).where(Category.active.is_(True))).all())
    held = leases.held_by_others(document_ids, user_id)
    ids: list[int] = []
    counts: dict[str, int] = {}
    for document in db.session.scalars(
        select(Document).where(Document.id.in_(set(document_ids))).order_by(Document.id)
    ):
        if not document.is_live or document.review_state != ReviewState.NEEDS_REVIEW or document.id in held:
            continue
        if not document.predictions or document.predictions[0][0] not in active:
            continue
        ids.append(document.id)
        name = active[document.predictions[0][0]]
        counts[name] = counts.get(name, 0) + 1
    if not ids:
        raise ReviewError("None of the selected documents has a suggestion that can be accepted now.")
    return BulkPlan(ids, sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def filed_counts() -> list[tuple[Category, int]]:
    """Every category with how many documents are filed under it now (accepted or reviewed), counted each time."""
    counts = dict(
        db.session.execute(
            select(Document.category_id, func.count(Document.id))
            .where(
                Document.review_state.in_((ReviewState.AUTO_ACCEPTED, ReviewState.REVIEWED)),
                Document.category_id.is_not(None),
                Document.deleted_at.is_(None),
            )
            .group_by(Document.category_id)
        ).all()
    )
    categories = db.session.scalars(select(Category).order_by(Category.active.desc(), Category.name))
    return [(c, counts.get(c.id, 0)) for c in categories if c.active or counts.get(c.id)]


def waiting_count() -> int:
    """How many documents wait for a person, whatever the review page's filters."""
    return queries.size(queries.QueueFilter())
