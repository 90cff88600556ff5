"""A real Huey consumer process runs our tasks inside the app, on Redis and on SQLite."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.config import config_for_tests
from app.extensions import db
from app.ops.service import worker_status
from app.ops.tasks import record_heartbeat
from app.queue import huey
from tests.support import services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["redis", "sqlite"])
def queue_settings(request, tmp_path, postgres_url):
    settings = {
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": postgres_url,
        "QM_QUEUE_NAME": f"qm-queue-test-{uuid.uuid4().hex[:8]}",
        "SECRET_KEY": "queue-test",
        "QM_ENV": "testing",
    }
    if request.param == "redis":
        settings["REDIS_URL"] = services.TEST_REDIS_URL
    return settings


def test_consumer_runs_tasks_in_an_app_context(queue_settings):
    app = create_app(
        config_for_tests(
            Path(queue_settings["DATA_DIR"]),
            queue_settings["DATABASE_URL"],
            REDIS_URL=queue_settings.get("REDIS_URL"),
            QUEUE_NAME=queue_settings["QM_QUEUE_NAME"],
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    consumer = subprocess.Popen(
        [str(Path(sys.executable).parent / "huey_consumer"), "worker.huey", "--workers", "2", "-k", "thread"],
        cwd=ROOT,
        env={**env, **queue_settings},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        with app.app_context():
            assert not huey.immediate
            result = record_heartbeat()
            beat = result.get(blocking=True, timeout=30)
        assert beat["pid"] != os.getpid()  # another process ran it...
        assert beat["database"] == "postgresql"  # ...with the app's database bound...
        assert beat["queue"] == queue_settings["QM_QUEUE_NAME"]  # ...and the app's settings.
        # The task beat for its consumer: one row, named after the consumer's host and pid.
        assert beat["consumer"] == f"{socket.gethostname()}:{consumer.pid}:{queue_settings['QM_QUEUE_NAME']}"
        with app.app_context():
            status = worker_status()
            assert status.ok, status.text  # it schedules periodic tasks (no -n): exactly one does
            assert status.text.startswith("1 running, last seen ")
    finally:
        os.killpg(consumer.pid, signal.SIGINT)  # graceful: finish the running task, then stop
        output, _ = consumer.communicate(timeout=30)
    try:
        assert consumer.returncode == 0, output
        with app.app_context():  # a clean stop takes the consumer off the list instead of leaving it stale
            assert worker_status().text == "no consumer has reported: is the worker running?"
    finally:
        with app.app_context():
            db.session.remove()
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))  # its periodic runs, say
            db.session.commit()
            db.engine.dispose()
