"""The search outbox: index changes waiting to be applied, written with the change that causes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, String
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
