"""Models and a real Huey consumer on Redis and PostgreSQL: a promoted version is used without a restart,
a retrain runs in the worker with progress a poller can see, and a retrain asked for while Redis is down says so.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app import create_app
from app.classify import categories, registry, tasks
from app.classify.models import TrainingRun
from app.config import config_for_tests
from app.documents import service
from app.documents.models import Document
from app.extensions import db
from tests.support import services

ROOT = Path(__file__).resolve().parents[2]
INVOICE = "INVOICE No 4711 Amount due 1,240.00 EUR payable within 30 days VAT 20% Bank transfer IBAN"


class Worker:
    """A huey_consumer process for the test's settings (no periodic tasks), stopped with SIGINT."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "huey_consumer"), "worker.huey", "-w", "1", "-k", "thread", "-n"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def setup(tmp_path, postgres_url):
    """One database, one data dir (with the models) and one queue, shared by the test's app and its consumer."""
    queue = f"qm-models-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QM_", "DATABASE_URL", "REDIS_URL"))},
        "QM_ENV": "testing",
        "SECRET_KEY": "worker-test",
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": services.TEST_REDIS_URL,
        "QM_QUEUE_NAME": queue,
        "QM_AUTO_ACCEPT_THRESHOLD": "0.3",
    }
    workers: list[Worker] = []
    apps = []

    def app_with(redis_url: str):
        app = create_app(config_for_tests(tmp_path / "data", postgres_url, REDIS_URL=redis_url, QUEUE_NAME=queue))
        apps.append(app)
        return app

    def start_worker() -> Worker:
        worker = Worker(env)
        workers.append(worker)
        return worker

    yield app_with, start_worker
    for worker in workers:
        worker.stop()
    cleanup = app_with(services.TEST_REDIS_URL)
    with cleanup.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()
    for app in apps:  # close every pool, or connections are left to the garbage collector
        with app.app_context():
            db.engine.dispose()


def _processed(app, content: str, timeout: float = 60) -> Document:
    with app.app_context():
        document_id = service.ingest(io.BytesIO(content.encode()), "upload.txt", user_id=None).document.id
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            db.session.rollback()
            document = db.session.get(Document, document_id, populate_existing=True)
            if document.state in ("processed", "failed"):
                return document
            time.sleep(0.2)
    pytest.fail(f"document {document_id} was not processed within {timeout} s")


def test_the_worker_uses_a_promoted_version_for_the_next_document_without_a_restart(setup):
    app_with, start_worker = setup
    app = app_with(services.TEST_REDIS_URL)
    with app.app_context():
        categories.ensure_default_categories()
        first = registry.train_candidate(per_category=30, seed=1).candidate.id
        second = registry.train_candidate(per_category=30, seed=2, force=True).candidate.id
        registry.promote(first, user_id=None)  # roll back: the first version is the one in use
    worker = start_worker()

    before = _processed(app, INVOICE)
    assert before.state == "processed"
    assert before.model_version_id == first

    with app.app_context():
        registry.promote(second, user_id=None)  # from another process, as the models page does
    after = _processed(app, INVOICE.replace("4711", "4712"))
    assert after.state == "processed"
    assert after.model_version_id == second
    assert after.predictions[0][0] == "invoice"
    assert worker.running  # the same consumer, never restarted


def test_a_retrain_runs_in_the_worker_and_its_progress_can_be_watched(setup):
    app_with, start_worker = setup
    app = app_with(services.TEST_REDIS_URL)
    with app.app_context():
        categories.ensure_default_categories()
    start_worker()
    seen: list[tuple[str, int]] = []
    with app.app_context():
        run_id = tasks.start_retrain(user_id=None, trigger="manual").run.id
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            db.session.rollback()
            run = db.session.get(TrainingRun, run_id, populate_existing=True)
            seen.append((run.state, run.progress))
            if run.state in ("finished", "failed"):
                break
            time.sleep(0.1)
        assert (run.state, run.error) == ("finished", None)
        assert run.promoted is True
        assert run.model_version_id == registry.active_version().id
    # A poller saw it running part of the way: progress is committed as it goes, not only at the end.
    assert any(state == "running" and 0 < progress < 100 for state, progress in seen), seen
    progress_seen = [progress for state, progress in seen if state == "running"]
    assert progress_seen == sorted(progress_seen)


def test_a_retrain_asked_for_while_the_queue_is_down_fails_with_the_reason(setup):
    app_with, _ = setup
    down = app_with("redis://127.0.0.1:1/0")  # nothing listens there
    with down.app_context():
        started = tasks.start_retrain(user_id=None, trigger="manual")
        run = db.session.scalar(select(TrainingRun).where(TrainingRun.id == started.run.id))
        assert run.state == "failed"
        assert run.error.startswith("The task queue could not be reached, so training did not start")
        # It does not block the next attempt.
        assert tasks.run_under_way() is None
