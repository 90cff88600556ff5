"""The worker's side of a document: the state machine and the sweeper.

States run `queued → processing → processed | failed`. Every transition is a
conditional UPDATE (`… WHERE state = :expected`), so two workers can never both
claim a document and a late duplicate task changes nothing. Nothing here
enqueues: the tasks (app.documents.tasks) send what these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, select, update

from app.db_types import utcnow
from app.documents import extract, metadata
from app.documents.models import ACTIVE_STATES, Document, DocumentEvent, DocumentState
from app.documents.queries import get_document
from app.extensions import db
from app.ops import workers
from app.search import outbox


def transition(
    document_id: int,
    source: DocumentState | tuple[DocumentState, ...],
    target: DocumentState,
    *conditions: ColumnElement[bool],
    **values,
) -> bool:
    """Move a document from `source` to `target` if it is still there (and `conditions` hold); False if not."""
    sources = (source,) if isinstance(source, DocumentState) else source
    now = utcnow()
    result = db.session.execute(
        update(Document)
        .where(Document.id == document_id, Document.state.in_([s.value for s in sources]), *conditions)
        .values(state=target.value, state_changed_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim(document_id: int, claimed_by: str | None = None) -> bool:
    """Take a queued document for processing; False when another worker has it, it is done, or it is being purged.

    `claimed_by` is the claiming consumer's heartbeat name: while that consumer beats, the sweeper
    knows the document is being worked on, however long it takes (up to the task time limit).
    """
    claimed = transition(
        document_id,
        DocumentState.QUEUED,
        DocumentState.PROCESSING,
        Document.purge_started_at.is_(None),  # a purge and a worker never hold the same document
        processing_started_at=utcnow(),
        failure_reason=None,
        claimed_by=claimed_by[:300] if claimed_by else None,
    )
    if claimed:
        DocumentEvent.add(document_id, "processing")
    db.session.commit()
    return claimed


def finish(
    document_id: int,
    result: extract.Extraction,
    timings: dict[str, int],
    has_thumbnail: bool,
    fields: dict[str, Any] | None = None,
) -> bool:
    """Store what the pipeline found and mark the document processed (only if this worker still holds it)."""
    done = transition(
        document_id,
        DocumentState.PROCESSING,
        DocumentState.PROCESSED,
        finished_at=utcnow(),
        text=result.text,
        pages=result.pages,
        pages_processed=result.pages_processed,
        ocr_pages=result.ocr_pages,
        notes=result.notes or None,
        timings=timings,
        has_thumbnail=has_thumbnail,
        **(fields or {}),
    )
    if done:
        words = len(result.text.split())
        notes = f"; {'; '.join(result.notes)}" if result.notes else ""
        DocumentEvent.add(document_id, "processed", f"{words} words{notes}")
        metadata.apply_suggestions(document_id, result.text)
        outbox.note_change(document_id)
    db.session.commit()
    if done:
        outbox.request_drain()
    return done


def fail(document_id: int, reason: str) -> None:
    """Mark a document failed with a reason a person can read."""
    if transition(document_id, ACTIVE_STATES, DocumentState.FAILED, finished_at=utcnow(), failure_reason=reason[:500]):
        DocumentEvent.add(document_id, "failed", reason)
        outbox.note_change(document_id)
    db.session.commit()


def release_for_retry(document_id: int, reason: str) -> int | None:
    """After a passing error: back to queued with one more attempt; None when attempts are used up (then failed)."""
    document = get_document(document_id)
    attempts = document.attempts + 1
    if attempts >= current_app.config["MAX_ATTEMPTS"]:
        db.session.rollback()
        fail(document_id, f"Gave up after {attempts} attempts. Last problem: {reason}")
        return None
    if transition(document_id, DocumentState.PROCESSING, DocumentState.QUEUED, attempts=attempts):
        DocumentEvent.add(document_id, "retry_scheduled", f"attempt {attempts + 1}: {reason}")
    db.session.commit()
    return attempts


@dataclass(frozen=True)
class SweepResult:
    requeued: list[int]
    failed: list[int]


# How long past the task time limit a beating worker may still hold a document: it has stopped the
# reader by then and is recording the failure. Later than that, something else holds it up.
TIME_LIMIT_MARGIN = timedelta(seconds=60)


def _still_running(candidates: list[Document], now) -> set[int]:
    """The processing documents whose claiming consumer still beats and whose time limit has not passed.

    A slow document (a 200-page scan) is being read, not stuck: re-sending it would read it twice
    at once. Its claimant's heartbeat tells the two apart; a consumer that was killed stops beating
    and counts as stale after three missed beats. Without a recorded claimant (claimed outside a
    consumer) nothing says it is alive, so it is treated as stuck, as before.
    """
    processing = [d for d in candidates if d.state == DocumentState.PROCESSING.value and d.claimed_by]
    alive = workers.beating({d.claimed_by for d in processing}, now)
    limit = current_app.config["TASK_TIMEOUT_SECONDS"]
    running = set()
    for document in processing:
        if document.claimed_by not in alive:
            continue
        started = document.processing_started_at or document.state_changed_at
        if limit and started < now - timedelta(seconds=limit) - TIME_LIMIT_MARGIN:
            continue  # alive, but far past the limit its own worker enforces: treat it as stuck
        running.add(document.id)
    return running


def sweep_stuck(now=None) -> SweepResult:
    """Put documents stuck in queued/processing back to queued (lost task, a worker that stopped beating); give
    up after the attempt limit. A document whose worker is alive and beating is left alone until its time limit.
    The caller sends the requeued ones to a worker after this commits."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["STUCK_AFTER_SECONDS"])
    candidates = db.session.scalars(
        select(Document).where(
            Document.state.in_([s.value for s in ACTIVE_STATES]),
            Document.state_changed_at < cutoff,
            Document.purge_started_at.is_(None),  # on its way out: no worker will take it
        )
    ).all()
    running = _still_running(list(candidates), now)
    stuck = [document for document in candidates if document.id not in running]
    requeued, failed = [], []
    for document in stuck:
        attempts = document.attempts + 1
        was = document.state
        if attempts >= current_app.config["MAX_ATTEMPTS"]:
            reason = (
                f"Processing did not finish after {attempts} attempts; retry it, or ask an admin to check the worker."
            )
            if transition(
                document.id,
                DocumentState(was),
                DocumentState.FAILED,
                finished_at=now,
                attempts=attempts,
                failure_reason=reason,
            ):
                DocumentEvent.add(document.id, "failed", f"stuck in {was}; gave up after {attempts} attempts")
                failed.append(document.id)
        elif transition(document.id, DocumentState(was), DocumentState.QUEUED, attempts=attempts):
            why = (
                f"; its worker {document.claimed_by} stopped beating"
                if was == "processing" and document.claimed_by
                else ""
            )
            since = f"{document.state_changed_at:%Y-%m-%d %H:%M:%S} UTC"
            DocumentEvent.add(document.id, "requeued", f"was {was} since {since}{why}")
            requeued.append(document.id)
    db.session.commit()
    return SweepResult(requeued, failed)
