"""The memory of people's decisions: a document like one a person already filed is suggested the same category.

A model learns only when it is retrained and promoted; a person's first decisions on a new kind of document
should help with the next one at once. So every reviewed document's text is kept here as a vector (a hashed
TF-IDF of the text the model reads, `runtime.prepare`), and the classify step asks for the nearest one: when
it is similar enough (cosine similarity at least `SUGGEST_AT`, measured by bench/memory.py and written down
in docs/DECISIONS.md), its category is suggested first, with the reason ("Like invoice_0412.pdf, filed as
invoice by Ana"). How the memory and the model combine is `service.classify_text`'s.

What it remembers is the reviews table's: a document's latest review, while the document is live and the
category active. An undone review is deleted, so the document drops out (or falls back to its earlier
review); a document in the trash drops out and comes back if restored. Texts `evaluation.is_held_out` keeps
for measuring models are never remembered: a model measured on a text the memory has seen would look better
than it is, once the memory's suggestions reach the measurements through people accepting them.

Only the vectors are stored (`memory_entries`, one row per reviewed document, written in the review's own
transaction), as sparse hashed counts without IDF weights: the weights are applied when a process loads the
rows, so they can change without rewriting anything, and `rebuild` recomputes every row from the reviews.
Each process keeps the vectors as one float32 matrix and answers with one matrix-vector product, no SQL on the
way of a document. It re-reads only when told (`note_change`, a stamp file beside the models' one, written
after every review and undo) or every `CHECK_SECONDS` (deletions, restores, other hosts): first a count and
a sum of review ids, then only the new rows, and everything again only when something was taken away.

It needs numpy and the standard library only (no scikit-learn): the web and the worker images run it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import Boolean, LargeBinary, String, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.models import User
from app.classify import evaluation, registry, runtime
from app.classify.models import Category, Review
from app.classify.vectors import DIMENSIONS, MAX_CHARS, decode, encode, features, product, text_vector, vector
from app.db_types import UTCDateTime, utcnow
from app.documents.models import Document
from app.extensions import db

log = logging.getLogger(__name__)

SCHEME = "hash256-tf1"  # what a stored row means; bump when `features` changes and the rows are recomputed
SUGGEST_AT = 0.65  # cosine similarity from which the nearest reviewed document's category is suggested
AUTO_ACCEPT_AT = 0.90  # ... and from which it is accepted without a person (see service.classify_text)
CHECK_SECONDS = 30.0  # the longest a process goes without asking the database whether the memory changed
CHANGED_STAMP = "memory-changed"  # a file in the models folder, rewritten after every review and undo
REASON_PREFIX = evaluation.MEMORY_REASON_PREFIX  # how the memory's reasons start (the acceptance rate leaves them out)
_FILENAME_MAX = 80


class MemoryEntry(db.Model):
    """One reviewed document's text as the memory keeps it (which category, and by whom, is in its reviews)."""

    __tablename__ = "memory_entries"

    # No foreign key to documents (as review_leases): read only joined to a live document, so a purged document's
    # row is inert and the purge need not know this table; `backfill` clears such rows.
    document_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    scheme: Mapped[str] = mapped_column(String(32))
    # Kept for measuring models (evaluation.is_held_out): recorded, so it is not looked at again, never used.
    held_out: Mapped[bool] = mapped_column(Boolean)
    features: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ---------------------------------------------------------------- remembering (in the review's transaction)


def _insert() -> Any:
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(MemoryEntry)


def _row(document_id: int, text: str | None) -> dict[str, Any]:
    """A document's row: its features, or none when it is held out or has no words (then it is only marked done)."""
    held_out = bool(text) and evaluation.is_held_out(text)
    prepared = runtime.prepare(text, MAX_CHARS) if text and not held_out else ""
    data = encode(*features(prepared)) if prepared else None
    return {"document_id": document_id, "scheme": SCHEME, "held_out": held_out, "features": data}


def remember(document: Document) -> None:
    """Keep a reviewed document's text (or note that it is held out), in the caller's transaction.

    Which category it stands for is not stored here: it is the document's latest review, so a later review or
    an undo needs nothing from this module but `note_change` after the commit.
    """
    statement = _insert().values(**_row(document.id, document.text))
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[MemoryEntry.document_id],
            set_={k: statement.excluded[k] for k in ("scheme", "held_out", "features")},
            where=MemoryEntry.scheme != SCHEME,
        )
    )


def note_change() -> None:
    """After a review or an undo is committed: every process sharing the models folder looks again."""
    stamp = registry.models_dir() / CHANGED_STAMP
    temp = stamp.with_name(f".{CHANGED_STAMP}-{os.getpid()}-{threading.get_ident()}")
    temp.write_text(str(time.time_ns()))
    os.replace(temp, stamp)


