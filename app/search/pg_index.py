"""Keeping PostgreSQL's full-text rows (search_documents, search_words) in step with the database.

The same contract as the Whoosh drain (app.search.indexer): read outbox rows in id order, write the
documents' *current* state, then delete exactly the rows applied. Here the write and the delete are one
transaction, so a crash applies a row twice at worst and never loses one. Drains on many machines take
turns on a transaction-scoped advisory lock; a drain that cannot have it within LOCK_WAIT leaves the rows
to the one that holds it (which reads the outbox again before it stops) or to the next minute's drain.

What the rows hold (app.search.models.SearchDocument): the file name's words (weight A), the title's
(weight B) and the text's (weight D), once stemmed by the qm_english configuration and once as written
by qm_simple (both fold accents). Words are cut as Whoosh cuts them, letters and digits only, before
PostgreSQL sees them, so "invoice_2024-03.pdf" is invoice 2024 03 pdf in both backends.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.documents.models import Document
from app.extensions import db
from app.search.entries import Drift, document_fields, live_batches
from app.search.models import SearchDocument, SearchOutbox, SearchWord
from app.search.schema import WORD_PATTERN

log = logging.getLogger(__name__)

LOCK_KEY = 0x51_4D_53_45  # "QMSE": the advisory lock the drains and a reindex take turns on
LOCK_WAIT = "10s"
INDEXED_CHARS = 1_000_000  # of a text: a tsvector holds at most 1 MB of words (Whoosh indexes all of it)
BATCH = 500
Progress = Callable[[int, int], None]
_WORD = re.compile(WORD_PATTERN)

_UPSERT = text(
    """
    INSERT INTO search_documents (document_id, checksum, stemmed, exact, category, state, review, kind,
                                  uploader_id, uploader, tags, correspondent, uploaded_at, document_date)
    VALUES (:document_id, :checksum,
            setweight(to_tsvector('qm_english'::regconfig, :name), 'A')
              || setweight(to_tsvector('qm_english'::regconfig, :title), 'B')
              || setweight(to_tsvector('qm_english'::regconfig, :content), 'D'),
            setweight(to_tsvector('qm_simple'::regconfig, :name), 'A')
              || setweight(to_tsvector('qm_simple'::regconfig, :title), 'B')
              || setweight(to_tsvector('qm_simple'::regconfig, :content), 'D'),
            :category, :state, :review, :kind, :uploader_id, :uploader, :tags, :correspondent,
            :uploaded_at, :document_date)
    ON CONFLICT (document_id) DO UPDATE SET
        checksum = EXCLUDED.checksum, stemmed = EXCLUDED.stemmed, exact = EXCLUDED.exact,
        category = EXCLUDED.category, state = EXCLUDED.state, review = EXCLUDED.review, kind = EXCLUDED.kind,
        uploader_id = EXCLUDED.uploader_id, uploader = EXCLUDED.uploader, tags = EXCLUDED.tags,
        correspondent = EXCLUDED.correspondent, uploaded_at = EXCLUDED.uploaded_at,
        document_date = EXCLUDED.document_date
    """
)
_WORDS = text(
    """
    INSERT INTO search_words (word)
    SELECT DISTINCT u.lexeme FROM search_documents s, unnest(s.exact) AS u(lexeme, positions, weights)
    WHERE s.document_id = ANY(:ids) AND length(u.lexeme) BETWEEN 3 AND 64 AND u.lexeme !~ '^[0-9]+$'
    ORDER BY u.lexeme
    ON CONFLICT (word) DO NOTHING
    """
)


def words(value: str | None, limit: int = INDEXED_CHARS) -> str:
    """`value`'s words (letters and digits) separated by single spaces, as both backends cut them."""
    return " ".join(_WORD.findall((value or "")[:limit]))


def row(document: Document) -> dict[str, object]:
    """The search_documents row for a live document (its vectors are made in SQL from these words)."""
    fields = document_fields(document)
    tags = fields.get("tag")
    return {
        "document_id": document.id,
        "checksum": fields["checksum"],
        "name": words(document.filename),
        "title": words(fields["title"]),
        "content": words(fields["content"]),
        "category": fields.get("category"),
        "state": (document.state or "").lower(),
        "review": (fields.get("review") or "").lower() or None,
        "kind": (document.kind or "").lower() or None,
        "uploader_id": document.uploaded_by,
        "uploader": fields.get("uploader"),
        "tags": f",{','.join(tag.strip().lower() for tag in tags.split(','))}," if tags else None,
        "correspondent": fields.get("correspondent"),
        "uploaded_at": document.uploaded_at,
        "document_date": document.document_date,
    }


