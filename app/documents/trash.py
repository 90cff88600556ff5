"""The trash: what is in it, removing documents from it for good (the purge), and retention.

Deleting a document only marks it (`deleted_at`, see `service.delete_document`); staff can restore
it for `TRASH_DAYS` days. A purge then removes it completely, in this order, so that a purge killed
at any point and run again finishes consistently:

(a) commit `purge_started_at` with an outbox 'delete' row. From here on the document cannot be
    restored, no worker claims it, and an upload of the same bytes is refused (409);
(b) the index entry goes with the outbox drain, requested after each run. The outbox row has no
    foreign key, so it outlives the document row, and the drain removes entries of documents
    that no longer exist;
(c) delete the thumbnail and the blob (a missing file is fine), the blob only when no other
    document row names the same SHA-256;
(d) delete the row with its history and reviews, in one transaction.

The row goes last, so there is never a blob without a row; the index 'delete' is committed first,
so there is never an index entry for a purged document once the drain has run. Every run also
finishes the documents whose `purge_started_at` is set (a purge that was interrupted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Row, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm.util import identity_key

from app.classify.models import Review, ReviewLease, ReviewSkip
from app.database import begin_write
from app.db_types import utcnow
from app.documents.errors import DocumentStateError
from app.documents.models import Document, DocumentEvent, DocumentNote, DocumentState, DocumentTag
from app.documents.queries import get_document
from app.documents.storage import blob_store
from app.extensions import db
from app.ops import audit
from app.search import outbox
from app.search.models import SearchDocument, SearchOutbox

log = logging.getLogger(__name__)
CHUNK = 500
PURGE_AT = (3, 15)  # the daily purge's (hour, minute) in UTC; the task's crontab is built from it
Progress = Callable[[int, int], None]  # (documents done, documents in all)


def purge_after(document: Document) -> datetime | None:
    """When a trashed document becomes due for the daily purge."""
    if document.deleted_at is None:
        return None
    return document.deleted_at + timedelta(days=current_app.config["TRASH_DAYS"])


def _due(now: datetime) -> Select[tuple[int]]:
    cutoff = now - timedelta(days=current_app.config["TRASH_DAYS"])
    return (
        select(Document.id)
        .where(
            or_(
                Document.purge_started_at.is_not(None),  # an interrupted purge: finish it
                and_(Document.deleted_at.is_not(None), Document.deleted_at <= cutoff),
            )
        )
        .order_by(Document.deleted_at, Document.id)
    )


def due_for_purge(now: datetime | None = None) -> list[Row[tuple[int, str, int, datetime, datetime | None]]]:
    """What a purge run now would remove (id, filename, size, deleted_at, purge_started_at): the dry run's list."""
    due = _due(now or utcnow()).order_by(None).subquery()
    return list(
        db.session.execute(
            select(Document.id, Document.filename, Document.size, Document.deleted_at, Document.purge_started_at)
            .join(due, due.c.id == Document.id)
            .order_by(Document.deleted_at, Document.id)
        )
    )


# ---------------------------------------------------------------- the purge of one document


@dataclass(frozen=True)
class Purged:
    document_id: int
    filename: str
    bytes_freed: int


@dataclass(frozen=True)
class _Facts:
    """What the later steps need, read once while the row still exists."""

    id: int
    sha256: str
    size: int
    filename: str


