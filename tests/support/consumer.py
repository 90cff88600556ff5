"""Real Huey consumer processes for tests, sharing one database, data dir and queue with the test's own app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from app import create_app
from app.config import config_for_tests
from app.documents.models import Document
from app.extensions import db
from tests.support import services

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = str(Path(sys.executable).parent / "huey_consumer")


class Consumer:
    """A huey_consumer process, stopped with SIGINT (or killed) as a test says.

    By default it runs without periodic tasks (`-n`); `periodic=True` makes it schedule them.
    """

    def __init__(
        self, env: dict[str, str], workers: int = 1, *, periodic: bool = False, worker_type: str = "thread"
    ) -> None:
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "huey_consumer"),
                "worker.huey",
                "-w",
                str(workers),
                "-k",
                worker_type,
                *([] if periodic else ["-n"]),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the signals reach its threads' parent only
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def shared_setup(
    tmp_path: Path, database_url: str, *, name: str, env: dict[str, str] | None = None, **config: object
) -> Iterator[tuple[Callable[[str], Flask], Callable[..., Consumer]]]:
    """`app_with(redis_url)` builds the test's app, `start_consumer()` a consumer, both on the same settings.

    `env` adds QM_* variables for the consumers and `config` the matching keys for the test's apps.
    Afterwards every consumer is stopped, the database emptied and every app's pool closed.
    """
    queue = f"qm-{name}-{uuid.uuid4().hex[:8]}"
    consumer_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QM_", "DATABASE_URL", "REDIS_URL"))},
        "QM_ENV": "testing",
        "SECRET_KEY": f"{name}-test",
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "REDIS_URL": services.TEST_REDIS_URL,
        "QM_QUEUE_NAME": queue,
        **(env or {}),
    }
    consumers: list[Consumer] = []
    apps: list[Flask] = []

    def app_with(redis_url: str) -> Flask:
        app = create_app(
            config_for_tests(tmp_path / "data", database_url, REDIS_URL=redis_url, QUEUE_NAME=queue, **config)
        )
        apps.append(app)
        return app

    def start_consumer(workers: int = 1, *, periodic: bool = False, worker_type: str = "thread") -> Consumer:
        consumer = Consumer(consumer_env, workers, periodic=periodic, worker_type=worker_type)
        consumers.append(consumer)
        return consumer

    try:
        yield app_with, start_consumer
    finally:
        for consumer in consumers:
            consumer.stop()
        cleanup = app_with(services.TEST_REDIS_URL)
        with cleanup.app_context():
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        for app in apps:  # close every pool, or connections are left to the garbage collector
            with app.app_context():
                db.engine.dispose()


def wait_for_state(app: Flask, document_id: int, states: set[str], timeout: float = 90) -> Document:
    """The document (detached, as the consumers committed it) once its state is in `states`; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            db.session.rollback()
            document = db.session.get(Document, document_id, populate_existing=True)
            if document.state in states:
                db.session.expunge(document)
                return document
            time.sleep(0.2)
    pytest.fail(f"document {document_id} did not reach {states} within {timeout} s")
