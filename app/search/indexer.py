"""Keeping the search index in step with the database: the outbox drain, full rebuilds, and drift checks.

Whoosh allows one writer per index, so every write happens here, under two locks:

1. the writer lock of `app.search.writer_lock` (across processes and machines, and taken over
   from a holder that went silent, so a crash cannot stop indexing for good);
2. Whoosh's own write lock (an flock the kernel drops when a process dies). If it is busy even
   though we hold (1), we leave the outbox rows for the next run instead of waiting or raising.

A drain reads outbox rows in id order, applies the documents' *current* database state (so
applying a row twice is harmless), commits the index, and only then deletes exactly the rows
it applied, by id. A crash between the two steps re-applies those rows next time.

What is indexed: live documents (`Document.is_live`: processed and not in the trash). Anything
else is removed from the index whatever the outbox row says, so the database is always the
source of truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from huey import crontab
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from whoosh.index import FileIndex, LockError

from app.documents.models import Document
from app.extensions import db
from app.queue import periodic_task, task
from app.search import backend, pg_index
from app.search import index as search_index
from app.search.entries import Drift, document_fields, live_batches
from app.search.merging import bounded_merge
from app.search.models import SearchOutbox
from app.search.schema import SCHEMA_VERSION
from app.search.writer_lock import WriterLock

log = logging.getLogger(__name__)

REBUILD_BATCH = 500
FORGET_CHUNK = 1000
Progress = Callable[[int, int], None]  # (documents done, documents in all)


class WriterBusy(RuntimeError):
    """Another process is writing the index; nothing was changed and the outbox rows stay."""


def _session() -> Session:
    """A session of our own: a drain run inline (immediate queue) must not commit or roll back the caller's."""
    return Session(db.engine, expire_on_commit=False)


def _open_writer(ix: FileIndex):
    try:
        return ix.writer(timeout=1.0)
    except LockError as error:
        raise WriterBusy("the search index is being written by another process") from error


# ---------------------------------------------------------------- the outbox drain


def drain(batch_size: int = 500) -> int:
    """Apply the outbox to the index until it is empty; return how many outbox rows were applied.

    Returns early (rows left for the next run) when another process holds the writer lock.
    Builds the index first when there is none, or when it was written with another schema.
    With QM_SEARCH_BACKEND=postgres the rows go to PostgreSQL's full-text table instead (app.search.pg_index).
    """
    if backend.uses_postgres():
        return pg_index.drain(batch_size)
    applied = 0
    for _ in range(3):
        lock = WriterLock()
        if not lock.acquire():
            log.info("search drain skipped: another process is writing the index")
            return applied
        try:
            applied += _drain_locked(lock, batch_size)
        except WriterBusy:
            log.info("search drain stopped: the index is locked by another writer; rows stay queued")
            return applied
        finally:
            lock.release()
        # A row committed while we let go found the lock taken and left it to us: look once more.
        if not outbox_backlog()[0]:
            break
    return applied


def _drain_locked(lock: WriterLock, batch_size: int) -> int:
    try:
        ix = search_index.open_current(for_writing=True)
    except search_index.IndexUnavailable as reason:
        log.info("building the search index before draining", extra={"reason": str(reason)})
        return _rebuild_locked(lock, None)[1]
    applied = 0
    with _session() as session:
        while True:
            rows = session.execute(
                select(SearchOutbox.id, SearchOutbox.document_id).order_by(SearchOutbox.id).limit(batch_size)
            ).all()
            session.rollback()  # end the read; nothing is held while the index is written
            if not rows:
                return applied
            _apply(ix, session, sorted({row.document_id for row in rows}))
            _forget(session, [row.id for row in rows])
            applied += len(rows)
            lock.refresh()


def _apply(ix: FileIndex, session: Session, document_ids: list[int]) -> None:
    """Write the current state of these documents into the index, in one commit."""
    documents = {
        document.id: document for document in session.scalars(select(Document).where(Document.id.in_(document_ids)))
    }
    entries = {
        document_id: document_fields(documents[document_id])
        for document_id in document_ids
        if document_id in documents and documents[document_id].is_live
    }
    session.rollback()
    writer = _open_writer(ix)
    try:
        for document_id in document_ids:
            if document_id in entries:
                writer.update_document(**entries[document_id])
            else:
                writer.delete_by_term("id", str(document_id))
        writer.commit(mergetype=bounded_merge)  # small merges only: the big ones wait for the night
    except BaseException:
        writer.cancel()
        raise


def _forget(session: Session, outbox_ids: Iterable[int]) -> None:
    """Delete exactly these outbox rows (rows queued meanwhile stay)."""
    ids = list(outbox_ids)
    for start in range(0, len(ids), FORGET_CHUNK):
        session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(ids[start : start + FORGET_CHUNK])))
    session.commit()


@task()
def drain_outbox() -> int:
    """Apply the search outbox now (enqueued after a change is committed)."""
    return drain()


@periodic_task(crontab(minute="*"))
def periodic_drain() -> None:
    """Every minute: apply whatever the outbox holds (covers drains that were never enqueued)."""
    drain()


# ---------------------------------------------------------------- full rebuild