def _start(document_id: int, now: datetime, *, start: bool) -> _Facts | None:
    """Step (a): mark the document, with its index 'delete', in one commit; None when it is not to be purged."""
    begin_write()
    if start:
        result = db.session.execute(
            update(Document)
            .where(
                Document.id == document_id,
                Document.deleted_at.is_not(None),
                Document.purge_started_at.is_(None),
                Document.state != DocumentState.PROCESSING.value,  # a worker holds it: next time
            )
            .values(purge_started_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            outbox.note_change(document_id, deleted=True)
    row = db.session.execute(
        select(Document.id, Document.sha256, Document.size, Document.filename).where(
            Document.id == document_id, Document.purge_started_at.is_not(None)
        )
    ).first()
    db.session.commit()
    return _Facts(*row) if row else None


def _remove_files(facts: _Facts) -> int:
    """Step (c): the thumbnail and the blob, unless another document row names the same bytes; bytes freed."""
    # Any other row keeps the file; so does a row with this id but no purge mark (SQLite reuses a purged row's id).
    shared = db.session.scalar(
        select(func.count(Document.id)).where(
            Document.sha256 == facts.sha256, or_(Document.id != facts.id, Document.purge_started_at.is_(None))
        )
    )
    db.session.rollback()  # end the read before touching files
    if shared:
        log.info("blob kept: another document has the same bytes", extra={"document_id": facts.id})
        return 0
    store = blob_store()
    freed = store.delete_derived("thumbnails", facts.sha256)
    if store.exists(facts.sha256):
        freed += facts.size
    store.delete(facts.sha256)
    return freed


def _delete_row(facts: _Facts) -> bool:
    """Step (d): the row and everything that refers to it, in one transaction (not committed here)."""
    begin_write()
    still_here = db.session.scalar(
        select(Document.id)
        .where(Document.id == facts.id, Document.sha256 == facts.sha256, Document.purge_started_at.is_not(None))
        .with_for_update()
    )
    if still_here is None:  # another purge finished it (its id may even belong to a new document by now)
        return False
    unsynced = {"synchronize_session": False}
    db.session.execute(delete(DocumentEvent).where(DocumentEvent.document_id == facts.id), execution_options=unsynced)
    for detail in (DocumentTag, DocumentNote):  # what people filed it by goes with it
        db.session.execute(delete(detail).where(detail.document_id == facts.id), execution_options=unsynced)
    db.session.execute(delete(Review).where(Review.document_id == facts.id), execution_options=unsynced)
    # PostgreSQL search's row (QM_SEARCH_BACKEND=postgres): the drain removed it when the document left the
    # trash's view, and the foreign key cascades anyway; deleting it here keeps the purge whole on its own.
    db.session.execute(delete(SearchDocument).where(SearchDocument.document_id == facts.id), execution_options=unsynced)
    for held in (ReviewLease, ReviewSkip):  # no foreign key (they are read only beside a live document): tidy up
        db.session.execute(delete(held).where(held.document_id == facts.id), execution_options=unsynced)
    result = db.session.execute(delete(Document).where(Document.id == facts.id), execution_options=unsynced)
    loaded = db.session.identity_map.get(identity_key(Document, facts.id))
    if loaded is not None:  # a caller read it earlier: it must not be flushed or refreshed any more
        db.session.expunge(loaded)
    return result.rowcount == 1


def _purge_one(
    document_id: int, now: datetime, *, start: bool = True, record: Callable[[Purged], None] | None = None
) -> Purged | None:
    """Steps (a) to (d) for one document; None when there was nothing to do (restored, gone, held by a worker)."""
    facts = _start(document_id, now, start=start)
    if facts is None:
        return None
    freed = _remove_files(facts)
    removed = _delete_row(facts)
    purged = Purged(facts.id, facts.filename, freed)
    if removed and record is not None:
        record(purged)  # the audit row, in the row's own transaction
    db.session.commit()
    log.info("document purged", extra={"document_id": facts.id, "bytes_freed": freed, "finished_now": removed})
    return purged if removed else None


def purge_document(document_id: int, *, user_id: int | None) -> Purged:
    """Remove one trashed document for good now (an admin's "remove for good now")."""
    document = get_document(document_id)
    if document.deleted_at is None:
        raise DocumentStateError(f"{document.filename} must be in the trash before it can be removed for good.")
    if document.state == DocumentState.PROCESSING.value and document.purge_started_at is None:
        raise DocumentStateError(f"{document.filename} is being read by a worker right now; try again in a minute.")
    filename, sha256 = document.filename, document.sha256

    purged = _purge_one(document_id, utcnow(), record=_audit_single("Removed {} from the trash for good", user_id))
    outbox.request_drain()
    if purged is not None:
        return purged
    still_there = select(func.count(Document.id)).where(Document.id == document_id, Document.sha256 == sha256)
    if not db.session.scalar(still_there):
        return Purged(document_id, filename, 0)  # another purge finished it a moment ago
    raise DocumentStateError(f"{filename} was restored or taken by a worker a moment ago; look at it again.")


def _audit_single(summary: str, actor_id: int | None):
    """The audit row of a one-document purge (in its final transaction); `summary` takes the file name."""

    def record(purged: Purged) -> None:
        audit.record(
            "document.purge",
            target_type="document",
            target_id=purged.document_id,
            summary=summary.format(purged.filename),
            actor_id=actor_id,
            after={"documents": 1, "bytes_freed": purged.bytes_freed},
        )

    return record


def finish_purge(document_id: int) -> Purged | None:
    """Finish a purge that was started and interrupted (never starts one)."""
    record = _audit_single("Finished removing {} from the trash (an interrupted purge)", None)
    purged = _purge_one(document_id, utcnow(), start=False, record=record)
    outbox.request_drain()
    return purged


# ---------------------------------------------------------------- the daily run


@dataclass
class PurgeRun:
    purged: list[Purged] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # due, but restored or held by a worker meanwhile
    failed: list[int] = field(default_factory=list)  # an error; tried again next run

    @property
    def documents(self) -> int:
        return len(self.purged)

    @property
    def bytes_freed(self) -> int:
        return sum(p.bytes_freed for p in self.purged)


def purge_trash(now: datetime | None = None, progress: Progress | None = None) -> PurgeRun:
    """Purge every document in the trash longer than TRASH_DAYS (and finish interrupted purges); one audit row."""
    now = now or utcnow()
    ids = list(db.session.scalars(_due(now)))
    db.session.rollback()
    run = PurgeRun()
    for done, document_id in enumerate(ids, start=1):
        try:
            purged = _purge_one(document_id, now)
        except Exception:  # one bad document must not keep the others in the trash; it is retried next run
            db.session.rollback()
            log.exception("purge failed", extra={"document_id": document_id})
            run.failed.append(document_id)
        else:
            if purged is None:
                run.waiting.append(document_id)
            else:
                run.purged.append(purged)
        if progress:
            progress(done, len(ids))
    begin_write()
    size = f"{run.bytes_freed:,} bytes freed"
    extra = "".join(
        f"; {len(ids_)} {what}" for ids_, what in ((run.failed, "failed"), (run.waiting, "waiting")) if ids_
    )
    audit.record(
        "trash.purge",
        target_type="trash",
        target_id=None,
        summary=f"Purged {run.documents} document{'' if run.documents == 1 else 's'} from the trash ({size}){extra}",
        actor_id=None,
        after={
            "documents": run.documents,
            "bytes_freed": run.bytes_freed,
            "failed": len(run.failed),
            "waiting": len(run.waiting),
            "trash_days": current_app.config["TRASH_DAYS"],
            "ids": [p.document_id for p in run.purged][:1000],
        },
    )
    db.session.commit()
    outbox.request_drain()
    return run


# ---------------------------------------------------------------- retention


def retain(now: datetime | None = None) -> int:
    """Move documents uploaded more than RETAIN_DAYS ago to the trash (by the system); 0 when retention is off."""
    days = current_app.config["RETAIN_DAYS"]
    if days <= 0:
        return 0
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    begin_write()
    ids = list(
        db.session.scalars(
            select(Document.id)
            .where(Document.deleted_at.is_(None), Document.uploaded_at < cutoff)
            .order_by(Document.id)
        )
    )
    detail = f"moved to the trash: uploaded more than {days} days ago (QM_RETAIN_DAYS)"
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        db.session.execute(
            update(Document)
            .where(Document.id.in_(chunk))
            .values(deleted_at=now, deleted_by=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            insert(DocumentEvent), [{"document_id": i, "at": now, "event": "deleted", "detail": detail} for i in chunk]
        )
        db.session.execute(insert(SearchOutbox), [{"document_id": i, "action": "delete"} for i in chunk])
    audit.record(
        "trash.retain",
        target_type="trash",
        target_id=None,
        summary=f"Moved {len(ids)} document{'' if len(ids) == 1 else 's'} uploaded more than {days} days ago "
        "to the trash",
        actor_id=None,
        after={"documents": len(ids), "retain_days": days, "ids": ids[:1000]},
    )
    db.session.commit()
    if ids:
        outbox.request_drain()
    return len(ids)
