"""The search index heals itself: a check compares it with the database (a sample every hour, all of it every
night), puts right what drifted, and remembers what it found for the System page, /readyz and /metrics.

Repairs go through the outbox like every other change: a missing or stale document gets an upsert row, an
entry that should not be there a delete row, and the drain applies them under the writer lock. So a repair
never races the writer, a repair the writer cannot take now stays queued for the periodic drain, and a
document changed meanwhile is indexed as the database has it then (the drain reads the current row).

A sample is drawn uniformly from every document that should be in the index or is in it (live ids from
the database, ids from the index's term list), leaving out documents whose changes wait in the outbox.
Only the sampled documents' stored checksums are read (one term lookup each) and only their text is
loaded to work out the expected checksum, so an hourly check at 100,000 documents costs a few thousand
lookups, not a pass over the index.

What this module must not do: write to the index itself (only the drain does) or decide readiness (app.ops
reads `latest_checks` and decides).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from huey import crontab
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from whoosh.searching import Searcher

from app.db_types import utcnow
from app.documents.models import Document
from app.extensions import db
from app.ops import metrics
from app.queue import one_line, periodic_task
from app.search import backend, indexer, pg_index
from app.search import index as search_index
from app.search.models import SearchCheck, SearchOutbox
from app.search.outbox import note_change, request_drain
from app.search.schema import SCHEMA_VERSION

log = logging.getLogger(__name__)

SAMPLE_FLOOR = 500  # an hourly sample checks at least this many documents (all of them, below that)
SAMPLE_SHARE = 0.02  # … or this share of them, whichever is larger: 2,000 at 100,000 documents
KEEP_DAYS = 42  # checks older than this are forgotten (about 1,000 rows)
IDS_KEPT = 20  # drifted ids remembered per kind, for the System page and the log
CHUNK = 500
Sample = int | Literal["auto"] | None  # how many documents; "auto": the hourly size; None: all of them
Progress = Callable[[int, int], None]  # (documents checked, documents to check)


def sample_size(population: int) -> int:
    """The hourly sample: 500 documents or 2% of them, whichever is larger."""
    return max(SAMPLE_FLOOR, math.ceil(population * SAMPLE_SHARE))


@dataclass
class Findings:
    """What one look at the index found (documents with queued outbox rows are never drift)."""

    scope: str
    population: int = 0
    checked: int = 0
    missing: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    pending: set[int] = field(default_factory=set)
    problem: str | None = None  # no index, or one written with another schema

    @property
    def drifted(self) -> list[int]:
        return sorted({*self.missing, *self.extra, *self.stale})


# ---------------------------------------------------------------- reading both sides


def _session() -> Session:
    """A session of our own, so a check run inline never commits or rolls back its caller's work."""
    return Session(db.engine, expire_on_commit=False)


def _pending(session: Session) -> set[int]:
    pending = set(session.scalars(select(SearchOutbox.document_id).distinct()))
    session.rollback()
    return pending


def _live_ids(session: Session) -> set[int]:
    ids = set(session.scalars(select(Document.id).where(Document.is_live)))
    session.rollback()
    return ids


def stored_checksums(searcher: Searcher, ids: Iterable[int]) -> dict[int, str | None]:
    """The checksum each of these documents' index entry holds; an id with no entry is left out."""
    found: dict[int, str | None] = {}
    for document_id in ids:
        number = searcher.document_number(id=str(document_id))
        if number is not None:
            found[document_id] = searcher.stored_fields(number).get("checksum")
    return found


def expected_checksums(session: Session, ids: Iterable[int], progress: Progress | None = None) -> dict[int, str]:
    """The checksum the index should hold for each of these documents that should be searchable."""
    wanted = sorted(ids)
    expected: dict[int, str] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for document in session.scalars(select(Document).where(Document.id.in_(chunk), Document.is_live)):
            expected[document.id] = indexer.document_fields(document)["checksum"]
        session.expunge_all()
        session.rollback()
        if progress:
            progress(min(start + CHUNK, len(wanted)), len(wanted))
    return expected


def _indexed_ids(searcher: Searcher) -> set[int]:
    """Every id in the index's term list: cheap (no stored fields); may name entries deleted since the last merge."""
    return {int(term) for term in searcher.reader().field_terms("id")}


