"""What people do to documents: upload (each file stored once), delete, restore, retry, sweep.

Each function is one transaction. Sending a document to a worker happens after the commit; if
that fails (Redis down) the document is still `queued` and the sweeper hands it to a worker
later. The worker's side (claim, finish, fail) is `app.documents.processing`; the direction
is views and CLI → service → tasks → processing. Nothing here reads `request`.

Deleting moves a document to the trash (`deleted_at`); restoring takes it out
again unless a purge has begun (`purge_started_at`). The purge itself, and the
trash listing and retention, are in `app.documents.trash`.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.db_types import utcnow
from app.documents import extract, processing, tasks
from app.documents.errors import BeingPurged, DocumentStateError, EmptyUpload, UnsupportedUpload, UploadTooLarge
from app.documents.models import Document, DocumentEvent, DocumentState
from app.documents.processing import SweepResult
from app.documents.queries import get_document
from app.documents.storage import BlobTooLarge, blob_store
from app.extensions import db
from app.ops import audit
from app.queue import enqueue_after_commit
from app.search import outbox

log = logging.getLogger(__name__)
MAX_FILENAME = 255


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


def _record(document_id: int, user_id: int | None, event: str, detail: str | None, action: str, summary: str, **after):
    """A line of the document's history (`event`, `detail`) and a row of the audit log (`action`, `summary`, `after`),
    in the caller's transaction."""
    DocumentEvent.add(document_id, event, detail, user_id)
    audit.record(action, target_type="document", target_id=document_id, summary=summary, actor_id=user_id, **after)


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
    _record(
        document.id,
        user_id,
        "uploaded",
        f"{name}, {blob.size} bytes, {detected.mime}",
        "document.upload",
        f"Uploaded {name}",
        after={"sha256": blob.sha256, "size": blob.size, "mime": detected.mime},
    )
    _send(document.id)  # the index learns of it when it is processed
    return Ingested(document, duplicate=False)


def _refuse_while_purging(document: Document, name: str) -> None:
    """Bytes of a document mid-purge: keep nothing (our copy may have re-created a removed file), finish it soon."""
    blob_store().delete(document.sha256)
    document_id = document.id
    db.session.rollback()
    # An interrupted purge must not block these bytes until the daily run.
    enqueue_after_commit(
        tasks.finish_purge, document_id, fallback="the daily purge finishes it", document_id=document_id
    )
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
    _record(
        document.id,
        user_id,
        "restored",
        f"uploaded again as {name}",
        "document.restore",
        f"Restored {document.filename} by uploading it again",
    )
    # A document purged before purges removed the row kept it without text: read it again.
    purged = document.text is None and document.state == DocumentState.PROCESSED.value and document.finished_at
    if purged:
        document.state = DocumentState.QUEUED.value
        document.attempts = 0
    outbox.note_change(document.id)
    db.session.commit()
    if purged:
        _send(document.id)
    outbox.request_drain()
    return Ingested(document, duplicate=False)


def delete_document(document_id: int, *, user_id: int | None) -> Document:
    """Move a document to the trash: out of every list, review and search at once; restorable until purged."""
    document = get_document(document_id)
    if document.deleted_at is not None:
        raise DocumentStateError(f"{document.filename} was already deleted.")
    document.deleted_at = utcnow()
    document.deleted_by = user_id
    _record(
        document.id,
        user_id,
        "deleted",
        "moved to the trash",
        "document.delete",
        f"Moved {document.filename} to the trash",
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
    _record(
        document_id,
        user_id,
        "restored",
        "from the trash",
        "document.restore",
        f"Restored {document.filename} from the trash",
    )
    outbox.note_change(document_id)
    db.session.commit()
    outbox.request_drain()
    return get_document(document_id)


def _duplicate(existing: Document, name: str, user_id: int | None) -> Ingested:
    DocumentEvent.add(existing.id, "uploaded_again", f"as {name}", user_id)
    db.session.commit()
    return Ingested(existing, duplicate=True)


def retry(document_id: int, *, user_id: int | None) -> Document:
    """A person asks to process a failed document again."""
    document = get_document(document_id)
    failed, queued = DocumentState.FAILED, DocumentState.QUEUED
    if not processing.transition(document_id, failed, queued, attempts=0, failure_reason=None):
        db.session.rollback()
        raise DocumentStateError(f"{document.filename} is {document.state}; only a failed document can be retried.")
    _record(document_id, user_id, "retried", None, "document.retry", f"Retried {document.filename}")
    _send(document_id)
    return get_document(document_id)


def sweep_stuck(now: datetime | None = None) -> SweepResult:
    """Put documents stuck in queued/processing back in the queue (or fail them) and send them to a worker."""
    result = processing.sweep_stuck(now)
    for document_id in result.requeued:
        _send(document_id)
    return result


def _send(document_id: int) -> bool:
    """Commit, then hand the document to a worker; when the queue is down, the sweeper sends it later."""
    return enqueue_after_commit(
        tasks.process_document,
        document_id,
        fallback="the sweeper sends queued documents to a worker every minute",
        document_id=document_id,
    )
