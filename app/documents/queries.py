"""What the document pages list, and the choices their filters offer.

Each list page and its CSV export call the same query function with the same
filter object, so a download always holds what the page shows; the column
lists of the exports live here too, for the pages and the CLI alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import defer, joinedload
from wtforms.fields.choices import SelectChoice

from app.auth.models import User
from app.documents.errors import DocumentNotFound
from app.documents.models import Correspondent, Document, DocumentState, DocumentTag
from app.extensions import db
from app.querying import contains, count_rows, within_dates

SORTS = {
    "newest": (Document.uploaded_at.desc(), Document.id.desc()),
    "oldest": (Document.uploaded_at.asc(), Document.id.asc()),
    "name": (Document.filename.asc(), Document.id.asc()),
    "largest": (Document.size.desc(), Document.id.desc()),
}
CSV_COLUMNS = [
    "id",
    "filename",
    "state",
    "kind",
    "mime",
    "size",
    "pages",
    "uploaded_by",
    "uploaded_at",
    "finished_at",
    "sha256",
    "failure_reason",
    "category",
    "review_state",
    "confidence",
    "title",
    "document_date",
    "correspondent",
    "tags",
]


@dataclass(frozen=True)
class DocumentFilter:
    state: str | None = None
    kind: str | None = None
    uploader_id: int | None = None
    category_id: int | None = None
    review_state: str | None = None
    since: date | None = None
    until: date | None = None
    q: str = ""
    sort: str = "newest"
    tag: str = ""  # lower-cased, as tags are stored
    correspondent_id: int | None = None
    dated_from: date | None = None  # the document's own date (an invoice's date), not the upload's
    dated_until: date | None = None


def document_query(filters: DocumentFilter) -> Select[tuple[Document]]:
    """Documents not in the trash matching `filters`; without their text, which no list or export shows."""
    query = select(Document).options(defer(Document.text)).where(Document.deleted_at.is_(None))
    if filters.state:
        query = query.where(Document.state == filters.state)
    if filters.kind:
        query = query.where(Document.kind == filters.kind)
    if filters.uploader_id:
        query = query.where(Document.uploaded_by == filters.uploader_id)
    if filters.category_id:
        query = query.where(Document.category_id == filters.category_id)
    if filters.review_state:
        query = query.where(Document.review_state == filters.review_state)
    query = query.where(within_dates(Document.uploaded_at, filters.since, filters.until))
    if filters.q:
        query = query.where(or_(contains(Document.filename, filters.q), contains(Document.title, filters.q)))
    if filters.tag:
        tagged = select(DocumentTag.id).where(DocumentTag.document_id == Document.id, DocumentTag.tag == filters.tag)
        query = query.where(tagged.exists())
    if filters.correspondent_id:
        query = query.where(Document.correspondent_id == filters.correspondent_id)
    if filters.dated_from:  # a document without a date is in no date range
        query = query.where(Document.document_date >= filters.dated_from)
    if filters.dated_until:
        query = query.where(Document.document_date <= filters.dated_until)
    return query.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def page_of(query: Select[tuple[Document]]) -> Pagination:
    """One page of a document list, counted without a subquery (which would select every column, text included)."""
    page = db.paginate(query, per_page=50, max_per_page=200, error_out=False, count=False)
    page.total = count_rows(query, Document.id)
    return page


TRASH_CSV_COLUMNS = [
    "id",
    "filename",
    "kind",
    "size",
    "uploaded_at",
    "uploaded_by",
    "deleted_at",
    "deleted_by",
    "purge_after",
    "being_removed",
    "sha256",
]


@dataclass(frozen=True)
class TrashFilter:
    q: str = ""
    deleted_by: int | None = None
    system_only: bool = False  # moved there by retention
    since: date | None = None  # deleted on or after
    until: date | None = None  # deleted on or before


def trash_query(filters: TrashFilter) -> Select[tuple[Document]]:
    """Documents in the trash matching `filters`, most recently deleted first."""
    query = select(Document).where(Document.deleted_at.is_not(None)).options(joinedload(Document.deleter))
    if filters.q:
        query = query.where(contains(Document.filename, filters.q))
    if filters.deleted_by is not None:
        query = query.where(Document.deleted_by == filters.deleted_by)
    if filters.system_only:
        query = query.where(Document.deleted_by.is_(None))
    query = query.where(within_dates(Document.deleted_at, filters.since, filters.until))
    return query.order_by(Document.deleted_at.desc(), Document.id.desc())


def trash_count() -> int:
    return db.session.scalar(select(func.count(Document.id)).where(Document.deleted_at.is_not(None))) or 0


def trash_size() -> int:
    """Bytes of the originals in the trash (what purging them all would free, thumbnails aside)."""
    return int(db.session.scalar(select(func.sum(Document.size)).where(Document.deleted_at.is_not(None))) or 0)


def deleters() -> list[tuple[int, str]]:
    """The people who have something in the trash, for the filter menu."""
    who = select(Document.deleted_by).where(Document.deleted_at.is_not(None)).distinct()
    rows = db.session.execute(select(User.id, User.email).where(User.id.in_(who)).order_by(User.email))
    return [(user_id, email) for user_id, email in rows]


def uploader_choices(value: Literal["id", "email"] = "id") -> list[SelectChoice]:
    """ "Anyone", then each person who uploaded a document, by email; the value is their id or email."""
    uploaders = db.session.execute(
        select(User.id, User.email).where(User.id.in_(select(Document.uploaded_by).distinct())).order_by(User.email)
    ).all()
    return [SelectChoice("", "Anyone")] + [SelectChoice(str(i) if value == "id" else e, e) for i, e in uploaders]


def get_document(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    if document is None:
        raise DocumentNotFound(f"There is no document number {document_id}.")
    return document


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


def correspondent_choices() -> list[SelectChoice]:
    """ "Anyone", then every correspondent by name; the value is their id."""
    rows = db.session.execute(select(Correspondent.id, Correspondent.name).order_by(Correspondent.name_key)).all()
    return [SelectChoice("", "Anyone")] + [SelectChoice(str(i), name) for i, name in rows]


def tag_names() -> list[str]:
    """The tags in use on documents not in the trash, for the tag filter's list."""
    query = (
        select(DocumentTag.tag)
        .join(Document, Document.id == DocumentTag.document_id)
        .where(Document.deleted_at.is_(None))
        .distinct()
        .order_by(DocumentTag.tag)
    )
    return list(db.session.scalars(query))
