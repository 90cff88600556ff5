"""Reading the audit log and checking the services the app depends on."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import Select, select, text

from app.extensions import db
from app.ops.models import AuditEvent
from app.querying import within_dates
from app.queue import check_queue


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    system_only: bool = False  # only what the system did by itself
    action: str | None = None
    target_type: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive


def audit_query(filters: AuditFilter) -> Select[tuple[AuditEvent]]:
    """Audit events matching `filters`, newest first (each loads its actor with it)."""
    query = select(AuditEvent)
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.system_only:
        query = query.where(AuditEvent.actor_id.is_(None))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    query = query.where(within_dates(AuditEvent.at, filters.since, filters.until))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_actions() -> list[str]:
    """Every action name that occurs in the log, for the filter menu."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def audit_target_types() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.target_type).distinct().order_by(AuditEvent.target_type)))


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
    """Each dependency's state: "ok", or the error in one line."""
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


def worker_status(now: datetime | None = None) -> str:
    """When a worker last said it was alive, in words."""
    from app.ops.tasks import last_heartbeat

    try:
        beat = last_heartbeat()
    except Exception as error:  # the queue itself is down: the queue check says why
        return f"unknown ({type(error).__name__})"
    if not beat:
        return "no heartbeat yet: is the worker running?"
    seen = datetime.fromisoformat(str(beat["at"]))
    seconds = int(((now or datetime.now(UTC)) - seen).total_seconds())
    late = " (late: is the worker running?)" if seconds > 150 else ""
    return f"last seen {seconds} s ago{late}"


def model_status() -> str:
    """Which classification model the worker would use, and whether its file is there."""
    from app.classify import registry

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
