"""Trained model versions: where their files live, which one is active, and making another one active.

The worker classifies every document with the active version, so what it needs (the active file and the
active categories) is read through `snapshot`, a per-process cache that a stamp file in the models folder
invalidates: promotions and category changes call `note_change`, and every process sharing DATA_DIR
re-reads before its next document.

Promotion is one transaction under a lock (PostgreSQL advisory lock, SQLite's write lock), and the
database allows one active version (a partial unique index), so two admins promoting at once end with
exactly one active version: whoever came second. When a version is promoted, and why a trained one may
not be, is the policy in `app.classify.retraining`; this module only carries it out.

`recalibrate` fits a version's temperature again on today's held-out set (a version trained before
calibration existed, or before people had reviewed enough), rewriting the file beside its model.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.classify import calibration, corpus, evaluation, runtime
from app.classify.models import Category, ModelVersion
from app.database import lock_transaction
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db
from app.ops import audit

log = logging.getLogger(__name__)

PROMOTION_LOCK = 7_246_001  # PostgreSQL advisory lock key: one promotion at a time
PROMOTE_ATTEMPTS = 3


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
    categories: dict[str, int]  # active category key (what the models answer) -> id


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
    keys = dict(db.session.execute(select(Category.key, Category.id).where(Category.active.is_(True))).all())
    fresh = Snapshot(version.id if version else None, version.filename if version else None, keys)
    with _snapshot_lock:
        _snapshots[key] = (identity, now, fresh)
    return fresh


# ---------------------------------------------------------------- the versions


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


def register(version: ModelVersion, *, user_id: int | None) -> ModelVersion:
    """Add a newly trained (inactive) version with its figures, audited, and commit it."""
    metrics = version.metrics
    db.session.add(version)
    db.session.flush()
    audit.record(
        "model.train",
        target_type="model_version",
        target_id=version.id,
        summary=(
            f"Trained model {version.id} on {version.training_size} texts ({version.reviewed_size} reviewed): "
            f"macro-F1 {metrics['macro_f1']:.3f} on {metrics['size']} held-out"
        ),
        actor_id=user_id,
        after={"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"], "baseline": metrics.get("baseline")},
    )
    db.session.commit()
    return version


# ---------------------------------------------------------------- promotion


_ANY: Any = object()


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
            lock_transaction(PROMOTION_LOCK)
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


# ---------------------------------------------------------------- calibration after the fact


def recalibrate(version_id: int, *, user_id: int | None) -> dict[str, Any]:
    """Fit `version_id`'s temperature on today's held-out texts, as training does, and write it beside its file.

    The worker picks the new calibration up with the next document (the runtime counts the file as part of the
    model's version). Returns the figures stored in the version's metrics.
    """
    version = get_version(version_id)
    path = models_dir() / version.filename
    try:
        classifier = runtime.OnnxClassifier(path)
    except runtime.ModelUnavailable as error:
        raise ModelError(f"Model {version_id} cannot be used, so it cannot be calibrated. {error}") from None
    active_keys = set(db.session.scalars(select(Category.key).where(Category.active.is_(True))))
    held_out = evaluation.evaluation_set(active_keys or set(corpus.CATEGORIES), evaluation.reviewed_texts())
    fitted = evaluation.calibrate(classifier, held_out)
    calibration.write_sidecar(
        path,
        {key: fitted[key] for key in ("temperature", "fitted_on", "size", "ece_before", "ece_after")}
        | {"model": version.filename},
    )
    before = (version.metrics or {}).get("calibration") or {}
    version.metrics = dict(version.metrics or {}) | {"calibration": fitted}
    audit.record(
        "model.calibrate",
        target_type="model_version",
        target_id=version.id,
        summary=(
            f"Calibrated model {version.id} on {fitted['size']} held-out texts ({fitted['fitted_on']}): "
            f"temperature {fitted['temperature']:.2f}, expected calibration error {fitted['ece_after']:.3f}"
        ),
        actor_id=user_id,
        before={"temperature": before.get("temperature")},
        after={"temperature": fitted["temperature"]},
    )
    db.session.commit()
    return fitted
