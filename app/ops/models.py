"""The audit log: one row for every change a person or the system makes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # NULL actor means the system (a periodic task, a CLI run without a user).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship(lazy="joined")


class WorkerHeartbeat(db.Model):
    """One Huey consumer process, as it last reported itself (every few seconds while alive)."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    # host:pid:queue, unique: a restarted consumer is a new row; old rows go stale, then are pruned.
    name: Mapped[str] = mapped_column(String(300), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    queue: Mapped[str] = mapped_column(String(100))
    periodic: Mapped[bool]  # True: this consumer schedules the periodic tasks
    workers: Mapped[int] = mapped_column(default=1)
    worker_type: Mapped[str] = mapped_column(String(16), default="thread")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PeriodicRun(db.Model):
    """The latest run of each periodic task: when, how long, and how it ended."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))  # ok, error
    last_error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int | None]
    runs: Mapped[int] = mapped_column(default=0)


class TaskFailure(db.Model):
    """A task that raised: which, where, when and why (the newest few hundred are kept)."""

    __tablename__ = "task_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    task: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(100))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]
    error: Mapped[str] = mapped_column(String(500))
