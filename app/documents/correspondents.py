"""The list of correspondents and its upkeep: how many documents name each, renaming, merging, deleting.

A correspondent is added when a person types a new name on a document (`metadata._correspondent`); this module
keeps the list tidy afterwards. Renaming to a name another correspondent has (ignoring case) is a merge: every
document of the one names the other and the one disappears. Each change is one transaction with its audit row,
and every document whose correspondent's name changed gets a row in the search outbox in that transaction, so
`correspondent:"new name"` finds it once the outbox is drained (requested after the commit). Only a correspondent
that no document names, in the trash or not, can be deleted: a document's correspondent is a foreign key, and a
restored document should come back as it went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_sqlalchemy.pagination import Pagination, SelectPagination
from sqlalchemy import Select, case, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.db_types import UTCDateTime, utcnow
from app.documents.errors import DocumentError
from app.documents.metadata import MAX_CORRESPONDENT
from app.documents.models import Correspondent, Document
from app.errors import Conflict, NotFound
from app.extensions import db
from app.ops import audit
from app.querying import contains
from app.search import outbox
from app.search.models import SearchOutbox

CSV_COLUMNS = ["id", "name", "documents", "in_trash", "latest_document_date", "latest_upload", "added_at"]


class CorrespondentError(DocumentError):
    """A change to the list of correspondents was refused; nothing was changed."""


class InvalidName(CorrespondentError):
    """An empty or over-long name."""


class CorrespondentNotFound(CorrespondentError, NotFound):
    """No correspondent has that number."""


class CorrespondentInUse(CorrespondentError, Conflict):
    """Documents still name it, or the list changed under the person's feet: look again."""


@dataclass(frozen=True)
class CorrespondentFilter:
    q: str = ""  # part of the name, any case


@dataclass(frozen=True)
class CorrespondentRow:
    """One line of the list: a correspondent and what its documents add up to."""

    id: int
    name: str
    documents: int  # not in the trash: what the documents list filtered by it shows
    in_trash: int
    latest_date: date | None  # the newest document date among those documents
    latest_upload: datetime | None  # when the newest of them was uploaded (many have no document date)
    added_at: datetime

    @property
    def deletable(self) -> bool:
        return self.documents == 0 and self.in_trash == 0


def clean_name(raw: str | None) -> str:
    """A name as stored: runs of spaces made one, trimmed; `InvalidName` with a sentence when empty or too long."""
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidName("Write the correspondent's new name; it cannot be empty.")
    if len(name) > MAX_CORRESPONDENT:
        raise InvalidName(
            f"The name is {len(name):,} characters long; a correspondent's name has at most {MAX_CORRESPONDENT}."
        )
    return name


def correspondent_query(filters: CorrespondentFilter) -> Select:
    """Every correspondent matching `filters` with its counts and newest dates, by name: one grouped query."""
    live = Document.deleted_at.is_(None)
    query = (
        select(
            Correspondent.id,
            Correspondent.name,
            func.count(case((live, Document.id))).label("documents"),
            func.count(case((~live, Document.id))).label("in_trash"),
            func.max(case((live, Document.document_date))).label("latest_date"),
            func.max(case((live, Document.uploaded_at))).label("latest_upload"),
            Correspondent.created_at.label("added_at"),
        )
        .outerjoin(Document, Document.correspondent_id == Correspondent.id)
        .group_by(Correspondent.id, Correspondent.name, Correspondent.name_key, Correspondent.created_at)
        .order_by(Correspondent.name_key, Correspondent.id)
    )
    if filters.q:
        query = query.where(contains(Correspondent.name, filters.q))
    return query


def rows(query: Select) -> list[CorrespondentRow]:
    return [CorrespondentRow(**row._asdict()) for row in db.session.execute(query)]


class _RowPagination(SelectPagination):
    """`db.paginate` keeps only the first column of each row; the list needs all of them, and counts correspondents
    (not the grouped rows) for the total."""

    def _query_items(self) -> list[CorrespondentRow]:
        return rows(self._query_args["select"].limit(self.per_page).offset(self._query_offset))

    def _query_count(self) -> int:
        where = self._query_args["select"].whereclause
        counted = select(func.count(Correspondent.id))
        return db.session.scalar(counted if where is None else counted.where(where)) or 0


def page_of(query: Select) -> Pagination:
    """One page of the list (100 names a page)."""
    return _RowPagination(select=query, session=db.session, per_page=100, max_per_page=200, error_out=False)


def total() -> int:
    return db.session.scalar(select(func.count(Correspondent.id))) or 0


def get_correspondent(correspondent_id: int) -> Correspondent:
    found = db.session.get(Correspondent, correspondent_id)
    if found is None:
        raise CorrespondentNotFound(f"There is no correspondent number {correspondent_id}.")
    return found


def row_of(correspondent_id: int) -> CorrespondentRow:
    """One correspondent's line of the list (for its rename and delete pages)."""
    query = correspondent_query(CorrespondentFilter()).where(Correspondent.id == correspondent_id)
    found = rows(query)
    if not found:
        raise CorrespondentNotFound(f"There is no correspondent number {correspondent_id}.")
    return found[0]


def named(name: str) -> Correspondent | None:
    """The correspondent with that name, ignoring case."""
    return db.session.scalar(select(Correspondent).where(Correspondent.name_key == name.lower()))


@dataclass(frozen=True)
class Merge:
    """What renaming `source` to `target`'s name would do, for the question asked first."""

    source: CorrespondentRow
    target: CorrespondentRow


