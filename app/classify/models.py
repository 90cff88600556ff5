"""Categories a document can be filed under, and the registry of trained model versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


def _key_from_name(context) -> str:
    """A new category's key is its name, unless the caller chose another (see categories.create_category)."""
    return context.get_current_parameters()["name"]


class Category(db.Model):
    __tablename__ = "categories"
    audit_kind = "category"  # what the audit log calls a row of this table
    __table_args__ = (CheckConstraint("length(colour) = 7", name="colour_hex"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What people see and an admin may rename.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # What the models answer with, in their ONNX graphs and in documents' predictions: the name the category was
    # created with, never changed, so a rename does not orphan a trained model or the suggestions it made.
    key: Mapped[str] = mapped_column(String(64), unique=True, default=_key_from_name)
    description: Mapped[str | None] = mapped_column(String(500))
    colour: Mapped[str] = mapped_column(String(7), default="#6b7280")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersion(db.Model):
    """One trained classifier: its file, its figures, and whether the worker uses it."""

    __tablename__ = "model_versions"
    audit_kind = "model_version"  # what the audit log calls a row of this table
    __table_args__ = (
        # At most one active version, enforced by the database (two admins promoting at once).
        Index(
            "uq_model_versions_one_active",
            "active",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200), unique=True)  # under DATA_DIR/models
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    training_size: Mapped[int]
    reviewed_size: Mapped[int] = mapped_column(default=0)  # how many of them were people's reviews
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)  # accuracy, macro_f1, per class, confusion
    active: Mapped[bool] = mapped_column(default=False)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promoted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    # The newest review in its training data: a periodic retrain is skipped until there is a newer one.
    last_review_id: Mapped[int | None]


class Review(db.Model):
    """A person's decision on a document's category: what the model said and what was chosen (training data)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    predicted: Mapped[str | None] = mapped_column(String(64))  # the model's first choice, by name
    confidence: Mapped[float | None]
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    chosen_category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    accepted: Mapped[bool]  # the person kept the model's first choice
    # What the document was before this review, so undo can put it back exactly.
    previous_category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    previous_review_state: Mapped[str | None] = mapped_column(String(16))
    previous_review_reason: Mapped[str | None] = mapped_column(String(200))

    user = relationship("User", lazy="joined")
    chosen_category = relationship("Category", lazy="joined", foreign_keys=[chosen_category_id])


class ReviewLease(db.Model):
    """A queue item held by one reviewer for a few minutes, so two people do not decide the same document at once."""

    __tablename__ = "review_leases"

    # No foreign key to documents: read only joined to a live document, so a purged document's lease is inert.
    document_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewSkip(db.Model):
    """A document one reviewer skipped: it goes to the end of that reviewer's queue, in the order skipped."""

    __tablename__ = "review_skips"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # no foreign key: as above
    skipped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrainingRun(db.Model):
    """One request to train a model (button, schedule or CLI) and how far it has got: the progress bar's source."""

    __tablename__ = "training_runs"
    audit_kind = "training_run"  # what the audit log calls a row of this table
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'finished', 'failed')", name="state_known"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # manual, schedule, cli
    progress: Mapped[int] = mapped_column(default=0)  # percent
    stage: Mapped[str | None] = mapped_column(String(200))  # what it is doing now, for a person
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    promoted: Mapped[bool | None]
    error: Mapped[str | None] = mapped_column(String(500))
