"""The rules of documents: storing an upload once, the state machine, the sweeper, trash and restore.

States run `queued → processing → processed | failed`. Every transition is a
conditional UPDATE (`… WHERE state = :expected`), so two workers can never both
claim a document and a late duplicate task changes nothing. Enqueueing happens
after the commit; if it fails (Redis down) the document is still `queued` and
`sweep_stuck` hands it to a worker later. Nothing here reads `request`.

Deleting moves a document to the trash (`deleted_at`); restoring takes it out
again unless a purge has begun (`purge_started_at`). The purge itself, and the
trash listing and retention, are in `app.documents.trash`.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.db_types import utcnow
from app.documents import extract
from app.documents.models import ACTIVE_STATES, Document, DocumentEvent, DocumentState
from app.documents.storage import BlobTooLarge, blob_store
from app.errors import DomainError
from app.extensions import db
from app.ops import audit, workers
from app.search import outbox

log = logging.getLogger(__name__)
MAX_FILENAME = 255


class DocumentError(DomainError):
    """An upload or document action was refused; nothing was stored or changed."""


class EmptyUpload(DocumentError):
    pass


class UploadTooLarge(DocumentError):
    status_code = 413


class UnsupportedUpload(DocumentError):
    status_code = 415


class DocumentNotFound(DocumentError):
    status_code = 404


class DocumentStateError(DocumentError):
    status_code = 409


class BeingPurged(DocumentStateError):
    """The document is being removed from the trash for good: it cannot come back, nor its bytes be taken in."""


def safe_filename(raw: str | None) -> str:
    """The name to show and to offer on download: no folders, no control characters, at most 255 characters."""
    name = (raw or "").replace("\x00", "")
    name = PureWindowsPath(PurePosixPath(name).name).name  # drop any ../ or C:\ part
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        return "unnamed"
    if len(name) > MAX_FILENAME:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            name = stem[: MAX_FILENAME - len(suffix) - 1] + "." + suffix
        else:
            name = name[:MAX_FILENAME]
    return name


def get_document(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    if document is None:
        raise DocumentNotFound(f"There is no document number {document_id}.")
    return document


def _event(document_id: int, event: str, detail: str | None = None, user_id: int | None = None) -> None:
    db.session.add(
        DocumentEvent(document_id=document_id, event=event, detail=(detail or "")[:500] or None, user_id=user_id)
    )


@dataclass(frozen=True)
class Ingested:
    document: Document
    duplicate: bool  # True: these bytes were uploaded before; `document` is the earlier one


def ingest(stream: BinaryIO, filename: str | None, *, user_id: int | None) -> Ingested:
    """Store an uploaded file once and queue it; the same bytes again link to the existing document."""
    name = safe_filename(filename)
    store = blob_store()
    started = time.perf_counter()
    try:
        blob = store.put(stream, max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
    except BlobTooLarge as error:
        limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        raise UploadTooLarge(f"{name} is {error}: the limit is {limit} MB. Nothing was stored.") from None
    if blob.size == 0:
        store.delete(blob.sha256)  # never a document: empty files are refused
        raise EmptyUpload(f"{name} is empty (0 bytes). Nothing was stored.")

    existing = db.session.scalar(select(Document).where(Document.sha256 == blob.sha256))
    if existing is not None and existing.purge_started_at is not None:
        _refuse_while_purging(existing, name)
    if existing is not None and existing.deleted_at is not None:
        return _restore(existing, name, user_id)
    if existing is not None:
        return _duplicate(existing, name, user_id)
    if not store.exists(blob.sha256):
        # A purge of the same bytes finished between our write and our look-up, and took the file with it.
        blob = _store_again(stream, name, store)
    try:
        detected = extract.detect_type(blob.path)
    except extract.ExtractionError as error:  # not a kind we read, or broken beyond recognising
        store.delete(blob.sha256)  # no document refers to these bytes
        raise UnsupportedUpload(f"{name}: {error} Nothing was stored.") from None

    document = Document(
        sha256=blob.sha256,
        filename=name,
        size=blob.size,
        mime=detected.mime,
        kind=detected.kind,
        uploaded_by=user_id,
        timings={"store": round((time.perf_counter() - started) * 1000)},
    )
    db.session.add(document)
    try:
        db.session.flush()
    except IntegrityError:
        # The same bytes were committed by a concurrent upload a moment ago.
        db.session.rollback()
        return _duplicate(db.session.scalar(select(Document).where(Document.sha256 == blob.sha256)), name, user_id)
    _event(document.id, "uploaded", f"{name}, {blob.size} bytes, {detected.mime}", user_id)
    audit.record(
        "document.upload",
        target_type="document",
        target_id=document.id,
        summary=f"Uploaded {name}",
        actor_id=user_id,
        after={"sha256": blob.sha256, "size": blob.size, "mime": detected.mime},
    )
    db.session.commit()
    enqueue(document.id)  # the index learns of it when it is processed
    return Ingested(document, duplicate=False)


def _refuse_while_purging(document: Document, name: str) -> None:
    """Bytes of a document mid-purge: keep nothing (our copy may have re-created a removed file), finish it soon."""
    blob_store().delete(document.sha256)
    document_id = document.id
    db.session.rollback()
    from app.documents.tasks import finish_purge

    try:  # an interrupted purge must not block these bytes until the daily run
        finish_purge(document_id)
    except Exception:
        log.warning("could not enqueue the purge", extra={"document_id": document_id}, exc_info=True)
    raise BeingPurged(
        f"{name}: the same file is being removed from the trash for good; try again in a minute. Nothing was stored."
    )


def _store_again(stream: BinaryIO, name: str, store):
    """Write the upload a second time (its first copy was removed by a purge that finished meanwhile)."""
    try:
        stream.seek(0)
        return store.put(stream, max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
    except (OSError, ValueError, AttributeError):
        raise BeingPurged(
            f"{name}: the same file was just removed from the trash for good; upload it again. Nothing was stored."
        ) from None


def _untrash(document_id: int) -> bool:
    """Clear the trash marks, unless a purge has begun (a conditional UPDATE: the purge's start is one too)."""
    result = db.session.execute(
        update(Document)
        .where(Document.id == document_id, Document.deleted_at.is_not(None), Document.purge_started_at.is_(None))
        .values(deleted_at=None, deleted_by=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _restore(document: Document, name: str, user_id: int | None) -> Ingested:
    """The bytes of a deleted document uploaded again: bring it back (its original is kept, or stored again)."""
    begin_write()
    if not _untrash(document.id):
        _refuse_while_purging(document, name)
    _event(document.id, "restored", f"uploaded again as {name}", user_id)
    audit.record(
        "document.restore",
        target_type="document",
        target_id=document.id,
        summary=f"Restored {document.filename} by uploading it again",
        actor_id=user_id,
    )
    # A document purged before purges removed the row kept it without text: read it again.
    purged = document.text is None and document.state == DocumentState.PROCESSED.value and document.finished_at
    if purged:
        document.state = DocumentState.QUEUED.value
        document.attempts = 0
    outbox.note_change(document.id)
    db.session.commit()
    if purged:
        enqueue(document.id)
    outbox.request_drain()
    return Ingested(document, duplicate=False)


def delete_document(document_id: int, *, user_id: int | None) -> Document:
    """Move a document to the trash: out of every list, review and search at once; restorable until purged."""
    document = get_document(document_id)
    if document.deleted_at is not None:
        raise DocumentStateError(f"{document.filename} was already deleted.")
    document.deleted_at = utcnow()
    document.deleted_by = user_id
    _event(document.id, "deleted", "moved to the trash", user_id)
    audit.record(
        "document.delete",
        target_type="document",
        target_id=document.id,
        summary=f"Moved {document.filename} to the trash",
        actor_id=user_id,
    )
    outbox.note_change(document.id, deleted=True)
    db.session.commit()
    outbox.request_drain()
    return document


def restore_document(document_id: int, *, user_id: int | None) -> Document:
    """Take a document out of the trash: back in the lists, review and search (refused once a purge has begun)."""
    begin_write()
    document = get_document(document_id)
    if document.deleted_at is None:
        raise DocumentStateError(f"{document.filename} is not in the trash.")
    gone = f"{document.filename} is being removed from the trash for good; it can no longer be restored."
    if document.purge_started_at is not None:
        raise BeingPurged(gone)
    if not blob_store().exists(document.sha256):
        raise DocumentStateError(
            f"The file of {document.filename} was already removed; upload it again to bring the document back."
        )
    if not _untrash(document_id):  # a purge began between our read and our write
        raise BeingPurged(gone)
    _event(document_id, "restored", "from the trash", user_id)
    audit.record(
        "document.restore",
        target_type="document",
        target_id=document_id,
        summary=f"Restored {document.filename} from the trash",
        actor_id=user_id,
    )
    outbox.note_change(document_id)
    db.session.commit()
    outbox.request_drain()
    return get_document(document_id)


def _duplicate(existing: Document, name: str, user_id: int | None) -> Ingested:
    _event(existing.id, "uploaded_again", f"as {name}", user_id)
    db.session.commit()
    return Ingested(existing, duplicate=True)


def enqueue(document_id: int, delay: float | None = None) -> bool:
    """Hand the document to a worker; False (and a log line) when the queue cannot be reached."""
    from app.documents.tasks import process_document

    try:
        if delay:
            process_document.schedule((document_id,), delay=delay)
        else:
            process_document(document_id)
    except Exception:  # the queue is down: the document stays queued and the sweeper re-sends it
        log.warning("could not enqueue document", extra={"document_id": document_id}, exc_info=True)
        return False
    return True


def _transition(
    document_id: int,
    source: DocumentState | tuple[DocumentState, ...],
    target: DocumentState,
    *conditions: ColumnElement[bool],
    **values,
) -> bool:
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
    claimed = _transition(
        document_id,
        DocumentState.QUEUED,
        DocumentState.PROCESSING,
        Document.purge_started_at.is_(None),  # a purge and a worker never hold the same document
        processing_started_at=utcnow(),
        failure_reason=None,
        claimed_by=claimed_by[:300] if claimed_by else None,
    )
    if claimed:
        _event(document_id, "processing")
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
    done = _transition(
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
        _event(document_id, "processed", f"{words} words" + (f"; {'; '.join(result.notes)}" if result.notes else ""))
        outbox.note_change(document_id)
    db.session.commit()
    if done:
        outbox.request_drain()
    return done


def fail(document_id: int, reason: str) -> None:
    """Mark a document failed with a reason a person can read."""
    if _transition(document_id, ACTIVE_STATES, DocumentState.FAILED, finished_at=utcnow(), failure_reason=reason[:500]):
        _event(document_id, "failed", reason)
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
    if _transition(document_id, DocumentState.PROCESSING, DocumentState.QUEUED, attempts=attempts):
        _event(document_id, "retry_scheduled", f"attempt {attempts + 1}: {reason}")
    db.session.commit()
    return attempts


def retry(document_id: int, *, user_id: int | None) -> Document:
    """A person asks to process a failed document again."""
    document = get_document(document_id)
    if not _transition(document_id, DocumentState.FAILED, DocumentState.QUEUED, attempts=0, failure_reason=None):
        db.session.rollback()
        raise DocumentStateError(f"{document.filename} is {document.state}; only a failed document can be retried.")
    _event(document_id, "retried", None, user_id)
    audit.record(
        "document.retry",
        target_type="document",
        target_id=document_id,
        summary=f"Retried {document.filename}",
        actor_id=user_id,
    )
    db.session.commit()
    enqueue(document_id)
    return get_document(document_id)


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
    """Re-send documents stuck in queued/processing (lost task, a worker that stopped beating); give up after the
    attempt limit. A document whose worker is alive and beating is left alone until its task time limit."""
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
            if _transition(
                document.id,
                DocumentState(was),
                DocumentState.FAILED,
                finished_at=now,
                attempts=attempts,
                failure_reason=reason,
            ):
                _event(document.id, "failed", f"stuck in {was}; gave up after {attempts} attempts")
                failed.append(document.id)
        elif _transition(document.id, DocumentState(was), DocumentState.QUEUED, attempts=attempts):
            why = (
                f"; its worker {document.claimed_by} stopped beating"
                if was == "processing" and document.claimed_by
                else ""
            )
            _event(document.id, "requeued", f"was {was} since {document.state_changed_at:%Y-%m-%d %H:%M:%S} UTC{why}")
            requeued.append(document.id)
    db.session.commit()
    for document_id in requeued:
        enqueue(document_id)
    return SweepResult(requeued, failed)


def state_counts() -> dict[str, int]:
    """How many documents are in each state, counted now (never a running total that can drift)."""
    counts = dict.fromkeys((s.value for s in DocumentState), 0)
    query = select(Document.state, func.count(Document.id)).where(Document.deleted_at.is_(None))
    for state, number in db.session.execute(query.group_by(Document.state)):
        counts[state] = number
    return counts


def kind_counts() -> dict[str, int]:
    query = select(Document.kind, func.count(Document.id)).where(Document.deleted_at.is_(None))
    return dict(db.session.execute(query.group_by(Document.kind)).all())
