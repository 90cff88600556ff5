"""Review leases and skips: which reviewer holds which queue item, and what each reviewer put off.

A lease keeps two reviewers off the same document: the review page leases the current item to
its reviewer for a few minutes and shows colleagues the next free one. Skips order a reviewer's
own queue (skipped documents last). Neither is audited: they change who looks at what, never
what a document is; the decisions themselves live in `service`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.models import User
from app.classify.models import ReviewLease, ReviewSkip
from app.db_types import utcnow
from app.extensions import db

# How long the current item stays with its reviewer without a decision; a lease ends sooner when the document is
# decided or skipped, or when the reviewer moves to another item (one lease per reviewer).
LEASE_SECONDS = 300


def lease_seconds() -> int:
    """The lease's length: REVIEW_LEASE_SECONDS when the deployment sets it, else five minutes."""
    return int(current_app.config.get("REVIEW_LEASE_SECONDS", LEASE_SECONDS))


def _insert(model: Any) -> Any:
    """INSERT … ON CONFLICT for the session's database (SQLite and PostgreSQL both have it)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def holder_name(user_id: int) -> str:
    """How a lease's holder is named to a colleague."""
    return db.session.scalar(select(User.email).where(User.id == user_id)) or "another reviewer"


def take_lease(document_id: int, user_id: int, *, now: datetime | None = None) -> bool:
    """Hold `document_id` for `user_id` for a few minutes; False when someone else holds it.

    The reviewer's other leases end (one current item each). The upsert takes a free or expired lease, or
    extends the reviewer's own, in one statement: two reviewers asking at once cannot both get it.
    """
    now = now or utcnow()
    db.session.execute(
        delete(ReviewLease).where(ReviewLease.user_id == user_id, ReviewLease.document_id != document_id)
    )
    statement = _insert(ReviewLease).values(
        document_id=document_id, user_id=user_id, acquired_at=now, expires_at=now + timedelta(seconds=lease_seconds())
    )
    table = ReviewLease.__table__
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.document_id],
        set_={
            "user_id": statement.excluded.user_id,
            "acquired_at": statement.excluded.acquired_at,
            "expires_at": statement.excluded.expires_at,
        },
        where=or_(table.c.user_id == statement.excluded.user_id, table.c.expires_at <= now),
    )
    db.session.execute(statement)
    held_by = db.session.scalar(select(ReviewLease.user_id).where(ReviewLease.document_id == document_id))
    db.session.commit()
    return held_by == user_id


def release_leases(user_id: int) -> None:
    """End every lease of this reviewer (the queue is empty for them, or they only look)."""
    db.session.execute(delete(ReviewLease).where(ReviewLease.user_id == user_id))
    db.session.commit()


def held_by_others(document_ids: list[int], user_id: int | None) -> dict[int, str]:
    """Which of these documents another reviewer holds now, with the holder's email."""
    if user_id is None:
        return {}
    rows = db.session.execute(
        select(ReviewLease.document_id, User.email)
        .join(User, User.id == ReviewLease.user_id)
        .where(
            ReviewLease.document_id.in_(set(document_ids)),
            ReviewLease.user_id != user_id,
            ReviewLease.expires_at > utcnow(),
        )
    )
    return dict(rows.all())


def remember_skip(document_id: int, user_id: int, *, waiting: bool, now: datetime | None = None) -> None:
    """Note that this reviewer skipped a document (when it still waits) and end their lease on it."""
    now = now or utcnow()
    if waiting:
        statement = _insert(ReviewSkip).values(user_id=user_id, document_id=document_id, skipped_at=now)
        table = ReviewSkip.__table__
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.document_id],
            set_={"skipped_at": statement.excluded.skipped_at},
        )
        db.session.execute(statement)
    db.session.execute(
        delete(ReviewLease).where(ReviewLease.document_id == document_id, ReviewLease.user_id == user_id)
    )
    db.session.commit()
