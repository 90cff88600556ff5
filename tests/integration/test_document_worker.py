"""Documents through a real Huey consumer on Redis: processed, a killed worker recovered, Redis down at upload."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.config import config_for_tests
from app.documents import service
from app.documents.models import Document, DocumentEvent
from app.extensions import db
from tests.support import documents as files
from tests.support import services

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """A huey_consumer process for the test's settings, stopped with SIGKILL or SIGINT as the test says."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "huey_consumer"), "worker.huey", "-w", "1", "-k", "thread", "-n"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

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


@pytest.fixture
def setup(tmp_path, postgres_url):
    """Settings shared by the test's app and its consumer processes: one database, one data dir, one queue."""
    queue = f"qm-docs-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QM_", "DATABASE_URL", "REDIS_URL"))},
        "QM_ENV": "testing",
        "SECRET_KEY": "worker-test",
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": services.TEST_REDIS_URL,
        "QM_QUEUE_NAME": queue,
        "QM_STUCK_AFTER_SECONDS": "1",
    }
    workers: list[Worker] = []
    apps = []

    def app_with(redis_url: str):
        app = create_app(
            config_for_tests(
                tmp_path / "data", postgres_url, REDIS_URL=redis_url, QUEUE_NAME=queue, STUCK_AFTER_SECONDS=1
            )
        )
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


def _wait_for_state(app, document_id: int, states: set[str], timeout: float = 60) -> Document:
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            db.session.rollback()
            document = db.session.get(Document, document_id, populate_existing=True)
            if document.state in states:
                return document
            time.sleep(0.2)
    pytest.fail(f"document {document_id} did not reach {states} within {timeout} s")


def _processed_events(app, document_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(DocumentEvent.id)).where(
                DocumentEvent.document_id == document_id, DocumentEvent.event == "processed"
            )
        )


def test_an_upload_is_processed_by_the_worker(setup, tmp_path):
    app_with, start_worker = setup
    app = app_with(services.TEST_REDIS_URL)
    start_worker()
    with app.app_context():
        pdf = files.make_text_pdf(tmp_path / "order.pdf", ["Purchase order 9001", "Forty crates of oolong"])
        with pdf.open("rb") as stream:
            document_id = service.ingest(stream, "order.pdf", user_id=None).document.id
    document = _wait_for_state(app, document_id, {"processed", "failed"})
    assert document.state == "processed"
    assert "Forty crates of oolong" in document.text


def test_a_worker_killed_mid_task_is_recovered_by_the_sweeper(setup, tmp_path):
    app_with, start_worker = setup
    app = app_with(services.TEST_REDIS_URL)
    first = start_worker()
    with app.app_context():
        # Three scanned pages: OCR keeps the worker busy long enough to kill it in the middle.
        pdf = files.make_scanned_pdf(tmp_path / "scan.pdf", ["DELIVERY NOTE 5150", "CRATES OF RED TEA"])
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        for _ in range(3):
            writer.add_page(PdfReader(pdf).pages[0])
        slow = tmp_path / "slow.pdf"
        with slow.open("wb") as out:
            writer.write(out)
        with slow.open("rb") as stream:
            document_id = service.ingest(stream, "slow.pdf", user_id=None).document.id
    _wait_for_state(app, document_id, {"processing"}, timeout=30)
    first.kill()  # SIGKILL: Huey has no acknowledgements; this task is gone from the queue
    time.sleep(1.5)
    with app.app_context():
        assert db.session.get(Document, document_id).state == "processing"
    start_worker()
    with app.app_context():
        swept = service.sweep_stuck()
    assert swept.requeued == [document_id]
    document = _wait_for_state(app, document_id, {"processed", "failed"}, timeout=90)
    assert document.state == "processed"
    assert "DELIVERY" in document.text.upper()
    assert document.attempts == 1
    assert _processed_events(app, document_id) == 1


def test_an_upload_while_redis_is_down_is_kept_and_processed_later(setup):
    app_with, start_worker = setup
    down = app_with("redis://127.0.0.1:1/0")  # nothing listens there
    with down.app_context():
        outcome = service.ingest(
            __import__("io").BytesIO(b"Credit note 77 for 2 broken cups"), "credit.txt", user_id=None
        )
        document_id = outcome.document.id
        assert db.session.get(Document, document_id).state == "queued"
        assert service.blob_store().exists(outcome.document.sha256)
    back = app_with(services.TEST_REDIS_URL)  # Redis is back
    start_worker()
    time.sleep(1.1)
    with back.app_context():
        assert service.sweep_stuck().requeued == [document_id]
    document = _wait_for_state(back, document_id, {"processed", "failed"})
    assert document.state == "processed"
    assert "broken cups" in document.text
