"""Checking the services the app depends on: the database, the queue, the data folder, workers, the model."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from app.classify import registry
from app.db_types import utcnow
from app.extensions import db
from app.ops import workers
from app.queue_state import check_queue
from app.search import checks as search_checks
from app.search.models import SearchCheck


def _check_database() -> None:
    db.session.execute(text("SELECT 1"))


def _check_storage() -> None:
    """DATA_DIR's blob area exists and takes a write."""
    blobs = Path(current_app.config["DATA_DIR"]) / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=blobs, prefix=".ready-") as probe:
        probe.write(b"ok")
        probe.flush()
        os.fsync(probe.fileno())


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "queue": check_queue,
    "storage": _check_storage,
}


def readiness() -> dict[str, str]:
    """Each dependency's state: "ok", or the error in one line (for admins and callers inside the deployment)."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # a readiness probe reports every failure, whatever its kind
            if name == "database":
                db.session.rollback()
            results[name] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    return results


# An anonymous /readyz answers from a probe at most this old: anyone may call it, and each probe
# opens a database connection, pings Redis and writes and fsyncs a file.
READY_CACHE_SECONDS = 5.0
_ready_lock = threading.Lock()  # one probe at a time per process; callers meanwhile wait for its answer


@dataclass
class _ReadyProbe:
    ready: bool = False
    at: float | None = None  # time.monotonic() of the probe


def is_ready(max_age: float = READY_CACHE_SECONDS) -> bool:
    """Whether every required dependency answers, from a probe at most `max_age` seconds old (per process).

    The anonymous /readyz asks this: it needs the verdict only, and a flood of calls must
    not become a flood of probes. Kept per app (in `app.extensions`), so a test's app never
    sees another's verdict.
    """
    probe = current_app.extensions.setdefault("qm_ready_probe", _ReadyProbe())
    with _ready_lock:
        if probe.at is not None and time.monotonic() - probe.at < max_age:
            return probe.ready
        probe.ready = all(state == "ok" for state in readiness().values())
        probe.at = time.monotonic()
        return probe.ready


@dataclass(frozen=True)
class WorkerStatus:
    """The workers in one line for the status card, and whether that line is good news."""

    ok: bool
    text: str

    def __str__(self) -> str:
        return self.text


def worker_status(now: datetime | None = None) -> WorkerStatus:
    """How many consumers are alive, when one last beat, and who schedules periodic tasks, in words."""
    try:
        summary = workers.worker_summary(now)
    except Exception as error:  # the database is down: the database check says why
        db.session.rollback()
        return WorkerStatus(False, f"unknown ({type(error).__name__})")
    if summary.last_seen_seconds is None:
        return WorkerStatus(False, "no consumer has reported: is the worker running?")
    seen = f"last seen {summary.last_seen_seconds} s ago"
    if summary.running == 0:
        return WorkerStatus(False, f"none running ({summary.stale} stale, {seen}): is the worker running?")
    text = f"{summary.running} running, {seen}"
    if summary.stale:
        text += f", {summary.stale} stale"
    if summary.schedulers == 1:
        return WorkerStatus(True, text)
    if summary.schedulers == 0:
        return WorkerStatus(False, f"{text}; none schedules periodic tasks")
    return WorkerStatus(False, f"{text}; {summary.schedulers} schedule periodic tasks, which would run twice")


def workers_for_readyz() -> dict[str, object]:
    """Consumer counts for /readyz: reported, never a reason to be unready."""
    try:
        return workers.worker_summary().as_dict()
    except Exception as error:  # the database check already fails the probe; this only reports
        db.session.rollback()
        return {"error": f"{type(error).__name__}"}


def model_status() -> str:
    """Which classification model the worker would use, and whether its file is there."""
    try:
        version = registry.active_version()
    except Exception as error:  # the database check reports the cause
        db.session.rollback()
        return f"unknown ({type(error).__name__})"
    if version is None:
        return "no active model: documents wait for review"
    if not (registry.models_dir() / version.filename).is_file():
        return f"version {version.id}: file {version.filename} is missing; documents wait for review"
    return f"version {version.id}, macro-F1 {version.metrics.get('macro_f1', 0):.3f}"


# The hourly check runs at :25; two hours without one while a scheduler runs means it is not running.
SEARCH_CHECK_EXPECTED = timedelta(hours=2)


@dataclass(frozen=True)
class SearchDrift:
    """How the search index compared with the database at its last checks, for /readyz and the System page.

    "degraded" (reported, never a reason to be unready: search still answers) when the last check left
    drift it could not repair, or when no check has run for two hours while a scheduler has been running.
    """

    status: str  # ok, degraded, unknown
    reasons: list[str]
    recent: list[SearchCheck]  # newest first
    last_full: SearchCheck | None

    @property
    def last(self) -> SearchCheck | None:
        return self.recent[0] if self.recent else None

    @property
    def last_said(self) -> list[str]:
        """What the newest check found and did, in sentences (none when the index matched)."""
        return search_checks.describe(self.last) if self.last is not None else []

    def as_dict(self) -> dict[str, object]:
        last = self.last
        return {
            "status": self.status,
            "reasons": self.reasons,
            "last_check": None
            if last is None
            else {
                "at": last.started_at.isoformat(),
                "scope": last.scope,
                "checked": last.checked,
                "of": last.population,
                "missing": last.missing,
                "extra": last.extra,
                "stale": last.stale,
                "repaired": last.repaired,
                "queued": last.queued,
                "unrepaired": last.unrepaired,
                "problem": last.problem,
            },
            "last_full_check_at": self.last_full.started_at.isoformat() if self.last_full else None,
        }


def _scheduler_up_since(now: datetime) -> datetime | None:
    """Since when a running consumer of this queue has been scheduling periodic tasks (None: none is)."""
    starts = [
        view.row.started_at
        for view in workers.worker_views(now)
        if view.running and view.this_queue and view.row.periodic
    ]
    return min(starts) if starts else None


def search_drift(now: datetime | None = None, recent: int = 8) -> SearchDrift:
    """The last checks of the search index, and whether they leave it degraded."""
    now = now or utcnow()
    try:
        checks = search_checks.latest_checks(recent)
        last_full = search_checks.latest_check("full")
        scheduler_since = _scheduler_up_since(now)
    except Exception as error:  # the database check reports the cause
        db.session.rollback()
        return SearchDrift("unknown", [f"the checks cannot be read ({type(error).__name__})"], [], None)
    reasons = []
    last = checks[0] if checks else None
    if last is not None and (last.unrepaired or last.problem):
        reasons.append(
            f"the last check ({last.started_at:%Y-%m-%d %H:%M} UTC) left {last.unrepaired} drifted "
            f"entr{'y' if last.unrepaired == 1 else 'ies'} unrepaired{': ' + last.problem if last.problem else ''}"
        )
    overdue = last is None or now - last.started_at > SEARCH_CHECK_EXPECTED
    if overdue and scheduler_since is not None and now - scheduler_since > SEARCH_CHECK_EXPECTED:
        reasons.append(
            "no check of the search index has run for more than 2 h while the workers run"
            if last is not None
            else "no check of the search index has run although the workers have run for more than 2 h"
        )
    return SearchDrift("degraded" if reasons else "ok", reasons, checks, last_full)
