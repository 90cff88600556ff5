"""What the review page lists: which documents wait for a person, in which order, and how to step through them.

The queue is every live document (processed, not in the trash) in `needs_review`, the least sure first: documents
without any prediction (no text, no model) come before the lowest confidence, and ties go
by id, so the order is total and stable while people work through it. Moving to the next
or previous item is a keyset step from the current item's place in that order, which keeps
working when the current item has just left the queue (it was decided).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from app.documents.models import Document, ReviewState
from app.extensions import db
from app.querying import within_dates

# No prediction sorts before any probability.
_RANK = func.coalesce(Document.confidence, -1.0)


@dataclass(frozen=True)
class QueueFilter:
    category_id: int | None = None  # the model's (active) first choice
    uploader_id: int | None = None
    since: date | None = None
    until: date | None = None

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments (links and forms carry them from item to item)."""
        values = {
            "category": self.category_id,
            "uploader": self.uploader_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


def waiting(filters: QueueFilter) -> Select[tuple[Document]]:
    """The queue under `filters`, in review order."""
    query = select(Document).where(Document.is_live, Document.review_state == ReviewState.NEEDS_REVIEW)
    if filters.category_id:
        query = query.where(Document.category_id == filters.category_id)
    if filters.uploader_id:
        query = query.where(Document.uploaded_by == filters.uploader_id)
    query = query.where(within_dates(Document.uploaded_at, filters.since, filters.until))
    return query.order_by(_RANK.asc(), Document.id.asc())


def _after(rank: float, document_id: int) -> ColumnElement[bool]:
    return or_(rank < _RANK, and_(rank == _RANK, Document.id > document_id))


def _before(rank: float, document_id: int) -> ColumnElement[bool]:
    return or_(rank > _RANK, and_(rank == _RANK, Document.id < document_id))


def _rank(document: Document) -> float:
    return -1.0 if document.confidence is None else document.confidence


def first(filters: QueueFilter) -> Document | None:
    return db.session.scalar(waiting(filters).limit(1))


def following(filters: QueueFilter, document: Document) -> Document | None:
    """The item after `document` in the queue, wrapping round to the first (None when the queue is empty)."""
    found = db.session.scalar(waiting(filters).where(_after(_rank(document), document.id)).limit(1))
    return found or first(filters)


def preceding(filters: QueueFilter, document: Document) -> Document | None:
    """The item before `document`, wrapping round to the last."""
    query = waiting(filters).order_by(None).order_by(_RANK.desc(), Document.id.desc())
    found = db.session.scalar(query.where(_before(_rank(document), document.id)).limit(1))
    return found or db.session.scalar(query.limit(1))


def position(filters: QueueFilter, document: Document) -> int:
    """1-based place of a waiting `document` in the queue."""
    return _count(waiting(filters).where(_before(_rank(document), document.id))) + 1


def _count(query: Select[tuple[Document]]) -> int:
    """How many rows `query` lists, counted on the table itself (a subquery would select every column, text too)."""
    return db.session.scalar(query.with_only_columns(func.count(Document.id)).order_by(None)) or 0


def size(filters: QueueFilter) -> int:
    return _count(waiting(filters))


def is_waiting(filters: QueueFilter, document: Document) -> bool:
    return _count(waiting(filters).where(Document.id == document.id)) == 1
