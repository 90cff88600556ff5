"""The one Huey instance, and the decorators that run tasks inside the app.

`huey` is created here unconfigured and bound to storage by `init_app`: Redis
when REDIS_URL is set, SQLite under DATA_DIR otherwise. Domains declare work
with `task()` / `periodic_task()` from this module (never `huey.task` directly)
so every task body runs inside an application context, whichever process runs
it. This module knows no domain; `worker.py` imports the domains' tasks.

It also stamps every task id with the time it was first enqueued (so the age
of the oldest queued task is one cheap read: `app.queue_state`), keeps each
periodic task's schedule for "next run", reports periodic runs to listeners
(app.ops records them), and remembers a consumer's own options (`-n`,
workers, worker type) for its heartbeat.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from flask.ctx import AppContext
from huey import Huey, chord
from huey.api import Task
from huey.storage import BaseStorage, RedisStorage, SqliteStorage

from app.extensions import db

log = logging.getLogger(__name__)


class QueueNotConfigured(RuntimeError):
    """Raised when a task is enqueued before `create_app` bound the queue."""


class _UnboundStorage(BaseStorage):
    """Stands in until `init_app` picks the real storage; every use is an error."""

    def __getattribute__(self, name: str) -> Any:
        if name in {"__class__", "name", "__init__", "__dict__"}:
            return object.__getattribute__(self, name)
        raise QueueNotConfigured("the task queue is used before create_app() configured it")


# Huey's own ids are uuid4 strings; we prefix the enqueue time in milliseconds: "1767225600123-<uuid>".
_HUEY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_STAMPED_ID = re.compile(r"^(\d{13})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def enqueued_at(task_id: str) -> datetime | None:
    """When a task was first enqueued, read from its id (None for an id we did not stamp)."""
    match = _STAMPED_ID.match(task_id or "")
    if match is None:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)


def _stamp(task: Task, millis: int) -> None:
    """Prefix the enqueue time to the ids of a task and every task chained to it, once.

    The whole chain is stamped before Huey creates its Result handles, so the ids a
    caller holds never change afterwards: a retry, a scheduled task coming due, or the
    next step of a pipeline is enqueued again with the id it already has.
    """
    pending: list[Task | None] = [task]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current.id, str) and _HUEY_ID.match(current.id):
            current.id = f"{millis:013d}-{current.id}"
            current.revoke_id = f"r:{current.id}"
        pending.append(current.on_complete)
        pending.append(current.on_error)
        if current.chord_config is not None:
            pending.append(current.chord_config.callback)


class AppHuey(Huey):
    """A Huey whose storage is chosen by the app's settings, not at import."""

    # The options huey_consumer parsed from its command line (None outside a consumer).
    consumer_options: dict[str, Any] | None = None

    def get_storage(self, **kwargs: Any) -> BaseStorage:
        if self.storage_class is None:
            return _UnboundStorage(self.name)
        return super().get_storage(**kwargs)

    def create_consumer(self, **options: Any) -> Any:
        # huey_consumer parses its command line with huey's ConsumerConfig and passes every
        # value here, defaults included: this is exactly what the consumer runs with.
        self.consumer_options = dict(options)
        return super().create_consumer(**options)

    def enqueue(self, task: Any) -> Any:
        millis = int(time.time() * 1000)
        if isinstance(task, chord):
            _stamp(task.callback, millis)  # its members are stamped as Huey enqueues each
        elif isinstance(task, Task):
            _stamp(task, millis)
        return super().enqueue(task)


huey = AppHuey("quartermaster", utc=True)
_app: Flask | None = None


def storage_for(config: dict[str, Any]) -> tuple[type[BaseStorage], dict[str, Any]]:
    """The storage class and its arguments for an app config."""
    if config.get("REDIS_URL"):
        # A bounded connect timeout: /readyz must answer even when Redis is unreachable.
        pool = redis.ConnectionPool.from_url(config["REDIS_URL"], socket_connect_timeout=3)
        return RedisStorage, {"connection_pool": pool}
    path = Path(config["DATA_DIR"]) / "queue.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStorage, {"filename": str(path)}


def init_app(app: Flask) -> None:
    """Bind the queue to this app's storage and remember the app for task contexts."""
    global _app
    _app = app
    storage_class, kwargs = storage_for(app.config)
    huey.name = app.config["QUEUE_NAME"]
    huey.storage_class = storage_class
    huey.storage_kwargs = kwargs
    if not huey.immediate:
        huey.storage = huey.create_storage()
    app.extensions["huey"] = huey


def _flask_app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        raise QueueNotConfigured("a task ran before create_app() was called in this process")
    return _app


def app_context() -> AppContext:
    """A fresh app context (and so a fresh database session) for work outside a request."""
    return _flask_app().app_context()


def _in_app_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with app_context():
            return fn(*args, **kwargs)

    return run


def enqueue_after_commit(task: Any, *args: Any, delay: float | None = None, fallback: str, **log_extra: Any) -> bool:
    """Commit the caller's transaction, then hand `task(*args)` to the queue (after `delay` seconds).

    The order matters: a worker must never pick up work whose rows are not committed yet. The
    queue being down never fails the caller, whose change is already safe: the work is logged
    as not enqueued and `fallback` says which periodic job picks it up instead. False then.
    """
    db.session.commit()
    try:
        if delay:
            task.schedule(args, delay=delay)
        else:
            task(*args)
    except Exception:
        log.warning(
            "task not enqueued; %s",
            fallback,
            extra={"task": getattr(task, "name", repr(task)), **log_extra},
            exc_info=True,
        )
        return False
    return True


