"""Undo on the review page: a reviewer takes back their own newest decisions, one by one.

The review row of an undone decision is deleted rather than kept and marked: training
(`evaluation.reviewed_texts`), the retrain schedule and the acceptance rates read every row of
`reviews` as a person's decision, and a mistake taken back must not teach the next model. The
audit row ("document.review_undone", with before and after) keeps the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import aliased

from app.classify import memory
from app.classify.models import Review
from app.classify.service import ReviewError
from app.documents.models import Document, ReviewState
from app.extensions import db
from app.ops import audit
from app.search import outbox

# How far back `undo_last` reaches: a reviewer's newest decisions, one by one.
UNDO_DEPTH = 20


def undoable(user_id: int) -> Review | None:
    """The reviewer's newest decision that can still be taken back, among their last UNDO_DEPTH.

    A decision can be taken back while it is what the document is now: the document is live, filed the way this
    review filed it, and nobody has decided on it since.
    """
    recent = select(Review.id).where(Review.user_id == user_id).order_by(Review.id.desc()).limit(UNDO_DEPTH)
    newer = aliased(Review)
    return db.session.scalar(
        select(Review)
        .join(Document, Document.id == Review.document_id)
        .where(
            Review.id.in_(recent.scalar_subquery()),
            Document.deleted_at.is_(None),
            Document.review_state == ReviewState.REVIEWED,
            Document.category_id == Review.chosen_category_id,
            ~exists(select(newer.id).where(newer.document_id == Review.document_id, newer.id > Review.id)),
        )
        .order_by(Review.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Undone:
    document: Document
    category_name: str  # what the undone decision had filed it under
    waiting: bool  # back in the queue (else it is back to what the model had filed it as)


def undo_last(*, user_id: int) -> Undone:
    """Take back the reviewer's newest decision: the document gets its category, state and reason from before.

    The review row is deleted rather than kept and marked: training and the acceptance rates read every row
    of `reviews` as a person's decision, and a mistake taken back must not teach the next model. The audit
    row ("document.review_undone", with before and after) keeps the history of who did and undid what.
    """
    review = undoable(user_id)
    if review is None:
        raise ReviewError("There is no decision of yours left to undo.")
    # Locked: a colleague's decision on it cannot slip in between the check and the change.
    document = db.session.scalars(
        select(Document)
        .where(Document.id == review.document_id)
        .with_for_update(of=Document)
        .execution_options(populate_existing=True)
    ).one()
    category_name = review.chosen_category.name
    before = {"category_id": document.category_id, "review_state": document.review_state}
    document.category_id = review.previous_category_id
    document.review_state = review.previous_review_state or ReviewState.NEEDS_REVIEW
    document.review_reason = review.previous_review_reason
    gone = db.session.execute(delete(Review).where(Review.id == review.id)).rowcount
    if gone != 1:  # taken back in another tab a moment ago
        db.session.rollback()
        raise ReviewError("That decision was already undone; nothing was changed.")
    waiting = document.review_state == ReviewState.NEEDS_REVIEW
    audit.record(
        "document.review_undone",
        target_type="document",
        target_id=document.id,
        summary=f"Undid filing {document.filename} under {category_name}"
        + ("; it waits for review again" if waiting else ""),
        actor_id=user_id,
        before=before,
        after={"category_id": document.category_id, "review_state": document.review_state},
    )
    outbox.note_change(document.id)
    db.session.commit()
    memory.note_change()  # the memory forgets it (it reads the document's latest review, now an older one or none)
    outbox.request_drain()
    return Undone(document, category_name, waiting)
