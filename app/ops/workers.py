"""Workers you can see: consumer heartbeats, periodic runs and task failures, and what they add up to.

The writes here are called by the consumer side (app.ops.consumer): each is one
short transaction of telemetry, so none writes an audit row (a heartbeat every
few seconds would bury the log). The reads feed the System page, /readyz and
the start page's status card. A worker is *running* while it beat within the
last three heartbeat intervals, *stale* after that; rows a day old are pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.database import begin_write
from app.db_types import utcnow
from app.extensions import db
from app.ops.models import PeriodicRun, TaskFailure, WorkerHeartbeat
from app.queue import PERIODIC, PeriodicRunEvent, huey, next_run, one_line
from app.queue_state import QueueStats, queue_stats

STALE_AFTER_BEATS = 3
PRUNE_AFTER = timedelta(days=1)
KEEP_FAILURES = 200


@dataclass(frozen=True)
class WorkerIdentity:
    """One consumer process as it describes itself in its heartbeat."""

    host: str
    pid: int
    queue: str
    periodic: bool
    workers: int
    worker_type: str
    started_at: datetime

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}:{self.queue}"[:300]


def _insert(model: type[db.Model]) -> Any:  # type: ignore[name-defined]
    """INSERT … ON CONFLICT for the session's database (SQLite and PostgreSQL both have it)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


# ---------------------------------------------------------------- writes (the consumer side)


def write_heartbeat(identity: WorkerIdentity, now: datetime | None = None) -> None:
    """Record that this consumer is alive now, and prune rows nobody refreshed for a day."""
    now = now or utcnow()
    begin_write()
    statement = _insert(WorkerHeartbeat).values(
        name=identity.name,
        host=identity.host[:255],
        pid=identity.pid,
        queue=identity.queue[:100],
        periodic=identity.periodic,
        workers=identity.workers,
        worker_type=identity.worker_type[:16],
        started_at=identity.started_at,
        last_seen_at=now,
    )
    excluded = statement.excluded
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[WorkerHeartbeat.name],
            set_={
                "last_seen_at": excluded.last_seen_at,
                "periodic": excluded.periodic,
                "workers": excluded.workers,
                "worker_type": excluded.worker_type,
            },
        )
    )
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen_at < now - PRUNE_AFTER))
    db.session.commit()


def remove_heartbeat(name: str) -> None:
    """Forget a consumer that stopped cleanly (a killed one goes stale instead)."""
    begin_write()
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))
    db.session.commit()


def record_periodic_run(event: PeriodicRunEvent) -> None:
    """Note a periodic task's start, or its end with outcome and duration (one row per task)."""
    begin_write()
    statement = _insert(PeriodicRun)
    if event.finished_at is None:
        statement = statement.values(name=event.name, last_started_at=event.started_at, runs=0)
        statement = statement.on_conflict_do_update(
            index_elements=[PeriodicRun.name], set_={"last_started_at": statement.excluded.last_started_at}
        )
    else:
        statement = statement.values(
            name=event.name,
            last_started_at=event.started_at,
            last_finished_at=event.finished_at,
            last_outcome="ok" if event.error is None else "error",
            last_error=event.error,
            duration_ms=event.duration_ms,
            runs=1,
        )
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[PeriodicRun.name],
            set_={
                "last_finished_at": excluded.last_finished_at,
                "last_outcome": excluded.last_outcome,
                "last_error": excluded.last_error,
                "duration_ms": excluded.duration_ms,
                "runs": PeriodicRun.__table__.c.runs + 1,
            },
        )
    db.session.execute(statement)
    db.session.commit()


def record_failure(task: str, task_id: str | None, host: str | None, pid: int | None, error: str) -> None:
    """Keep a failed task for the System page; only the newest KEEP_FAILURES stay."""
    begin_write()
    db.session.add(
        TaskFailure(task=task[:200], task_id=task_id[:100] if task_id else None, host=host, pid=pid, error=error[:500])
    )
    db.session.flush()
    cutoff = db.session.scalar(select(TaskFailure.id).order_by(TaskFailure.id.desc()).offset(KEEP_FAILURES).limit(1))
    if cutoff is not None:
        db.session.execute(delete(TaskFailure).where(TaskFailure.id <= cutoff))
    db.session.commit()


# ---------------------------------------------------------------- reads (the System page, /readyz, the status card)


def heartbeat_seconds() -> int:
    return int(current_app.config["HEARTBEAT_SECONDS"])


@dataclass(frozen=True)
class WorkerView:
    """A heartbeat row as the System page shows it."""

    row: WorkerHeartbeat
    running: bool
    seen_seconds: int
    this_queue: bool


@dataclass(frozen=True)
class WorkerSummary:
    """This queue's consumers: how many run, how many went quiet, how many schedule periodic tasks."""

    running: int
    stale: int
    schedulers: int
    last_seen_seconds: int | None  # the most recent heartbeat of any of them

    def as_dict(self) -> dict[str, int]:
        return {"running": self.running, "stale": self.stale, "schedulers": self.schedulers}


def beating(names: set[str], now: datetime | None = None) -> set[str]:
    """Which of these consumers (by heartbeat name) beat within the last three intervals: alive, not stale.

    A name without a row (a consumer that stopped cleanly, or was pruned) is not beating.
    """
    if not names:
        return set()
    now = now or utcnow()
    stale_before = now - timedelta(seconds=STALE_AFTER_BEATS * heartbeat_seconds())
    query = select(WorkerHeartbeat.name).where(
        WorkerHeartbeat.name.in_(sorted(names)), WorkerHeartbeat.last_seen_at >= stale_before
    )
    return set(db.session.scalars(query))