def _latest_reviews():
    return (
        select(Review.document_id.label("document_id"), func.max(Review.id).label("review_id"))
        .group_by(Review.document_id)
        .subquery()
    )


def backfill(connection) -> int:
    """Add the rows a reviewed document is missing (reviews from before the memory, or of an older scheme)."""
    connection.execute(delete(MemoryEntry).where(MemoryEntry.scheme != SCHEME))
    connection.execute(delete(MemoryEntry).where(MemoryEntry.document_id.not_in(select(Document.id))))  # purged
    latest = _latest_reviews()
    missing = connection.execute(
        select(Document.id, Document.text)
        .join(latest, latest.c.document_id == Document.id)
        .outerjoin(MemoryEntry, MemoryEntry.document_id == Document.id)
        .where(MemoryEntry.document_id.is_(None))
    ).all()
    rows = [_row(document_id, text) for document_id, text in missing]
    if rows:
        dialect = connection.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(MemoryEntry)
        connection.execute(insert.on_conflict_do_nothing(index_elements=[MemoryEntry.document_id]), rows)
    return len(rows)


def rebuild() -> int:
    """Forget every row and recompute them all from the reviews (after a change of `features`, or to check)."""
    db.session.execute(delete(MemoryEntry))
    added = backfill(db.session.connection())
    db.session.commit()
    note_change()
    return added


# ---------------------------------------------------------------- what a process holds


@dataclass(frozen=True)
class Remembered:
    document_id: int
    review_id: int
    category_key: str
    filename: str
    user_id: int | None


@dataclass(frozen=True)
class Match:
    """The nearest reviewed document and how alike the two texts are (cosine similarity, 0 to 1)."""

    similarity: float
    document_id: int
    filename: str
    category_key: str
    category_name: str
    reviewer: str

    @property
    def reason(self) -> str:
        """The sentence shown with the suggestion: it names the document (linked by templates/classify/_reason.html)."""
        tail = f", filed as {self.category_name} by {self.reviewer} (document {self.document_id}, "
        tail += f"{math.floor(self.similarity * 100)}% alike)."
        room = max(200 - len(REASON_PREFIX) - len(tail), 20)
        name = (
            self.filename
            if len(self.filename) <= min(room, _FILENAME_MAX)
            else self.filename[: min(room, _FILENAME_MAX) - 1] + "…"
        )
        return f"{REASON_PREFIX}{name}{tail}"[:200]


@dataclass(frozen=True)
class State:
    """One consistent picture of the memory: row i of `matrix` is `entries[i]`'s text."""

    matrix: np.ndarray
    entries: tuple[Remembered, ...]
    category_names: dict[str, str] = field(default_factory=dict)
    reviewers: dict[int, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.entries)

    @property
    def signature(self) -> tuple[int, int]:
        return (len(self.entries), sum(entry.review_id for entry in self.entries))

    @property
    def last_review_id(self) -> int:
        return max((entry.review_id for entry in self.entries), default=0)

    def nearest(self, query: np.ndarray) -> Match | None:
        """The most similar remembered document to a unit vector; None when nothing is remembered."""
        if not self.entries or not query.any():
            return None
        similarities = product(self.matrix, query)
        best = int(similarities.argmax())
        entry = self.entries[best]
        return Match(
            similarity=float(similarities[best]),
            document_id=entry.document_id,
            filename=entry.filename,
            category_key=entry.category_key,
            category_name=self.category_names.get(entry.category_key, entry.category_key),
            reviewer=self.reviewers.get(entry.user_id, "someone") if entry.user_id is not None else "the system",
        )

    def merged(self, rows: list[tuple[Remembered, np.ndarray]]) -> State:
        """This state with newer reviews: a document decided again keeps its row, with its new decision."""
        entries = list(self.entries)
        at = {entry.document_id: i for i, entry in enumerate(entries)}
        added: list[np.ndarray] = []
        for entry, row in rows:
            if entry.document_id in at:
                entries[at[entry.document_id]] = entry  # same text, same vector
            else:
                at[entry.document_id] = len(entries)
                entries.append(entry)
                added.append(row)
        matrix = np.vstack([self.matrix, *added]) if added else self.matrix
        return State(matrix, tuple(entries), self.category_names, self.reviewers)


EMPTY = State(np.zeros((0, DIMENSIONS), dtype=np.float32), ())


