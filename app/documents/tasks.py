"""Background work for documents: process, sweep up the stuck ones, purge the trash. Thin: the rules are elsewhere."""

from __future__ import annotations

import logging

from flask import current_app
from huey import crontab

from app.documents import extract, processing, trash
from app.documents.queries import get_document
from app.ops import consumer, context, metrics
from app.queue import enqueue_after_commit, periodic_task, task

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int) -> int:
    """10 s, 20 s, 40 s … at most ten minutes."""
    return min(10 * 2 ** max(attempt - 1, 0), 600)


def _retry_later(document_id: int, reason: str) -> str:
    """Send the document again after its back-off; "failed" when it has had all its attempts (the metric says so)."""
    attempts = processing.release_for_retry(document_id, reason)
    if attempts is None:
        return "failed"
    _send(document_id, delay=backoff_seconds(attempts))
    return "retry"


def _send(document_id: int, delay: float | None = None) -> None:
    enqueue_after_commit(
        process_document,
        document_id,
        delay=delay,
        fallback="the sweeper sends queued documents to a worker every minute",
        document_id=document_id,
    )


@task()
def process_document(document_id: int) -> str:
    """Read one document. Safe to run twice: only the worker that claims it does the work."""
    with context.extended(document_id=document_id):  # every log line of this run names the document
        outcome = _process(document_id)
    if outcome != "not claimed":
        metrics.count_document(outcome)
    return outcome


def _claimant() -> str | None:
    """The heartbeat name of the consumer running this task (None outside a consumer: tests, the web)."""
    identity = consumer.current_identity()
    return identity.name if identity is not None else None


def _process(document_id: int) -> str:
    if not processing.claim(document_id, claimed_by=_claimant()):
        return "not claimed"
    document = get_document(document_id)
    try:
        work = current_app.extensions["document_pipeline"](document)  # app.pipeline.run, set by create_app
    except extract.ExtractionError as error:
        if error.permanent:
            processing.fail(document_id, str(error))
            return "failed"
        return _retry_later(document_id, str(error))
    except Exception as error:  # an unforeseen problem: retry a few times, then fail with a plain reason
        log.exception("document processing failed", extra={"document_id": document_id})
        kind = error.kind if isinstance(error, extract.ChildError) else type(error).__name__
        return _retry_later(document_id, f"Unexpected problem while reading the file ({kind}).")
    timings = {**(document.timings or {}), **work.timings}  # the upload's store time, then each step's
    processing.finish(document_id, work.extraction, timings, work.has_thumbnail, work.fields)
    log.info("document processed", extra={"timings_ms": work.timings})
    return "processed"


@periodic_task(crontab(minute="*"))
def sweep_stuck_documents() -> None:
    """Every minute: re-send documents whose task was lost (a worker that stopped beating, queue down at upload)."""
    result = processing.sweep_stuck()
    for document_id in result.requeued:
        _send(document_id)
    if result.requeued or result.failed:
        log.info("swept stuck documents", extra={"requeued": result.requeued, "failed": result.failed})


@task()
def finish_purge(document_id: int) -> None:
    """Finish a purge that was interrupted (an upload of the same bytes asked for it)."""
    trash.finish_purge(document_id)


PURGE_SCHEDULE = crontab(hour=str(trash.PURGE_AT[0]), minute=str(trash.PURGE_AT[1]))  # UTC: the queue runs on UTC


@periodic_task(PURGE_SCHEDULE)
def purge_trash_daily() -> None:
    """Once a day: move documents past RETAIN_DAYS to the trash (when set), then purge the trash past TRASH_DAYS."""
    retained = trash.retain()
    run = trash.purge_trash()
    log.info(
        "trash purged",
        extra={"retained": retained, "purged": run.documents, "bytes_freed": run.bytes_freed, "failed": run.failed},
    )