def _session() -> Session:
    return Session(db.engine, expire_on_commit=False)


def _take_turn(session: Session) -> bool:
    """The drains' advisory lock for this transaction; False when another writer kept it past LOCK_WAIT."""
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
    try:
        session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    except OperationalError:
        session.rollback()
        return False
    return True


def apply(session: Session, document_ids: Iterable[int]) -> None:
    """Write the current state of these documents (live ones in, the others out), in the caller's transaction."""
    ids = sorted(set(document_ids))
    live = list(session.scalars(select(Document).where(Document.id.in_(ids), Document.is_live)))
    if live:
        session.execute(_UPSERT, [row(document) for document in live])
        session.execute(_WORDS, {"ids": [document.id for document in live]})
    gone = set(ids) - {document.id for document in live}
    if gone:
        session.execute(delete(SearchDocument).where(SearchDocument.document_id.in_(sorted(gone))))


def drain(batch_size: int = 500) -> int:
    """Apply the outbox to search_documents until it is empty; return how many outbox rows were applied."""
    applied = 0
    with _session() as session:
        while True:
            if not _take_turn(session):
                log.info("search drain stopped: another drain kept the lock; rows stay queued")
                return applied
            rows = session.execute(
                select(SearchOutbox.id, SearchOutbox.document_id).order_by(SearchOutbox.id).limit(batch_size)
            ).all()
            if not rows:
                session.commit()
                return applied
            apply(session, [r.document_id for r in rows])
            session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
            session.commit()  # the rows, the words and the outbox's deletion together; the lock goes with it
            session.expunge_all()
            applied += len(rows)


def reindex(progress: Progress | None = None) -> int:
    """Write every live document's row again, drop the others and rebuild the word list; return how many.

    Searches go on meanwhile (rows are replaced, not emptied first). Outbox rows queued before the rebuild
    are settled by it; later ones are applied by the drain straight after.
    """
    done = 0
    with _session() as session:
        covered = list(session.scalars(select(SearchOutbox.id)))
        total = session.scalar(select(func.count(Document.id)).where(Document.is_live)) or 0
        session.rollback()
        if not _take_turn(session):
            raise RuntimeError("another process kept the search lock; try again when it has finished")
        session.execute(delete(SearchWord))
        session.commit()
        for batch in live_batches(session, BATCH):
            if not _take_turn(session):
                raise RuntimeError("another process kept the search lock; try again when it has finished")
            ids = [document.id for document in batch]
            session.execute(_UPSERT, [row(document) for document in batch])
            session.execute(_WORDS, {"ids": ids})
            session.commit()
            session.expunge_all()
            done += len(batch)
            if progress:
                progress(done, max(total, done))
        _take_turn(session)
        session.execute(
            delete(SearchDocument).where(SearchDocument.document_id.not_in(select(Document.id).where(Document.is_live)))
        )
        for start in range(0, len(covered), 1000):
            session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(covered[start : start + 1000])))
        session.commit()
    if progress and total == 0:
        progress(0, 0)
    drain()
    return done


def stored_checksums(session: Session, ids: Iterable[int] | None = None) -> dict[int, str]:
    """The checksum each document's row holds (all rows when `ids` is None); a document without a row is left out."""
    query = select(SearchDocument.document_id, SearchDocument.checksum)
    if ids is None:
        found = {document_id: checksum for document_id, checksum in session.execute(query)}
    else:
        wanted, found = sorted(set(ids)), {}
        for start in range(0, len(wanted), 1000):
            chunk = query.where(SearchDocument.document_id.in_(wanted[start : start + 1000]))
            found.update((document_id, checksum) for document_id, checksum in session.execute(chunk))
    session.rollback()
    return found


def indexed_ids(session: Session) -> set[int]:
    ids = set(session.scalars(select(SearchDocument.document_id)))
    session.rollback()
    return ids


def verify() -> Drift:
    """Compare search_documents with the documents: ids and checksums, row by row."""
    with _session() as session:
        pending = set(session.scalars(select(SearchOutbox.document_id).distinct()))
        session.rollback()
        indexed = stored_checksums(session)
        expected: dict[int, str] = {}
        for batch in live_batches(session, BATCH):
            for document in batch:
                expected[document.id] = document_fields(document)["checksum"]
        pending |= set(session.scalars(select(SearchOutbox.document_id).distinct()))
        session.rollback()
    return Drift.compare(expected, indexed, pending)


def count() -> int:
    """Rows in search_documents (for /readyz)."""
    with _session() as session:
        return int(session.scalar(select(func.count()).select_from(SearchDocument)) or 0)
