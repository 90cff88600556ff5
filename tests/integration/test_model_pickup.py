"""Models and a real Huey consumer on Redis and PostgreSQL: a promoted version is used without a restart,
a retrain runs in the worker with progress a poller can see, and a retrain asked for while Redis is down says so.
"""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import select

from app.classify import categories, registry, retraining, tasks
from app.classify.models import TrainingRun
from app.documents import service
from app.documents.models import Document
from app.extensions import db
from tests.support import services
from tests.support.consumer import shared_setup

INVOICE = "INVOICE No 4711 Amount due 1,240.00 EUR payable within 30 days VAT 20% Bank transfer IBAN"


@pytest.fixture
def setup(tmp_path, postgres_url):
    """One database, one data dir (with the models) and one queue, shared by the test's app and its consumer."""
    with shared_setup(tmp_path, postgres_url, name="models", env={"QM_AUTO_ACCEPT_THRESHOLD": "0.3"}) as pair:
        yield pair


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
        first = retraining.train_candidate(per_category=30, seed=1).candidate.id
        second = retraining.train_candidate(per_category=30, seed=2, force=True).candidate.id
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
        run_id = retraining.start_retrain(user_id=None, trigger="manual", task=tasks.retrain).run.id
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
        started = retraining.start_retrain(user_id=None, trigger="manual", task=tasks.retrain)
        run = db.session.scalar(select(TrainingRun).where(TrainingRun.id == started.run.id))
        assert run.state == "failed"
        assert run.error.startswith("The task queue could not be reached, so training did not start")
        # It does not block the next attempt.
        assert retraining.run_under_way() is None