def task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Huey task whose body runs inside the Flask app context."""

    def decorate(fn: Callable[..., Any]) -> Any:
        return huey.task(**options)(_in_app_context(fn))

    return decorate


# ---------------------------------------------------------------- periodic tasks


@dataclass(frozen=True)
class PeriodicSpec:
    """A periodic task as declared: its Huey name, schedule and what it is for."""

    name: str
    schedule: Callable[[datetime], bool]
    description: str | Callable[[], str] | None
    doc: str

    def describe(self, now: datetime | None = None) -> str:
        """The schedule in words (the declared description, or one read from the schedule)."""
        if callable(self.description):
            return self.description()
        return self.description or describe_schedule(self.schedule, now)


@dataclass(frozen=True)
class PeriodicRunEvent:
    """A periodic task started (finished_at is None) or finished (ok when error is None)."""

    name: str
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    duration_ms: int | None = None


PERIODIC: dict[str, PeriodicSpec] = {}
_run_listeners: list[Callable[[PeriodicRunEvent], None]] = []


def on_periodic_run(listener: Callable[[PeriodicRunEvent], None]) -> Callable[[PeriodicRunEvent], None]:
    """Call `listener` (in its own app context) as each periodic task starts and finishes."""
    if listener not in _run_listeners:
        _run_listeners.append(listener)
    return listener


def _notify(event: PeriodicRunEvent) -> None:
    for listener in _run_listeners:
        try:
            with app_context():
                listener(event)
        except Exception as error:  # recording a run must never stop the run itself
            log.warning("could not record periodic run", extra={"task": event.name, "error": one_line(error)})


def one_line(error: BaseException) -> str:
    """An exception as one line a person can read: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def periodic_task(
    schedule: Callable[..., bool], *, description: str | Callable[[], str] | None = None, **options: Any
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a periodic Huey task whose body runs inside the Flask app context.

    The schedule is asked inside an app context (so it may read the config); a schedule that
    raises is logged and counts as "not now". Each run is reported to `on_periodic_run`
    listeners. `description` says the schedule in words for the System page (a callable is
    asked each time, for schedules read from config); without it the words are worked out
    from the schedule.
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        name = f"{fn.__module__}.{options.get('name') or fn.__name__}"
        body = _in_app_context(fn)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            started_at = datetime.now(UTC)
            started = time.perf_counter()
            _notify(PeriodicRunEvent(name, started_at))
            try:
                result = body(*args, **kwargs)
            except Exception as error:
                elapsed = round((time.perf_counter() - started) * 1000)
                _notify(PeriodicRunEvent(name, started_at, datetime.now(UTC), one_line(error)[:500], elapsed))
                raise
            elapsed = round((time.perf_counter() - started) * 1000)
            _notify(PeriodicRunEvent(name, started_at, datetime.now(UTC), None, elapsed))
            return result

        @functools.wraps(schedule)
        def due(moment: datetime) -> bool:
            # Huey's scheduler asks outside any request; a schedule may read the app config.
            try:
                if has_app_context():
                    return bool(schedule(moment))
                with app_context():
                    return bool(schedule(moment))
            except Exception:  # a broken schedule must not kill the scheduler (and every other periodic task)
                log.exception("periodic task schedule failed", extra={"task": name})
                return False

        wrapper = huey.periodic_task(due, **options)(run)
        summary = (fn.__doc__ or "").strip().split("\n")[0].replace("`", "")
        PERIODIC[name] = PeriodicSpec(name, schedule, description, summary)
        return wrapper

    return decorate


def upcoming_runs(
    schedule: Callable[[datetime], bool], after: datetime, *, within: timedelta, limit: int
) -> list[datetime]:
    """The minutes after `after` (and within `within`) at which `schedule` fires, at most `limit`.

    Huey's scheduler asks a periodic task's schedule once a minute with the current UTC time
    (naive, as Huey passes it); this asks the same question for each minute ahead. A schedule
    may read the app config, so call this inside an app context.
    """
    start = after.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1)
    found: list[datetime] = []
    for step in range(int(within.total_seconds() // 60)):
        moment = start + timedelta(minutes=step)
        if schedule(moment):
            found.append(moment.replace(tzinfo=UTC))
            if len(found) >= limit:
                break
    return found


def next_run(schedule: Callable[[datetime], bool], now: datetime | None = None) -> datetime | None:
    """The next minute `schedule` fires, looking at most eight days ahead (None: not within that)."""
    runs = upcoming_runs(schedule, now or datetime.now(UTC), within=timedelta(days=8), limit=1)
    return runs[0] if runs else None


def describe_schedule(schedule: Callable[[datetime], bool], now: datetime | None = None) -> str:
    """A schedule in words, worked out from when it fires over the next two days."""
    runs = upcoming_runs(schedule, now or datetime.now(UTC), within=timedelta(days=2), limit=2 * 24 * 60)
    if len(runs) < 2:
        return "less often than daily"
    gaps = {int((later - earlier).total_seconds() // 60) for earlier, later in pairwise(runs)}
    first = runs[0]
    if len(gaps) == 1:
        gap = gaps.pop()
        if gap == 1:
            return "every minute"
        if gap < 60 and 60 % gap == 0:
            return f"every {gap} minutes"
        if gap == 60:
            return f"hourly at :{first.minute:02d}"
        if gap % 60 == 0 and gap < 24 * 60:
            return f"every {gap // 60} hours at :{first.minute:02d}"
        if gap == 24 * 60:
            return f"daily at {first:%H:%M} UTC"
        return f"every {gap} minutes"
    per_day = sum(1 for run in runs if run < first + timedelta(days=1))
    return f"{per_day} times a day"
