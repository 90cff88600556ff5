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
from app.classify.models import Category
from app.extensions import db

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