def merge_needed(correspondent_id: int, new_name: str) -> Merge | None:
    """The merge that renaming to `new_name` means, or None when no other correspondent has that name."""
    source = row_of(correspondent_id)
    other = named(new_name)
    if other is None or other.id == correspondent_id:
        return None
    return Merge(source, row_of(other.id))


def _locked(correspondent_id: int) -> Correspondent:
    """The correspondent, locked for this transaction (a document saved meanwhile must not name a deleted row)."""
    db.session.execute(select(Correspondent.id).where(Correspondent.id == correspondent_id).with_for_update())
    found = db.session.get(Correspondent, correspondent_id, populate_existing=True)
    if found is None:
        db.session.rollback()
        raise CorrespondentNotFound(f"There is no correspondent number {correspondent_id}.")
    return found


def _reindex_documents_of(correspondent_id: int) -> int:
    """Ask the search index, in this transaction, to re-read every document (not in the trash) naming it."""
    documents = select(Document.id, literal("upsert"), literal(utcnow(), UTCDateTime)).where(
        Document.correspondent_id == correspondent_id, Document.deleted_at.is_(None)
    )
    result = db.session.execute(insert(SearchOutbox).from_select(["document_id", "action", "queued_at"], documents))
    return result.rowcount or 0


def _commit_and_drain() -> None:
    db.session.commit()
    outbox.request_drain()


def rename(correspondent_id: int, new_name: str | None, *, user_id: int | None) -> bool:
    """Give a correspondent a new name (a change of case included); False when it already has exactly that name.

    A name another correspondent has is refused (409): that is a merge, which a person is asked about first.
    """
    name = clean_name(new_name)
    begin_write()
    correspondent = _locked(correspondent_id)
    if correspondent.name == name:
        db.session.rollback()
        return False
    other = named(name)
    if other is not None and other.id != correspondent_id:
        db.session.rollback()
        raise CorrespondentInUse(f"{other.name} is another correspondent already; renaming to it merges the two.")
    before = correspondent.name
    correspondent.name = name
    correspondent.name_key = name.lower()
    try:
        db.session.flush()
    except IntegrityError:  # someone typed that name on a document a moment ago
        db.session.rollback()
        raise CorrespondentInUse(f"A correspondent named {name} was just added; look at the list again.") from None
    reindexed = _reindex_documents_of(correspondent_id)
    audit.record_about(
        correspondent,
        "correspondent.rename",
        f"Renamed the correspondent {before} to {name}",
        user_id,
        before={"name": before},
        after={"name": name, "documents_reindexed": reindexed},
    )
    _commit_and_drain()
    return True


@dataclass(frozen=True)
class Merged:
    """What a merge did: how many documents now name the correspondent that stayed."""

    source_name: str
    target_name: str
    documents: int  # moved, the trash included


def merge(source_id: int, target_id: int, *, expected_name: str | None, user_id: int | None) -> Merged:
    """Move every document of `source` (the trash included) to `target`, then delete `source`; one transaction.

    `expected_name` is the name the person was asked about: if `target` has another name by now, nothing happens
    (409), so nobody merges into something they were not shown.
    """
    if source_id == target_id:
        raise CorrespondentInUse("A correspondent cannot be merged into itself.")
    name = clean_name(expected_name)
    begin_write()
    # Both rows locked, lower id first, so two merges of the same pair in opposite directions cannot deadlock.
    locked = {cid: _locked(cid) for cid in sorted((source_id, target_id))}
    source, target = locked[source_id], locked[target_id]
    if target.name_key != name.lower():
        db.session.rollback()
        raise CorrespondentInUse(f"The correspondent is called {target.name} now, not {name}; ask again.")
    reindexed = _reindex_documents_of(source_id)  # before they move: the same rows, read again by the drain
    moved = db.session.execute(
        update(Document)
        .where(Document.correspondent_id == source_id)
        .values(correspondent_id=target_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    source_name, target_name = source.name, target.name
    audit.record_about(
        target,
        "correspondent.merge",
        f"Merged the correspondent {source_name} into {target_name}: {moved} document{'' if moved == 1 else 's'} moved",
        user_id,
        before={"merged_id": source_id, "merged_name": source_name},
        after={"name": target_name, "documents_moved": moved, "documents_reindexed": reindexed},
    )
    db.session.delete(source)
    _commit_and_drain()
    return Merged(source_name, target_name, moved)


def delete_unused(correspondent_id: int, *, user_id: int | None) -> str:
    """Delete a correspondent that no document names (in the trash or not); its name.

    One that documents still name is refused (409), saying how many: rename it to merge it instead.
    """
    begin_write()
    correspondent = _locked(correspondent_id)
    live, trashed = db.session.execute(
        select(
            func.count(case((Document.deleted_at.is_(None), Document.id))),
            func.count(case((Document.deleted_at.is_not(None), Document.id))),
        ).where(Document.correspondent_id == correspondent_id)
    ).one()
    if live or trashed:
        db.session.rollback()
        where = f"{live} document{'' if live == 1 else 's'}" if live else ""
        if trashed:
            where += (" and " if where else "") + f"{trashed} in the trash"
        raise CorrespondentInUse(
            f"{correspondent.name} is still named by {where}; only a correspondent no document names can be "
            "deleted. Rename it to another correspondent's name to merge the two."
        )
    name = correspondent.name
    audit.record_about(
        correspondent, "correspondent.delete", f"Deleted the correspondent {name}", user_id, before={"name": name}
    )
    db.session.delete(correspondent)
    db.session.commit()
    return name
