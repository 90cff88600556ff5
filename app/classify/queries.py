"""What the review page lists: which documents wait for a person, in which order, and how to step through them.

The queue is every live document (processed, not in the trash) in `needs_review`, the least sure first: documents
without any prediction (no text, no model) come before the lowest confidence, and ties go
by id, so the order is total and stable while people work through it. Moving to the next
or previous item is a keyset step from the current item's place in that order, which keeps
working when the current item has just left the queue (it was decided).

Seen by a reviewer (`reviewer_id`), the queue is that person's own: documents another reviewer holds (an
unexpired lease) are left out, so two people never work on the same one, and the documents this reviewer
skipped come last, in the order they were skipped. Without a reviewer (a viewer looking) it is the plain order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from app.classify.models import ReviewLease, ReviewSkip
from app.db_types import utcnow
from app.documents.models import Document, ReviewState
from app.extensions import db
from app.querying import count_rows, within_dates

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


@dataclass(frozen=True)
class Place:
    """Where a document stands in a reviewer's queue: the sort key the keyset steps from."""

    id: int
    rank: float
    skipped_at: datetime | None = None


def _filtered(filters: QueueFilter) -> Select[tuple[Document]]:
    query = select(Document).where(Document.is_live, Document.review_state == ReviewState.NEEDS_REVIEW)
    if filters.category_id:
        query = query.where(Document.category_id == filters.category_id)
    if filters.uploader_id:
        query = query.where(Document.uploaded_by == filters.uploader_id)
    return query.where(within_dates(Document.uploaded_at, filters.since, filters.until))


def held_by_others(reviewer_id: int, now: datetime | None = None) -> ColumnElement[bool]:
    """True for a document another reviewer holds an unexpired lease on."""
    return exists(
        select(ReviewLease.document_id).where(
            ReviewLease.document_id == Document.id,
            ReviewLease.user_id != reviewer_id,
            ReviewLease.expires_at > (now or utcnow()),
        )
    )


def _reviewers(filters: QueueFilter, reviewer_id: int) -> Select[tuple[Document]]:
    """The filtered queue as one reviewer sees it, unordered: joined to that reviewer's skips."""
    return (
        _filtered(filters)
        .outerjoin(ReviewSkip, and_(ReviewSkip.document_id == Document.id, ReviewSkip.user_id == reviewer_id))
        .where(~held_by_others(reviewer_id))
    )


def waiting(filters: QueueFilter, reviewer_id: int | None = None) -> Select[tuple[Document]]:
    """The queue under `filters`, in review order (the reviewer's own order when one is given)."""
    if reviewer_id is None:
        return _filtered(filters).order_by(_RANK.asc(), Document.id.asc())
    skipped = ReviewSkip.skipped_at
    return _reviewers(filters, reviewer_id).order_by(skipped.is_not(None), skipped, _RANK.asc(), Document.id.asc())


def _backwards(filters: QueueFilter, reviewer_id: int | None) -> Select[tuple[Document]]:
    if reviewer_id is None:
        return _filtered(filters).order_by(_RANK.desc(), Document.id.desc())
    skipped = ReviewSkip.skipped_at
    return _reviewers(filters, reviewer_id).order_by(
        skipped.is_not(None).desc(), skipped.desc(), _RANK.desc(), Document.id.desc()
    )


def _rank_after(place: Place) -> ColumnElement[bool]:
    return or_(place.rank < _RANK, and_(place.rank == _RANK, Document.id > place.id))


def _rank_before(place: Place) -> ColumnElement[bool]:
    return or_(place.rank > _RANK, and_(place.rank == _RANK, Document.id < place.id))


def _after(place: Place, reviewer_id: int | None) -> ColumnElement[bool]:
    if reviewer_id is None:
        return _rank_after(place)
    skipped = ReviewSkip.skipped_at
    if place.skipped_at is None:
        return or_(and_(skipped.is_(None), _rank_after(place)), skipped.is_not(None))
    return and_(
        skipped.is_not(None),
        or_(skipped > place.skipped_at, and_(skipped == place.skipped_at, _rank_after(place))),
    )


def _before(place: Place, reviewer_id: int | None) -> ColumnElement[bool]:
    if reviewer_id is None:
        return _rank_before(place)
    skipped = ReviewSkip.skipped_at
    if place.skipped_at is None:
        return and_(skipped.is_(None), _rank_before(place))
    return or_(
        skipped.is_(None),
        skipped < place.skipped_at,
        and_(skipped == place.skipped_at, _rank_before(place)),
    )


def place(document: Document, reviewer_id: int | None = None) -> Place:
    """The document's place in the reviewer's queue (read before a decision, which forgets its skips)."""
    rank = -1.0 if document.confidence is None else document.confidence
    skipped_at = None
    if reviewer_id is not None:
        skipped_at = db.session.scalar(
            select(ReviewSkip.skipped_at).where(
                ReviewSkip.user_id == reviewer_id, ReviewSkip.document_id == document.id
            )
        )
    return Place(document.id, rank, skipped_at)


def first(filters: QueueFilter, reviewer_id: int | None = None) -> Document | None:
    return db.session.scalar(waiting(filters, reviewer_id).limit(1))


def following(filters: QueueFilter, at: Place, reviewer_id: int | None = None) -> Document | None:
    """The item after `at` in the queue, wrapping round to the first (None when the queue is empty)."""
    found = db.session.scalar(waiting(filters, reviewer_id).where(_after(at, reviewer_id)).limit(1))
    return found or first(filters, reviewer_id)


def preceding(filters: QueueFilter, at: Place, reviewer_id: int | None = None) -> Document | None:
    """The item before `at`, wrapping round to the last."""
    query = _backwards(filters, reviewer_id)
    found = db.session.scalar(query.where(_before(at, reviewer_id)).limit(1))
    return found or db.session.scalar(query.limit(1))


def position(filters: QueueFilter, at: Place, reviewer_id: int | None = None) -> int:
    """1-based place of a waiting document in the queue."""
    return _count(waiting(filters, reviewer_id).where(_before(at, reviewer_id))) + 1


def _count(query: Select[tuple[Document]]) -> int:
    return count_rows(query, Document.id)


def size(filters: QueueFilter, reviewer_id: int | None = None) -> int:
    return _count(waiting(filters, reviewer_id))


def is_waiting(filters: QueueFilter, document: Document) -> bool:
    """Whether the document waits under the filters (whoever holds it)."""
    return _count(_filtered(filters).where(Document.id == document.id)) == 1


def holder(document_id: int, now: datetime | None = None) -> ReviewLease | None:
    """The unexpired lease on a document, if any."""
    return db.session.scalar(
        select(ReviewLease).where(ReviewLease.document_id == document_id, ReviewLease.expires_at > (now or utcnow()))
    )
