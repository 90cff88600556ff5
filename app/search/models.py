"""The search outbox: index changes waiting to be applied, written with the change that causes them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class SearchOutbox(db.Model):
    """One pending index change. Rows are deleted only after the index commit that applied them."""

    __tablename__ = "search_outbox"
    __table_args__ = (CheckConstraint("action IN ('upsert', 'delete')", name="action_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: a purged document's delete must outlive its row.
    document_id: Mapped[int] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(8))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchCheck(db.Model):
    """One check of the index against the database (app.search.repair): what it looked at, found and repaired.

    The periodic-run record (app.ops PeriodicRun) keeps only the last run of a task and no figures, and a
    check run from the command line is no periodic run; so checks have their own small table, pruned
    to the newest few weeks.
    """

    __tablename__ = "search_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    took_ms: Mapped[int] = mapped_column(default=0)
    scope: Mapped[str] = mapped_column(String(8))  # sample, full
    population: Mapped[int] = mapped_column(default=0)  # documents the sample was drawn from
    checked: Mapped[int] = mapped_column(default=0)
    missing: Mapped[int] = mapped_column(default=0)
    extra: Mapped[int] = mapped_column(default=0)
    stale: Mapped[int] = mapped_column(default=0)
    repaired: Mapped[int] = mapped_column(default=0)  # drifted entries right again when the check ended
    queued: Mapped[int] = mapped_column(default=0)  # repairs waiting in the outbox (the writer was busy)
    unrepaired: Mapped[int] = mapped_column(default=0)  # still wrong, and nothing queued will fix them
    problem: Mapped[str | None] = mapped_column(String(500))  # no index, an outdated one, a failed drain
    drifted: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)  # the first ids of each kind


# A tsvector on PostgreSQL; plain text elsewhere, where the table exists (so the schema is one) but stays empty.
_VECTOR = Text().with_variant(TSVECTOR(), "postgresql")


class SearchDocument(db.Model):
    """One document as PostgreSQL full-text search holds it (QM_SEARCH_BACKEND=postgres; app.search.pg).

    Written only by the outbox drain, like the Whoosh index: the words as two tsvectors (stemmed to find,
    exact forms to rank), and the values that filters and facets read, as they were when it was indexed.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        # fastupdate off: a drain writes the index at once, so a search never scans GIN's pending list
        # (after a bulk load that list made a rare word take 400 ms instead of under 1).
        Index("ix_search_documents_stemmed", "stemmed", postgresql_using="gin", postgresql_with={"fastupdate": "off"}),
        Index("ix_search_documents_uploaded_at", "uploaded_at"),
    )

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    checksum: Mapped[str] = mapped_column(String(64))  # the same checksum a Whoosh entry stores (verify)
    stemmed: Mapped[str] = mapped_column(_VECTOR)  # file name and title weight A, text weight D, stemmed
    exact: Mapped[str] = mapped_column(_VECTOR)  # the same words unstemmed: an exact form ranks higher
    category: Mapped[str | None] = mapped_column(String(200))  # normalize_category(name)
    state: Mapped[str] = mapped_column(String(32))
    review: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str | None] = mapped_column(String(32))
    uploader_id: Mapped[int | None]
    uploader: Mapped[str | None] = mapped_column(String(320))  # email, lower case
    tags: Mapped[str | None] = mapped_column(Text)  # ",tag one,tag two," (lower case; the commas make a test exact)
    correspondent: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    document_date: Mapped[date | None] = mapped_column(Date)


class SearchWord(db.Model):
    """Every word the indexed documents hold (exact forms, lower case, accents folded): "did you mean" reads it.

    Grown by the drain and rebuilt by a reindex; a word whose last document went stays until then (it
    may be suggested and find nothing, as a word of a deleted document would in Whoosh until a merge).
    """

    __tablename__ = "search_words"
    __table_args__ = (
        Index("ix_search_words_trigrams", "word", postgresql_using="gin", postgresql_ops={"word": "gin_trgm_ops"}),
    )

    word: Mapped[str] = mapped_column(String(64), primary_key=True)
