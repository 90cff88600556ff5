"""Trained model versions: make one, compare it with the active one, promote it only if it is not worse.

Every candidate is evaluated on the same held-out set as the active version
(a generated set with a fixed seed, so the figures stay comparable between
versions), and promoted when its macro-F1 is at least the active one's. The
promotion is one transaction and the database allows one active version.
Training imports scikit-learn lazily: the web and the worker only need this
module to read the registry, never to train.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from app.classify.models import Category, ModelVersion
from app.db_types import utcnow
from app.extensions import db
from app.ops import audit

HELD_OUT_SEED = 424242  # fixed: every version is measured on the same texts
HELD_OUT_PER_CATEGORY = 40


def models_dir() -> Path:
    folder = Path(current_app.config["DATA_DIR"]) / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def active_version() -> ModelVersion | None:
    return db.session.scalar(select(ModelVersion).where(ModelVersion.active.is_(True)))


def versions() -> list[ModelVersion]:
    return list(db.session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def active_model_path() -> Path | None:
    version = active_version()
    return models_dir() / version.filename if version else None


@dataclass(frozen=True)
class TrainingOutcome:
    candidate: ModelVersion
    previous: ModelVersion | None
    promoted: bool


def _labelled(items, allowed: set[str]) -> tuple[list[str], list[str]]:
    kept = [item for item in items if item.category in allowed]
    return [item.text for item in kept], [item.category for item in kept]


def train_candidate(
    *, per_category: int = 150, seed: int = 1, user_id: int | None = None, force: bool = False
) -> TrainingOutcome:
    """Train on the generated corpus, save the ONNX file, register it, and promote it if it is not worse."""
    from app.classify import corpus, training  # training-time dependencies, loaded only here

    active_names = set(db.session.scalars(select(Category.name).where(Category.active.is_(True))))
    allowed = active_names or set(corpus.CATEGORIES)
    texts, labels = _labelled(corpus.generate(per_category, seed), allowed)
    held_texts, held_labels = _labelled(corpus.generate(HELD_OUT_PER_CATEGORY, HELD_OUT_SEED), allowed)
    model = training.train(texts, labels, seed=seed)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(model.onnx_model).hexdigest()
    filename = f"model-{stamp}-{digest[:10]}.onnx"
    exported = training.export(model, models_dir() / filename, held_texts)
    evaluation = training.evaluate(model, held_texts, held_labels).to_dict()
    evaluation["agreement"] = exported.agreement
    candidate = ModelVersion(
        filename=filename,
        sha256=exported.sha256,
        training_size=model.training_size,
        reviewed_size=0,
        metrics=evaluation,
    )
    db.session.add(candidate)
    db.session.flush()
    previous = active_version()
    better = previous is None or evaluation["macro_f1"] >= previous.metrics.get("macro_f1", 0.0)
    audit.record(
        "model.train",
        target_type="model_version",
        target_id=candidate.id,
        summary=f"Trained model {candidate.id}: macro-F1 {evaluation['macro_f1']:.3f} on {len(held_texts)} held-out",
        actor_id=user_id,
    )
    db.session.commit()
    if better or force:
        promote(candidate.id, user_id=user_id)
    return TrainingOutcome(candidate=candidate, previous=previous, promoted=better or force)


def promote(version_id: int, *, user_id: int | None) -> ModelVersion:
    """Make `version_id` the model the worker uses (also how an admin rolls back)."""
    version = db.session.get(ModelVersion, version_id)
    if version is None:
        raise LookupError(f"There is no model version {version_id}.")
    db.session.execute(update(ModelVersion).where(ModelVersion.active.is_(True)).values(active=False))
    db.session.flush()  # the partial unique index allows one active row at any moment
    version.active = True
    version.promoted_at = utcnow()
    version.promoted_by = user_id
    audit.record(
        "model.promote",
        target_type="model_version",
        target_id=version_id,
        summary=f"Promoted model {version_id}",
        actor_id=user_id,
    )
    db.session.commit()
    return version
