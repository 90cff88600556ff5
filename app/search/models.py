"""The search outbox: index changes waiting to be applied, written with the change that causes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
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
