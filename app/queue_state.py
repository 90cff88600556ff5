"""What the queue can say about itself: how much waits and since when, how this consumer was started,
whether the storage answers. Read by the system page, /metrics, /readyz and the heartbeat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from huey.storage import BaseStorage, RedisStorage, SqliteStorage

from app.queue import enqueued_at, huey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueStats:
    """How much work waits: tasks queued now, since when the oldest waits, and tasks scheduled for later."""

    depth: int
    oldest_since: datetime | None
    scheduled: int


def _oldest_message(storage: BaseStorage) -> bytes | None:
    """The raw message that has waited longest, read without taking it off the queue."""
    if isinstance(storage, RedisStorage):
        return storage.conn.lindex(storage.queue_key, -1)  # LPUSH in, BRPOP out: the tail is the oldest
    if isinstance(storage, SqliteStorage):
        rows = storage.sql("select data from task where queue = ? order by id limit 1", (storage.name,), results=True)
        return bytes(rows[0][0]) if rows else None
    items = storage.enqueued_items(1)
    return items[0] if items else None


def queue_stats() -> QueueStats:
    """Depth and oldest age of the queue: a count and one peek, cheap however many tasks wait."""
    depth = huey.pending_count()
    oldest: datetime | None = None
    if depth:
        raw = _oldest_message(huey.storage)
        if raw is not None:
            try:
                message = huey.serializer.deserialize(raw)
            except Exception:  # a message this code cannot read: its age stays unknown
                log.warning("could not read the oldest queued task", exc_info=True)
            else:
                oldest = enqueued_at(str(message.id))
                eta = message.eta
                if oldest is not None and eta is not None:
                    # A task scheduled for later (or a retry) joined the queue when it came due.
                    eta = eta.replace(tzinfo=UTC) if eta.tzinfo is None else eta
                    oldest = max(oldest, eta)
    return QueueStats(depth=depth, oldest_since=oldest, scheduled=huey.scheduled_count())


@dataclass(frozen=True)
class ConsumerSettings:
    """How this process's consumer was started."""

    periodic: bool
    workers: int
    worker_type: str


def consumer_settings() -> ConsumerSettings:
    """This consumer's options as huey_consumer parsed them (Huey's defaults if unknown)."""
    options = huey.consumer_options or {}
    return ConsumerSettings(
        periodic=bool(options.get("periodic", True)),
        workers=int(options.get("workers", 1)),
        worker_type=str(options.get("worker_type", "thread")),
    )


def check_queue() -> None:
    """Raise if the queue's storage cannot be reached (used by /readyz)."""
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        storage.conn.ping()
    else:
        huey.pending_count()
