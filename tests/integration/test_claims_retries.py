"""README claim: "Passing errors retry with back-off (10 s, 20 s, 40 s …)", up to QM_MAX_ATTEMPTS, then fail.

Proved on the real queues (SQLite and Redis), not Huey's immediate mode: an upload is queued, a
passing reading error is injected into the pipeline (the fault under test: a disk or memory
hiccup), and each retry is read back from the queue with its due time. A retry offered to the
queue before it is due goes to the schedule, as the consumer would do, and runs when its time
comes. Nothing is read twice, and the document ends processed or failed with its reason.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import create_app
from app.config import config_for_tests
from app.documents import service
from app.documents.extract import TransientExtractionError
from app.documents.models import Document, DocumentEvent
from app.documents.tasks import backoff_seconds
from app.extensions import db
from app.queue import huey
from tests.support import services

SLACK = timedelta(seconds=5)  # between computing a due time and reading it back


def test_the_back_off_schedule_is_10_20_40_seconds_doubling_to_at_most_ten_minutes():
    assert [backoff_seconds(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 600, 600]


@pytest.fixture(params=["sqlite", "redis"])
def queued_app(request, tmp_path):
    """An app whose tasks go to a real queue (SQLite file or Redis) and wait there: no consumer runs."""
    app = create_app(
        config_for_tests(
            tmp_path / "data",
            f"sqlite:///{tmp_path / 'qm.db'}",
            REDIS_URL=services.TEST_REDIS_URL if request.param == "redis" else None,
            QUEUE_NAME=f"qm-retries-{uuid.uuid4().hex[:8]}",
            MAX_ATTEMPTS=4,
        )
    )
    assert not huey.immediate
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        huey.flush()
        db.session.remove()
        db.engine.dispose()


def _utcnow_naive() -> datetime:
    """Huey (utc=True) keeps due times as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def _failing_pipeline(app, failures: int):
    """The app's own pipeline, failing with a passing error the first `failures` times it is asked."""
    real = app.extensions["document_pipeline"]
    calls = []

    def pipeline(document):
        calls.append(document.id)
        if len(calls) <= failures:
            raise TransientExtractionError("The disk was busy.")
        return real(document)

    app.extensions["document_pipeline"] = pipeline
    return calls


def _next_document_task():
    """The next process_document task on the queue; other work the change queued (index drains) is let go."""
    while (task := huey.dequeue()) is not None:
        if task.name.endswith("process_document"):
            return task
    return None


def _nothing_left_to_read() -> bool:
    return _next_document_task() is None and not any(t.name.endswith("process_document") for t in huey.scheduled())


def _run_next_retry(expected_delay: int):
    """Take the retry off the queue, check its due time, offer it early, then run it when due."""
    asked = _utcnow_naive()
    task = _next_document_task()
    assert task is not None
    assert task.eta is not None
    assert asked - SLACK <= task.eta - timedelta(seconds=expected_delay) <= asked + SLACK
    huey.execute(task)  # too early: the queue keeps it in its schedule instead of running it
    assert huey.read_schedule(task.eta - timedelta(seconds=1)) == []
    (due,) = huey.read_schedule(task.eta)
    return huey.execute(due, timestamp=task.eta)


def _document() -> Document:
    db.session.expire_all()
    return db.session.scalars(select(Document)).one()


def test_passing_errors_are_retried_after_10_20_40_seconds_then_fail_with_the_reason(queued_app):
    app = queued_app
    with app.app_context():
        calls = _failing_pipeline(app, failures=100)
        service.ingest(io.BytesIO(b"Delivery note 77: three pallets of sencha"), "note-77.txt", user_id=None)
        first = _next_document_task()
        assert first.eta is None  # the upload's own task is due at once
        assert huey.execute(first) == "retry"
        answers = []
        for attempt, delay in enumerate([10, 20, 40], start=1):
            document = _document()
            assert (document.state, document.attempts) == ("queued", attempt)
            answers.append(_run_next_retry(delay))
        assert answers == ["retry", "retry", "failed"]  # what the metric counts: the last try failed
        document = _document()
        assert document.state == "failed"
        assert document.failure_reason == "Gave up after 4 attempts. Last problem: The disk was busy."
        assert len(calls) == 4  # QM_MAX_ATTEMPTS tries, no more
        assert _nothing_left_to_read()  # nothing left to run again
        retries = db.session.scalars(
            select(DocumentEvent.detail).where(DocumentEvent.event == "retry_scheduled").order_by(DocumentEvent.id)
        ).all()
        assert [detail.split(":")[0] for detail in retries] == ["attempt 2", "attempt 3", "attempt 4"]


def test_a_document_that_recovers_on_its_retry_is_processed_once(queued_app):
    app = queued_app
    with app.app_context():
        calls = _failing_pipeline(app, failures=1)
        service.ingest(io.BytesIO(b"Invoice 4711 for twelve tins of oolong"), "invoice-4711.txt", user_id=None)
        assert huey.execute(_next_document_task()) == "retry"
        assert _run_next_retry(10) == "processed"
        document = _document()
        assert document.state == "processed"
        assert "twelve tins of oolong" in document.text
        assert len(calls) == 2
        assert _nothing_left_to_read()