def _compare(findings: Findings, stored: dict[int, str | None], expected: dict[int, str]) -> None:
    pending = findings.pending
    findings.missing = sorted(set(expected) - set(stored) - pending)
    findings.extra = sorted(set(stored) - set(expected) - pending)
    findings.stale = sorted(
        document_id
        for document_id, checksum in expected.items()
        if document_id in stored and stored[document_id] != checksum and document_id not in pending
    )


def _index_problem() -> str | None:
    """Why the index cannot be checked entry by entry (none, unreadable, another schema), or None."""
    if backend.uses_postgres():
        return None  # rows in the app's own database: nothing to open
    try:
        search_index.open_current()
    except search_index.IndexUnavailable as error:
        return str(error)
    return _outdated_problem()


def _outdated_problem() -> str | None:
    if backend.uses_postgres():
        return None
    location = search_index.read_pointer(search_index.search_root())
    if location is not None and location.outdated:
        return f"the index was built with schema {location.schema_version}; this code expects {SCHEMA_VERSION}"
    return None


def look(
    sample: Sample,
    *,
    rng: random.Random | None = None,
    only: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> Findings:
    """Compare the index with the database: a sample, everything (None), or `only` these ids."""
    if backend.uses_postgres():
        return _look_postgres(sample, rng=rng, only=only, progress=progress)
    with _session() as session:
        pending = _pending(session)
        try:
            ix = search_index.open_current()
        except search_index.IndexUnavailable as error:
            live = _live_ids(session) - pending
            return Findings(
                "full" if sample is None else "sample",
                population=len(live),
                missing=sorted(live),
                pending=pending,
                problem=str(error),
            )
        with ix.searcher() as searcher:
            if only is not None:
                ids = set(only) - pending
                findings = Findings("recheck", population=len(ids), checked=len(ids), pending=pending)
                stored = stored_checksums(searcher, ids)
            elif sample is None:
                stored = {int(entry["id"]): entry.get("checksum") for entry in searcher.all_stored_fields()}
                ids = (set(stored) | _live_ids(session)) - pending
                findings = Findings("full", population=len(ids), checked=len(ids), pending=pending)
            else:
                population = sorted((_live_ids(session) | _indexed_ids(searcher)) - pending)
                size = sample_size(len(population)) if sample == "auto" else sample
                ids = set((rng or random.Random()).sample(population, min(size, len(population))))
                findings = Findings("sample", population=len(population), checked=len(ids), pending=pending)
                stored = stored_checksums(searcher, ids)
        expected = expected_checksums(session, ids, progress)
        findings.pending |= _pending(session)  # a change committed meanwhile is the drain's, not drift
    _compare(findings, stored, expected)
    findings.problem = _outdated_problem()
    return findings


def _look_postgres(
    sample: Sample, *, rng: random.Random | None, only: Iterable[int] | None, progress: Progress | None
) -> Findings:
    """`look` for PostgreSQL full-text search: the stored checksums are a column of search_documents."""
    with _session() as session:
        pending = _pending(session)
        if only is not None:
            ids = set(only) - pending
            findings = Findings("recheck", population=len(ids), checked=len(ids), pending=pending)
            stored = pg_index.stored_checksums(session, ids)
        elif sample is None:
            stored = pg_index.stored_checksums(session)
            ids = (set(stored) | _live_ids(session)) - pending
            findings = Findings("full", population=len(ids), checked=len(ids), pending=pending)
        else:
            population = sorted((_live_ids(session) | pg_index.indexed_ids(session)) - pending)
            size = sample_size(len(population)) if sample == "auto" else sample
            ids = set((rng or random.Random()).sample(population, min(size, len(population))))
            findings = Findings("sample", population=len(population), checked=len(ids), pending=pending)
            stored = pg_index.stored_checksums(session, ids)
        expected = expected_checksums(session, ids, progress)
        findings.pending |= _pending(session)
    _compare(findings, dict(stored), expected)
    return findings


# ---------------------------------------------------------------- repairing


@dataclass(frozen=True)
class Repair:
    """What became of the drifted entries: right again, queued for the writer, or still wrong."""

    repaired: int = 0
    queued: int = 0
    unrepaired: int = 0
    problem: str | None = None


def _queue(findings: Findings) -> None:
    """Outbox rows for every drifted entry, committed, in one transaction."""
    for document_id in (*findings.missing, *findings.stale):
        note_change(document_id)
    for document_id in findings.extra:
        note_change(document_id, deleted=True)
    db.session.commit()


def _drain() -> str | None:
    """Apply the outbox now, under the writer lock; the reason it could not, or None."""
    try:
        indexer.drain()
    except Exception as error:  # the check reports it; the periodic drain tries again within a minute
        log.warning("search repair: the drain failed", exc_info=True)
        return f"the index writer failed: {one_line(error)}"[:500]
    return None


def repair(findings: Findings) -> Repair:
    """Queue the drifted entries through the outbox, apply it, and look at them again to count what is right now."""
    drifted = findings.drifted
    if findings.problem:
        # No index, or an outdated one: the drain builds a fresh one from the database (one row per
        # document would only be applied to the new index again).
        problem = _drain() or _index_problem()
        if problem:
            return Repair(unrepaired=len(drifted), problem=problem)
        return Repair(repaired=len(drifted))
    if not drifted:
        return Repair()
    _queue(findings)
    failure = _drain()
    after = look(None, only=drifted)
    still = set(after.drifted)
    queued = {document_id for document_id in drifted if document_id in after.pending and document_id not in still}
    if queued:
        request_drain()  # the writer was busy: ask again (the periodic drain is the fallback)
    return Repair(
        repaired=len(drifted) - len(still) - len(queued),
        queued=len(queued),
        unrepaired=len(still),
        problem=failure if still else None,
    )


# ---------------------------------------------------------------- one check, recorded


def check(
    sample: Sample = "auto", *, fix: bool = True, rng: random.Random | None = None, progress: Progress | None = None
) -> SearchCheck:
    """Check the index (a sample, "auto" for the hourly size, or None for everything), repair what drifted
    unless `fix` is False, record the check and return its row.

    Drift is looked at twice before it counts: an entry that looked wrong because a change was committed
    and drained while the check read the two sides is right on the second look.
    """
    started_at = utcnow()
    clock = time.perf_counter()
    findings = look(sample, rng=rng, progress=progress)
    if findings.drifted and not findings.problem:
        second = look(None, only=findings.drifted)
        for kind in ("missing", "extra", "stale"):
            setattr(findings, kind, sorted(set(getattr(findings, kind)) & set(getattr(second, kind))))
    outcome = repair(findings) if fix else Repair(unrepaired=len(findings.drifted), problem=findings.problem)
    row = SearchCheck(
        started_at=started_at,
        took_ms=round((time.perf_counter() - clock) * 1000),
        scope=findings.scope,
        population=findings.population,
        checked=findings.checked,
        missing=len(findings.missing),
        extra=len(findings.extra),
        stale=len(findings.stale),
        repaired=outcome.repaired,
        queued=outcome.queued,
        unrepaired=outcome.unrepaired,
        problem=(outcome.problem or None) and outcome.problem[:500],
        drifted={
            kind: ids[:IDS_KEPT]
            for kind, ids in (("missing", findings.missing), ("extra", findings.extra), ("stale", findings.stale))
            if ids
        }
        or None,
    )
    _record(row)
    metrics.count_search_drift({"missing": row.missing, "extra": row.extra, "stale": row.stale}, repaired=row.repaired)
    if row.missing or row.extra or row.stale or row.problem:
        log.warning(
            "search index drift",
            extra={
                "scope": row.scope,
                "checked": row.checked,
                "missing": row.missing,
                "extra": row.extra,
                "stale": row.stale,
                "repaired": row.repaired,
                "queued": row.queued,
                "unrepaired": row.unrepaired,
                "problem": row.problem,
                "ids": row.drifted,
            },
        )
    return row


def _record(row: SearchCheck) -> None:
    """Keep the check, and forget the ones older than KEEP_DAYS."""
    with _session() as session:
        session.add(row)
        session.execute(delete(SearchCheck).where(SearchCheck.started_at < row.started_at - timedelta(days=KEEP_DAYS)))
        session.commit()
        session.expunge(row)


# ---------------------------------------------------------------- the schedule


@periodic_task(crontab(minute="25"))
def hourly_index_check() -> None:
    """Every hour: check a sample of the search index against the database (500 documents or 2%) and repair drift."""
    check("auto")


@periodic_task(crontab(hour="2", minute="40"))
def nightly_index_check() -> None:
    """Every night: check the whole search index against the database and repair drift."""
    check(None)