def _remembered(*columns: Any, since: int = 0):
    """The rows the memory holds: latest reviews of live documents, in active categories, not held out."""
    latest = _latest_reviews()
    return (
        select(*columns)
        .select_from(MemoryEntry)
        .join(latest, latest.c.document_id == MemoryEntry.document_id)
        .join(Review, Review.id == latest.c.review_id)
        .join(Category, Category.id == Review.chosen_category_id)
        .join(Document, Document.id == MemoryEntry.document_id)
        .where(
            MemoryEntry.scheme == SCHEME,
            MemoryEntry.held_out.is_(False),
            MemoryEntry.features.is_not(None),
            Document.deleted_at.is_(None),
            Category.active.is_(True),
            Review.id > since,
        )
    )


def _rows(connection, since: int = 0) -> list[tuple[Remembered, np.ndarray]]:
    """Remembered documents whose latest review is newer than `since`, with their vectors."""
    query = _remembered(
        MemoryEntry.document_id,
        MemoryEntry.features,
        Review.id,
        Category.key,
        Document.filename,
        Review.user_id,
        since=since,
    ).order_by(Review.id)
    return [
        (Remembered(document_id, review_id, key, filename, user_id), vector(*decode(data)))
        for document_id, data, review_id, key, filename, user_id in connection.execute(query)
    ]


def _signature(connection) -> tuple[int, int, int]:
    """What the memory should hold, in three numbers that any change moves: how many documents, the sum of their
    latest reviews' ids, and how many reviewed documents have no row yet (reviews written past `remember`)."""
    count, total = connection.execute(_remembered(func.count(), func.coalesce(func.sum(Review.id), 0))).one()
    latest = _latest_reviews()
    missing = connection.execute(
        select(func.count())
        .select_from(latest)
        .outerjoin(MemoryEntry, MemoryEntry.document_id == latest.c.document_id)
        .where(MemoryEntry.document_id.is_(None))
    ).scalar_one()
    return int(count), int(total), int(missing)


def _names(connection) -> tuple[dict[str, str], dict[int, str]]:
    """Category and reviewer names as people see them now (both tables are small)."""
    categories = dict(connection.execute(select(Category.key, Category.name)).all())
    reviewers = {
        user_id: display or email.split("@")[0]
        for user_id, display, email in connection.execute(select(User.id, User.display_name, User.email))
    }
    return categories, reviewers


def load(connection) -> State:
    """Everything, from the database: missing rows are added first (see `backfill`)."""
    added = backfill(connection)
    if added:
        log.info("memory backfilled", extra={"documents": added})
    rows = _rows(connection)
    categories, reviewers = _names(connection)
    if not rows:
        return State(EMPTY.matrix, (), categories, reviewers)
    matrix = np.vstack([row for _, row in rows])
    return State(matrix, tuple(entry for entry, _ in rows), categories, reviewers)


def _refresh(old: State | None) -> State:
    """The memory as the database has it now, reading as little as it can."""
    if old is None:
        return _load_fresh()
    connection = db.session.connection()
    *wanted, missing = _signature(connection)
    if missing:
        return _load_fresh()  # it adds the missing rows first
    categories, reviewers = _names(connection)
    if tuple(wanted) == old.signature:
        return State(old.matrix, old.entries, categories, reviewers)
    grown = old.merged(_rows(connection, since=old.last_review_id))
    if grown.signature == tuple(wanted):
        return State(grown.matrix, grown.entries, categories, reviewers)
    return _load_fresh()  # something was taken away (an undo, a deletion, a retired category): read it all


def _load_fresh() -> State:
    """`load` in a short transaction of its own, so rows it adds do not wait for (or die with) the caller's."""
    with db.engine.begin() as connection:
        return load(connection)


_states: dict[tuple[str, str], tuple[object, float, State]] = {}
_lock = threading.Lock()


def _stamp(folder: Path) -> object:
    try:
        stat = os.stat(folder / CHANGED_STAMP)
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def current() -> State:
    """This process's memory: no SQL unless the stamp changed or CHECK_SECONDS passed since the last look."""
    folder = registry.models_dir()
    key = (str(folder), current_app.config["SQLALCHEMY_DATABASE_URI"])
    identity = _stamp(folder)
    now = time.monotonic()
    with _lock:
        cached = _states.get(key)
    if cached is not None and cached[0] == identity and now - cached[1] < CHECK_SECONDS:
        return cached[2]
    state = _refresh(cached[2] if cached is not None else None)
    with _lock:
        _states[key] = (identity, now, state)
    return state


def forget_loaded() -> None:
    """Drop every process-level copy (tests; the next look reads everything again)."""
    with _lock:
        _states.clear()


def nearest(text: str | None) -> Match | None:
    """The reviewed document most like `text`, however little alike; None when nothing is remembered."""
    state = current()
    if not state.size:
        return None
    return state.nearest(text_vector(text))


def is_memory_reason(reason: str | None) -> bool:
    """Whether a document's review reason was written by the memory (its first suggestion is then the memory's)."""
    return bool(reason) and reason.startswith(REASON_PREFIX)
