"""The one Huey instance, and the decorators that run tasks inside the app.

`huey` is created here unconfigured and bound to storage by `init_app`: Redis
when REDIS_URL is set, SQLite under DATA_DIR otherwise. Domains declare work
with `task()` / `periodic_task()` from this module (never `huey.task` directly)
so every task body runs inside an application context, whichever process runs
it. This module knows no domain; `worker.py` imports the domains' tasks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.storage import BaseStorage, RedisStorage, SqliteStorage


class QueueNotConfigured(RuntimeError):
    """Raised when a task is enqueued before `create_app` bound the queue."""


class _UnboundStorage(BaseStorage):
    """Stands in until `init_app` picks the real storage; every use is an error."""

    def __getattribute__(self, name: str) -> Any:
        if name in {"__class__", "name", "__init__", "__dict__"}:
            return object.__getattribute__(self, name)
        raise QueueNotConfigured("the task queue is used before create_app() configured it")


class AppHuey(Huey):
    """A Huey whose storage is chosen by the app's settings, not at import."""

    def get_storage(self, **kwargs: Any) -> BaseStorage:
        if self.storage_class is None:
            return _UnboundStorage(self.name)
        return super().get_storage(**kwargs)


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


def _in_app_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _flask_app().app_context():
            return fn(*args, **kwargs)

    return run


def task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Huey task whose body runs inside the Flask app context."""

    def decorate(fn: Callable[..., Any]) -> Any:
        return huey.task(**options)(_in_app_context(fn))

    return decorate


def periodic_task(schedule: Callable[..., bool], **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a periodic Huey task whose body runs inside the Flask app context."""

    def decorate(fn: Callable[..., Any]) -> Any:
        return huey.periodic_task(schedule, **options)(_in_app_context(fn))

    return decorate


def check_queue() -> None:
    """Raise if the queue's storage cannot be reached (used by /readyz)."""
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        storage.conn.ping()
    else:
        huey.pending_count()
