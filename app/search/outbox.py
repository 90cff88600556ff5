"""Writing to the search outbox: call `note_change` inside the transaction that changes a document.

The row commits or rolls back with the change itself, so the index can never miss a change
that happened nor learn of one that did not. After the commit, `request_drain` asks the
worker to apply the rows soon; if the queue is unreachable, the periodic drain picks them up.
"""

from __future__ import annotations

from sqlalchemy import insert, literal, select

from app.db_types import UTCDateTime, utcnow
from app.documents.models import Document
from app.extensions import db
from app.queue import enqueue_after_commit
from app.search.indexer import drain_outbox
from app.search.models import SearchOutbox


def note_change(document_id: int, *, deleted: bool = False) -> None:
    """Record in the current transaction that a document's index entry must be refreshed (or removed)."""
    db.session.add(SearchOutbox(document_id=document_id, action="delete" if deleted else "upsert"))


def request_drain() -> None:
    """Ask a worker to apply the outbox now; never fails the caller.

    Callers have committed their change (and its outbox rows) already, so the commit that
    `enqueue_after_commit` makes first finds nothing left to write.
    """
    enqueue_after_commit(drain_outbox, fallback="the periodic drain applies the outbox within a minute")


def note_category(category_id: int) -> None:
    """Record in the current transaction that every live document filed under a category must be re-indexed."""
    documents = select(Document.id, literal("upsert"), literal(utcnow(), UTCDateTime())).where(
        Document.category_id == category_id, Document.deleted_at.is_(None)
    )
    db.session.execute(insert(SearchOutbox).from_select(["document_id", "action", "queued_at"], documents))