def worker_views(now: datetime | None = None) -> list[WorkerView]:
    """Every consumer that beat in the last day: this queue's first, running before stale."""
    now = now or utcnow()
    stale_before = now - timedelta(seconds=STALE_AFTER_BEATS * heartbeat_seconds())
    rows = db.session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.last_seen_at >= now - PRUNE_AFTER))
    views = [
        WorkerView(
            row=row,
            running=row.last_seen_at >= stale_before,
            seen_seconds=max(0, int((now - row.last_seen_at).total_seconds())),
            this_queue=row.queue == huey.name,
        )
        for row in rows
    ]
    views.sort(key=lambda v: (not v.this_queue, not v.running, v.row.host, v.row.pid))
    return views


def summarize(views: list[WorkerView]) -> WorkerSummary:
    mine = [view for view in views if view.this_queue]
    running = [view for view in mine if view.running]
    return WorkerSummary(
        running=len(running),
        stale=len(mine) - len(running),
        schedulers=sum(1 for view in running if view.row.periodic),
        last_seen_seconds=min((view.seen_seconds for view in mine), default=None),
    )


def worker_summary(now: datetime | None = None) -> WorkerSummary:
    return summarize(worker_views(now))


def scheduler_warnings(summary: WorkerSummary) -> list[str]:
    """What an operator must fix about who schedules periodic tasks (empty when all is well)."""
    if summary.running == 0:
        return [
            "No consumer is running: queued tasks wait, and no periodic task runs. "
            "Start one consumer (make run, or the worker service)."
        ]
    if summary.schedulers == 0:
        return [
            "No running consumer schedules periodic tasks: the stuck-document sweeper, the search drain "
            "and the other periodic jobs do not run. Start exactly one consumer without -n."
        ]
    if summary.schedulers > 1:
        return [
            f"{summary.schedulers} running consumers schedule periodic tasks: periodic tasks would run twice. "
            "Start every consumer but one with -n (--no-periodic)."
        ]
    return []


@dataclass(frozen=True)
class PeriodicView:
    """A periodic task with its schedule in words, its last run and its next one."""

    name: str
    doc: str
    schedule: str
    run: PeriodicRun | None
    next_run: datetime | None

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1].replace("_", " ")

    @property
    def in_progress(self) -> bool:
        """Started after it last finished: running now, or killed before it could finish."""
        run = self.run
        if run is None or run.last_started_at is None:
            return False
        return run.last_finished_at is None or run.last_started_at > run.last_finished_at


_schedule_cache: dict[tuple[str, datetime], tuple[str, datetime | None]] = {}


def _schedule_facts(name: str, now: datetime) -> tuple[str, datetime | None]:
    """Schedule in words and next run, worked out once per task and minute (schedules are per minute)."""
    minute = now.replace(second=0, microsecond=0)
    key = (name, minute)
    if key not in _schedule_cache:
        if len(_schedule_cache) > 500:
            _schedule_cache.clear()
        spec = PERIODIC[name]
        try:
            _schedule_cache[key] = (spec.describe(now), next_run(spec.schedule, now))
        except Exception as error:  # a broken schedule is shown, not a broken page
            return (f"cannot be read ({one_line(error)})", None)
    return _schedule_cache[key]


def periodic_views(now: datetime | None = None) -> list[PeriodicView]:
    """Every periodic task this app declares, by name, with its last recorded run."""
    now = now or utcnow()
    runs = {run.name: run for run in db.session.scalars(select(PeriodicRun))}
    views = []
    for name in sorted(PERIODIC):
        words, upcoming = _schedule_facts(name, now)
        views.append(PeriodicView(name, PERIODIC[name].doc, words, runs.get(name), upcoming))
    return views


def recent_failures(limit: int = 20) -> list[TaskFailure]:
    return list(db.session.scalars(select(TaskFailure).order_by(TaskFailure.id.desc()).limit(limit)))


def failure_count() -> int:
    return db.session.scalar(select(func.count(TaskFailure.id))) or 0


@dataclass
class SystemOverview:
    """Everything the System page shows, read in one go."""

    now: datetime
    heartbeat_seconds: int
    queue_name: str
    workers: list[WorkerView]
    summary: WorkerSummary
    warnings: list[str]
    queue: QueueStats | None
    queue_error: str | None
    periodic: list[PeriodicView]
    failures: list[TaskFailure]
    failures_total: int
    failures_kept: int

    @property
    def oldest_age_seconds(self) -> int | None:
        if self.queue is None or self.queue.oldest_since is None:
            return None
        return max(0, int((self.now - self.queue.oldest_since).total_seconds()))


def system_overview(now: datetime | None = None) -> SystemOverview:
    """Workers, queue, periodic tasks and failures for the System page."""
    now = now or utcnow()
    views = worker_views(now)
    summary = summarize(views)
    stats: QueueStats | None = None
    queue_error = None
    try:
        stats = queue_stats()
    except Exception as error:  # the queue is down: say so on the page instead of failing it
        queue_error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    return SystemOverview(
        now=now,
        heartbeat_seconds=heartbeat_seconds(),
        queue_name=huey.name,
        workers=views,
        summary=summary,
        warnings=scheduler_warnings(summary),
        queue=stats,
        queue_error=queue_error,
        periodic=periodic_views(now),
        failures=recent_failures(),
        failures_total=failure_count(),
        failures_kept=KEEP_FAILURES,
    )
