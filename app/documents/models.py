"""Documents and their history.

A document is one stored file (by SHA-256: the same bytes are one document),
its processing state, the text read from it, and how long each stage took.
`DocumentEvent` rows are its history: uploads, state changes, retries.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class DocumentState(StrEnum):
    QUEUED = "queued"  # stored, waiting for a worker
    PROCESSING = "processing"  # a worker claimed it
    PROCESSED = "processed"  # text read; later stages done
    FAILED = "failed"  # see failure_reason


ACTIVE_STATES = (DocumentState.QUEUED, DocumentState.PROCESSING)


class ReviewState(StrEnum):
    """Where a processed document stands with the classifier (`Document.review_state`; None before)."""

    NEEDS_REVIEW = "needs_review"  # waits for a person
    AUTO_ACCEPTED = "auto_accepted"  # the model was sure enough
    REVIEWED = "reviewed"  # a person decided


class Document(db.Model):
    __tablename__ = "documents"
    audit_kind = "document"  # what the audit log calls a row of this table
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'processing', 'processed', 'failed')", name="state_known"),
        Index("ix_documents_state_changed", "state", "state_changed_at"),
        # SQLite would otherwise hand a purged document's id to the next upload; audit rows,
        # links and the search outbox name documents by id. (PostgreSQL never reuses ids.)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), index=True)  # pdf, image, text, docx
    state: Mapped[str] = mapped_column(String(16), default=DocumentState.QUEUED.value, index=True)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The consumer that claimed it last, by its heartbeat name (host:pid:queue; NULL outside a consumer):
    # the sweeper leaves a processing document alone while this consumer still beats.
    claimed_by: Mapped[str | None] = mapped_column(String(300))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pages: Mapped[int | None]
    pages_processed: Mapped[int | None]
    ocr_pages: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the extracted text: a document reading exactly like a reviewed one is filed like it.
    text_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    notes: Mapped[list[str] | None] = mapped_column(JSON)
    # Milliseconds per stage of the latest run: {"store": 12, "extract": 840, ...}
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    has_thumbnail: Mapped[bool] = mapped_column(default=False)
    # Classification (kept apart from the processing state): what the model said and what happens next.
    review_state: Mapped[str | None] = mapped_column(String(16), index=True)  # needs_review, auto_accepted, reviewed
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    predictions: Mapped[list[Any] | None] = mapped_column(JSON)  # [[category, probability], …] best first
    confidence: Mapped[float | None]
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    review_reason: Mapped[str | None] = mapped_column(String(200))  # why it waits for a person
    # Deleted documents leave every list and search at once; the row stays for the history and the audit log.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when a purge begins: from then on the document cannot be restored, and a purge
    # interrupted halfway is finished by the next run.
    purge_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a person files by (all optional). An empty title means "the file name without its extension".
    title: Mapped[str | None] = mapped_column(String(255))
    document_date: Mapped[date | None] = mapped_column(Date, index=True)
    correspondent_id: Mapped[int | None] = mapped_column(ForeignKey("correspondents.id"), index=True)
    # Set when the date or correspondent was read from the text and no person has confirmed it yet.
    date_suggested: Mapped[bool] = mapped_column(default=False, server_default=false())
    correspondent_suggested: Mapped[bool] = mapped_column(default=False, server_default=false())

    uploader = relationship("User", lazy="joined", foreign_keys=[uploaded_by])
    deleter = relationship("User", lazy="select", foreign_keys=[deleted_by])
    category = relationship("Category", lazy="joined")
    correspondent: Mapped[Correspondent | None] = relationship(lazy="joined")
    tags: Mapped[list[DocumentTag]] = relationship(
        primaryjoin="Document.id == foreign(DocumentTag.document_id)",
        order_by="DocumentTag.tag",
        lazy="selectin",
        viewonly=True,
    )
    events: Mapped[list[DocumentEvent]] = relationship(
        back_populates="document", order_by="DocumentEvent.id", lazy="select", cascade="all, delete-orphan"
    )

    @hybrid_property
    def is_live(self) -> bool:
        """Processed and not in the trash: what search, the review queue and the counts see."""
        return self.state == DocumentState.PROCESSED.value and self.deleted_at is None

    @is_live.inplace.expression
    @classmethod
    def _is_live_expression(cls) -> ColumnElement[bool]:
        return and_(cls.state == DocumentState.PROCESSED.value, cls.deleted_at.is_(None))

    @property
    def display_title(self) -> str:
        """The document's name for people: its title, else the file name without its extension."""
        return self.title or default_title(self.filename)

    @property
    def tag_names(self) -> list[str]:
        return [tag.tag for tag in self.tags]

    @property
    def is_finished(self) -> bool:
        return self.state in (DocumentState.PROCESSED.value, DocumentState.FAILED.value)


class DocumentEvent(db.Model):
    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    document: Mapped[Document] = relationship(back_populates="events")
    user = relationship("User", lazy="joined")

    @classmethod
    def add(cls, document_id: int, event: str, detail: str | None = None, user_id: int | None = None) -> None:
        """Add a line to a document's history in the current transaction."""
        db.session.add(cls(document_id=document_id, event=event, detail=(detail or "")[:500] or None, user_id=user_id))


def default_title(filename: str) -> str:
    """A file name without its extension ("Invoice 12.pdf" -> "Invoice 12"); a name that is only an extension stays."""
    stem, dot, _ = filename.rpartition(".")
    return stem if dot and stem.strip() else filename


class Correspondent(db.Model):
    """A supplier or customer a document comes from or goes to; names are unique, ignoring case."""

    __tablename__ = "correspondents"
    audit_kind = "correspondent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name lower-cased: "Valley Mills" and "valley mills" are one correspondent.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentTag(db.Model):
    """A free tag on a document: lower-cased, trimmed, once per document.

    No foreign key to documents (nor from notes): like the review leases, these rows are only read beside their
    document, and the purge (`trash._delete_row`) deletes them with it.
    """

    __tablename__ = "document_tags"
    __table_args__ = (UniqueConstraint("document_id", "tag", name="uq_document_tags_document_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(index=True)
    tag: Mapped[str] = mapped_column(String(50), index=True)


class DocumentNote(db.Model):
    """A note on a document: who wrote what, when. Notes are only ever added, never edited."""

    __tablename__ = "document_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    user = relationship("User", lazy="joined")
