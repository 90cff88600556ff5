"""Documents through a real Huey consumer on Redis: processed, a killed worker recovered, Redis down at upload."""

import time

import pytest
from sqlalchemy import func, select

from app.documents import service
from app.documents.models import Document, DocumentEvent
from app.extensions import db
from tests.support import documents as files
from tests.support import services
from tests.support.consumer import shared_setup, wait_for_state


@pytest.fixture
def setup(tmp_path, postgres_url):
    """Settings shared by the test's app and its consumer processes: one database, one data dir, one queue."""
    env = {"QM_STUCK_AFTER_SECONDS": "1", "QM_HEARTBEAT_SECONDS": "1"}  # a killed consumer is stale after 3 s
    with shared_setup(tmp_path, postgres_url, name="docs", env=env, STUCK_AFTER_SECONDS=1, HEARTBEAT_SECONDS=1) as pair:
        yield pair


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
    document = wait_for_state(app, document_id, {"processed", "failed"})
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
    wait_for_state(app, document_id, {"processing"}, timeout=30)
    first.kill()  # SIGKILL: Huey has no acknowledgements; this task is gone from the queue
    time.sleep(4)  # its heartbeat goes stale (three missed beats): only then is its document re-sent
    with app.app_context():
        assert db.session.get(Document, document_id).state == "processing"
    start_worker()
    with app.app_context():
        swept = service.sweep_stuck()
    assert swept.requeued == [document_id]
    document = wait_for_state(app, document_id, {"processed", "failed"}, timeout=90)
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
    document = wait_for_state(back, document_id, {"processed", "failed"})
    assert document.state == "processed"
    assert "broken cups" in document.text


def test_a_consumer_in_its_own_container_serves_its_pipeline_figures(tmp_path, postgres_url):
    """QM_WORKER_METRICS_PORT: what Prometheus scrapes from a worker container (the web's folder is out of reach)."""
    import re
    import urllib.request

    from tools.stack import free_port

    port = free_port()
    env = {"QM_WORKER_METRICS_PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker-metrics")}
    with shared_setup(tmp_path, postgres_url, name="wmetrics", env=env) as (app_with, start_worker):
        app = app_with(services.TEST_REDIS_URL)
        start_worker(worker_type="process")  # figures recorded in forked workers reach the main process's port
        with app.app_context():
            pdf = files.make_text_pdf(tmp_path / "note.pdf", ["Delivery note 77", "Six boxes of sencha"])
            with pdf.open("rb") as stream:
                document_id = service.ingest(stream, "note.pdf", user_id=None).document.id
        assert wait_for_state(app, document_id, {"processed", "failed"}).state == "processed"

        def extractions() -> float:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
            pattern = r'^quartermaster_pipeline_step_duration_seconds_count\{step="extract"\} (\S+)$'
            return sum(float(v) for v in re.findall(pattern, text, flags=re.MULTILINE))

        deadline = time.monotonic() + 10
        while extractions() < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert extractions() == 1