def reindex(progress: Progress | None = None, *, wait: float = 60.0) -> int:
    """Build a new index from every processed, non-deleted document and swap it in; return how many.

    Searches keep using the old index until the swap. Changes made during the rebuild are in the
    outbox and are applied to the new index straight after. Raises WriterBusy when another writer
    keeps the lock for longer than `wait` seconds.
    """
    if backend.uses_postgres():
        try:
            return pg_index.reindex(progress)
        except RuntimeError as error:
            raise WriterBusy(str(error)) from error
    lock = WriterLock()
    if not lock.acquire(wait=wait):
        raise WriterBusy("another process is writing the search index; try again when it has finished")
    try:
        return _rebuild_locked(lock, progress)[0]
    finally:
        lock.release()


def _rebuild_locked(lock: WriterLock, progress: Progress | None) -> tuple[int, int]:
    """Rebuild and swap; return (documents indexed, outbox rows settled by the rebuild and the drain after it)."""
    old_write_lock = None
    try:
        old = search_index.open_current()
    except search_index.IndexUnavailable:
        old = None
    if old is not None:
        # Belt and braces: hold the old index's own write lock too, so no drain can apply (and
        # forget) a row there while the new index is built from an earlier read.
        old_write_lock = old.lock("WRITELOCK")
        if not old_write_lock.acquire(blocking=False):
            raise WriterBusy("the search index is being written by another process")
    try:
        with _session() as session:
            # Rows already queued describe changes this rebuild reads anyway; later ones are applied after.
            covered = list(session.scalars(select(SearchOutbox.id)))
            total = session.scalar(select(func.count(Document.id)).where(Document.is_live)) or 0
            session.rollback()
            path, ix = search_index.new_index()
            done = 0
            try:
                writer = ix.writer(limitmb=128)
                try:
                    with lock.kept_alive():
                        for batch in live_batches(session, REBUILD_BATCH):
                            for document in batch:
                                writer.add_document(**document_fields(document))
                            done += len(batch)
                            if progress:
                                progress(done, max(total, done))  # documents processed meanwhile may be picked up
                        writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                search_index.swap_to(path)
            except BaseException:
                search_index.discard(path)
                raise
            _forget(session, covered)
        log.info("search index rebuilt", extra={"documents": done, "directory": path.name})
        if progress and total == 0:
            progress(0, 0)
    finally:
        if old_write_lock is not None:
            old_write_lock.release()
    return done, len(covered) + _drain_locked(lock, 500)


# ---------------------------------------------------------------- drift and status


def verify() -> Drift:
    """Compare the index with the database: ids and checksums, entry by entry."""
    if backend.uses_postgres():
        return pg_index.verify()
    with _session() as session:
        pending = set(session.scalars(select(SearchOutbox.document_id).distinct()))
        session.rollback()
        location = search_index.read_pointer(search_index.search_root())
        try:
            ix = search_index.open_current()
        except search_index.IndexUnavailable as error:
            expected = set(session.scalars(select(Document.id).where(Document.is_live)))
            return Drift(missing=sorted(expected - pending), pending=len(pending), problem=str(error))
        with ix.searcher() as searcher:
            indexed = {int(stored["id"]): stored.get("checksum") for stored in searcher.all_stored_fields()}
        expected_checksums: dict[int, str] = {}
        for batch in live_batches(session, REBUILD_BATCH):
            for document in batch:
                expected_checksums[document.id] = document_fields(document)["checksum"]
        pending |= set(session.scalars(select(SearchOutbox.document_id).distinct()))
        session.rollback()
    problem = None
    if location is not None and location.outdated:
        problem = f"the index was built with schema {location.schema_version}; this code expects {SCHEMA_VERSION}"
    return Drift.compare(expected_checksums, indexed, pending, problem)


def outbox_backlog() -> tuple[int, datetime | None]:
    """How many outbox rows wait, and when the oldest was queued."""
    with _session() as session:
        count, oldest = session.execute(select(func.count(SearchOutbox.id), func.min(SearchOutbox.queued_at))).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite's aggregate comes back naive (it is UTC)
        oldest = oldest.replace(tzinfo=UTC)
    return int(count or 0), oldest


def index_status(now: datetime | None = None) -> dict[str, object]:
    """For /readyz: {"ok", "index", "documents", "backlog", "oldest_seconds"}.

    "ok" is True when the index opens; "index" is "ok" or why not. The backlog is how many
    outbox rows wait and how old the oldest is, in seconds (None when there are none).
    """
    status: dict[str, object] = {"ok": False, "index": "", "documents": None, "backlog": None, "oldest_seconds": None}
    try:
        if backend.uses_postgres():  # rows in the app's own database: there whenever the database is
            status.update(ok=True, index="ok (PostgreSQL full-text search)", documents=pg_index.count())
        else:
            with search_index.shared_searcher() as searcher:
                status["documents"] = searcher.doc_count()
            location = search_index.read_pointer(search_index.search_root())
            status["ok"] = True
            status["index"] = (
                f"outdated (schema {location.schema_version}, expected {SCHEMA_VERSION}): the worker rebuilds it"
                if location is not None and location.outdated
                else "ok"
            )
    except search_index.IndexMissing:
        status["index"] = "missing: the worker builds it within a minute (or run flask search reindex)"
    except Exception as error:  # a readiness probe reports every failure, whatever its kind
        status["index"] = f"{type(error).__name__}: {error}"[:300]
    try:
        count, oldest = outbox_backlog()
        status["backlog"] = count
        if oldest is not None:
            status["oldest_seconds"] = round(((now or datetime.now(UTC)) - oldest).total_seconds(), 1)
    except Exception as error:  # the database check reports the cause
        status["backlog"] = f"unknown ({type(error).__name__})"
    return status
