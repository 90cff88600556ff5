"""Background work that keeps an eye on the worker itself."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import current_app
from huey import crontab

from app.extensions import db
from app.queue import huey, periodic_task, task

HEARTBEAT_KEY = "worker-heartbeat"


def _beat() -> dict[str, object]:
    beat = {
        "at": datetime.now(UTC).isoformat(),
        "pid": os.getpid(),
        "database": db.engine.dialect.name,
        "queue": current_app.config["QUEUE_NAME"],
    }
    huey.put(HEARTBEAT_KEY, beat)
    return beat


@task()
def record_heartbeat() -> dict[str, object]:
    """Note that a worker is alive and which database and queue it serves (on demand)."""
    return _beat()


@periodic_task(crontab(minute="*"))
def periodic_heartbeat() -> None:
    """Every minute: note that a worker is alive, for the status card."""
    _beat()


def last_heartbeat() -> dict[str, object] | None:
    """The most recent heartbeat any worker recorded, or None."""
    return huey.get(HEARTBEAT_KEY, peek=True)
