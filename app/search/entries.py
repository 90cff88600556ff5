"""What one document's index entry holds, whichever backend keeps it, and what a comparison of the two sides found.

Whoosh (app.search.indexer) and PostgreSQL (app.search.pg_index) index the same fields and store the same
checksum, so `flask search verify`, the periodic checks and the System page read both alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.models import Document
from app.search.schema import EXACT_FIELDS, SCHEMA_VERSION, normalize_category


def document_fields(document: Document) -> dict[str, Any]:
    """The index entry for a document (the fields of `app.search.schema`), with a checksum of them all."""
    uploaded = document.uploaded_at.astimezone(UTC).replace(tzinfo=None)  # Whoosh stores naive datetimes
    fields: dict[str, Any] = {
        "id": str(document.id),
        "filename": document.filename,
        "title": document.display_title,
        "content": document.text or "",
        "state": document.state,
        "kind": document.kind,
        "uploaded": uploaded,
    }
    for searched, exact in EXACT_FIELDS.items():
        fields[exact] = fields[searched]
    if document.document_date is not None:
        day = document.document_date
        fields["date"] = datetime(day.year, day.month, day.day)  # midnight, naive, as Whoosh stores times
    if document.category is not None:
        fields["category"] = normalize_category(document.category.name)
    if document.review_state:
        fields["review"] = document.review_state
    if document.tags:
        fields["tag"] = ",".join(document.tag_names)
    if document.correspondent is not None:
        fields["correspondent"] = normalize_category(document.correspondent.name)
    if document.uploaded_by is not None:
        fields["uploader_id"] = str(document.uploaded_by)
        if document.uploader is not None:
            fields["uploader"] = document.uploader.email.lower()
    fields["checksum"] = _checksum(fields)
    return fields


def _checksum(fields: dict[str, Any]) -> str:
    """SHA-256 over everything indexed (the text by its own hash): verify() compares it with the database."""
    # The exact fields are copies of the others, and the text is summed up by its hash.
    summary = {
        name: value for name, value in fields.items() if name not in {"content", "checksum", *EXACT_FIELDS.values()}
    }
    summary["uploaded"] = fields["uploaded"].isoformat()
    if "date" in fields:
        summary["date"] = fields["date"].date().isoformat()
    summary["content"] = hashlib.sha256(fields["content"].encode("utf-8", "surrogatepass")).hexdigest()
    summary["schema"] = SCHEMA_VERSION
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Drift:
    """Differences between the index and the database (documents with queued outbox rows are left out)."""

    missing: list[int] = field(default_factory=list)  # should be searchable, is not in the index
    extra: list[int] = field(default_factory=list)  # in the index, but deleted, unprocessed or gone
    stale: list[int] = field(default_factory=list)  # in both, but the index holds an older version
    pending: int = 0  # documents with outbox rows not applied yet (not counted as drift)
    indexed: int = 0  # entries in the index
    problem: str | None = None  # no index, or one written with another schema

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale or self.problem)

    @classmethod
    def compare(
        cls, expected: dict[int, str], indexed: dict[int, str | None], pending: set[int], problem: str | None = None
    ) -> Drift:
        """The drift between the checksums the database expects and those the index holds (either backend)."""
        return cls(
            missing=sorted(set(expected) - set(indexed) - pending),
            extra=sorted(set(indexed) - set(expected) - pending),
            stale=sorted(
                document_id
                for document_id, checksum in expected.items()
                if document_id in indexed and indexed[document_id] != checksum and document_id not in pending
            ),
            pending=len(pending),
            indexed=len(indexed),
            problem=problem,
        )


def live_batches(session: Session, size: int = 500) -> Iterator[list[Document]]:
    """Every searchable document in id order, `size` at a time; the session is emptied between batches."""
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(Document).where(Document.is_live, Document.id > last_id).order_by(Document.id).limit(size)
            )
        )
        if not batch:
            return
        yield batch
        last_id = batch[-1].id
        session.expunge_all()
        session.rollback()
