"""Classifying a document's text with the active model: top three, and whether a person must look.

Called from the pipeline's classify step in the worker. Never raises for a
missing or broken model: the document then waits for review with the reason,
so processing always finishes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.classify import registry, runtime
from app.classify.models import Category, Review
from app.errors import DomainError
from app.extensions import db
from app.ops import audit

log = logging.getLogger(__name__)

NEEDS_REVIEW = "needs_review"
AUTO_ACCEPTED = "auto_accepted"
REVIEWED = "reviewed"


@dataclass(frozen=True)
class Classification:
    review_state: str
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
            "review_reason": self.review_reason,
        }


def _waits(reason: str, predictions=None, version_id=None, confidence=None) -> Classification:
    return Classification(NEEDS_REVIEW, None, predictions or [], confidence, version_id, reason)


def classify_text(text: str | None) -> Classification:
    """The active model's top three for `text`, accepted when confident and the category is active."""
    if not (text or "").strip():
        return _waits("No text was found in the document.")
    version = registry.active_version()
    if version is None:
        return _waits("There is no active model yet.")
    try:
        classifier = runtime.load(registry.models_dir() / version.filename)
        top = classifier.predict(text, k=3)
    except runtime.ModelUnavailable as error:
        log.warning("model unavailable", extra={"model_version": version.id, "error": str(error)})
        return _waits(f"The model could not be used: {error}", version_id=version.id)
    if not top:
        return _waits("The text has nothing the model can read (no Latin letters or digits).", version_id=version.id)
    predictions = [[name, round(probability, 4)] for name, probability in top]
    name, confidence = top[0]
    category = db.session.scalar(select(Category).where(Category.name == name, Category.active.is_(True)))
    if category is None:
        return _waits(
            f"The model chose {name!r}, which is not an active category.", predictions, version.id, confidence
        )
    threshold = current_app.config["AUTO_ACCEPT_THRESHOLD"]
    if confidence < threshold:
        reason = f"The model is {confidence:.0%} sure; documents under {threshold:.0%} are checked by a person."
        return Classification(NEEDS_REVIEW, category.id, predictions, confidence, version.id, reason)
    return Classification(AUTO_ACCEPTED, category.id, predictions, confidence, version.id, None)


class ReviewError(DomainError):
    """A review was refused; nothing changed."""


def review_document(document_id: int, category_id: int, *, user_id: int | None) -> Review:
    """File a document under a category by a person's decision, recording what the model had said."""
    from app.documents.models import Document

    document = db.session.get(Document, document_id)
    if document is None:
        raise ReviewError(f"There is no document number {document_id}.")
    if document.state != "processed":
        raise ReviewError(f"{document.filename} is {document.state}; it can be reviewed once it is processed.")
    category = db.session.get(Category, category_id)
    if category is None or not category.active:
        raise ReviewError("Choose an active category.")
    predicted = document.predictions[0][0] if document.predictions else None
    confidence = document.predictions[0][1] if document.predictions else None
    before = {"category_id": document.category_id, "review_state": document.review_state}
    document.category_id = category.id
    document.review_state = REVIEWED
    document.review_reason = None
    review = Review(
        document_id=document.id,
        user_id=user_id,
        predicted=predicted,
        confidence=confidence,
        model_version_id=document.model_version_id,
        chosen_category_id=category.id,
        accepted=predicted == category.name,
    )
    db.session.add(review)
    audit.record(
        "document.review",
        target_type="document",
        target_id=document.id,
        summary=f"Filed {document.filename} under {category.name}"
        + (f" (model said {predicted})" if predicted and predicted != category.name else ""),
        actor_id=user_id,
        before=before,
        after={"category_id": category.id, "review_state": REVIEWED},
    )
    db.session.commit()
    return review
