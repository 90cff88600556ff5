"""What a person files a document by: its title, date, correspondent, tags and notes.

Each change is one function, one transaction with an audit row and a line of the document's history, and a
note in the search outbox so the index learns the new values. Input arrives as the strings a form or the CLI
sends; anything unusable is refused with `InvalidDetails` (400) before anything is written. The date and the
correspondent may also be suggested from the text by the worker (`apply_suggestions`); they stay marked as
suggested until a person saves the details or confirms them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.documents import suggest
from app.documents.errors import DocumentError, DocumentStateError
from app.documents.models import Correspondent, Document, DocumentEvent, DocumentNote, DocumentTag, default_title
from app.documents.queries import get_document
from app.extensions import db
from app.ops import audit
from app.search import outbox

MAX_TITLE = 255
MAX_CORRESPONDENT = 200
MAX_TAG = 50
MAX_TAGS = 50
MAX_NOTE = 2000


class InvalidDetails(DocumentError):
    """A title, date, correspondent, tag or note that cannot be stored; nothing was changed."""


@dataclass(frozen=True)
class Details:
    """A document's details as read from a form: every value checked and in its stored form."""

    title: str | None  # None: the file name without its extension
    document_date: date | None
    correspondent: str | None  # a name; a new one is added to the list
    tags: tuple[str, ...]


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


def read_details(*, title: str | None, document_date: str | None, correspondent: str | None, tags: str | None):
    """Check a form's strings and give the `Details` they ask for, or raise `InvalidDetails` saying what is wrong."""
    clean_title = _one_line(title)
    if len(clean_title) > MAX_TITLE:
        raise InvalidDetails(f"The title is {len(clean_title):,} characters long; at most {MAX_TITLE} fit.")
    raw_date = (document_date or "").strip()
    parsed = suggest.parse_date(raw_date) if raw_date else None
    if raw_date and parsed is None:
        shown = raw_date if len(raw_date) <= 40 else raw_date[:40] + "…"
        raise InvalidDetails(f'The document date "{shown}" is not a date; write it like 2024-04-12.')
    name = _one_line(correspondent)
    if len(name) > MAX_CORRESPONDENT:
        raise InvalidDetails(f"The correspondent's name is {len(name):,} characters long; at most {MAX_CORRESPONDENT}.")
    return Details(clean_title or None, parsed, name or None, read_tags(tags))


def read_tags(raw: str | None) -> tuple[str, ...]:
    """Tags from a comma-separated string: lower-cased, trimmed, each once, in the order written."""
    tags: list[str] = []
    for part in (raw or "").replace("\n", ",").split(","):
        tag = _one_line(part).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise InvalidDetails(
                f'The tag "{tag[:30]}…" is {len(tag):,} characters long; a tag has at most {MAX_TAG} characters.'
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidDetails(f"That is {len(tags)} tags; a document has at most {MAX_TAGS}.")
    return tuple(tags)


def correspondent_names() -> list[str]:
    """Every correspondent's name, for the list a person chooses from."""
    return list(db.session.scalars(select(Correspondent.name).order_by(Correspondent.name_key)))


def _correspondent(name: str, user_id: int | None) -> Correspondent:
    """The correspondent of that name (any case), added to the list (and audited) when new."""
    key = name.lower()
    found = db.session.scalar(select(Correspondent).where(Correspondent.name_key == key))
    if found is not None:
        return found
    try:
        with db.session.begin_nested():  # another person may add the same name at the same moment
            found = Correspondent(name=name, name_key=key)
            db.session.add(found)
            db.session.flush()
    except IntegrityError:
        return db.session.scalar(select(Correspondent).where(Correspondent.name_key == key))
    audit.record_about(found, "correspondent.create", f"Added the correspondent {name}", user_id, after={"name": name})
    return found


def _editable(document_id: int) -> Document:
    """The document, locked for this transaction (two saves of its tags at once must not interleave)."""
    begin_write()
    db.session.execute(select(Document.id).where(Document.id == document_id).with_for_update())
    get_document(document_id)  # a missing document is a 404 with a sentence
    document = db.session.get(Document, document_id, populate_existing=True)  # as it is now, after the lock
    if document.deleted_at is not None:
        raise DocumentStateError(f"{document.filename} is in the trash; restore it before changing its details.")
    return document


def _snapshot(document: Document) -> dict:
    return {
        "title": document.title,
        "document_date": document.document_date.isoformat() if document.document_date else None,
        "correspondent": document.correspondent.name if document.correspondent else None,
        "tags": document.tag_names,
    }


def update_details(document_id: int, details: Details, *, user_id: int | None) -> bool:
    """Store a document's details as a person saved them (which confirms any suggestion); False if nothing changed."""
    document = _editable(document_id)
    before = _snapshot(document)
    was_suggested = document.date_suggested or document.correspondent_suggested
    correspondent = _correspondent(details.correspondent, user_id) if details.correspondent else None
    # A title equal to the default is no title: the default keeps following the file name.
    title = None if details.title == default_title(document.filename) else details.title
    after = {
        "title": title,
        "document_date": details.document_date.isoformat() if details.document_date else None,
        "correspondent": correspondent.name if correspondent else None,
        "tags": sorted(details.tags),
    }
    before["tags"] = sorted(before["tags"])
    if after == before and not was_suggested:
        db.session.rollback()
        return False
    document.title = title
    document.document_date = details.document_date
    document.correspondent_id = correspondent.id if correspondent else None
    document.date_suggested = False
    document.correspondent_suggested = False
    if sorted(details.tags) != before["tags"]:
        db.session.execute(delete(DocumentTag).where(DocumentTag.document_id == document_id))
        if details.tags:
            db.session.execute(insert(DocumentTag), [{"document_id": document_id, "tag": t} for t in details.tags])
    changed = [key.replace("_", " ") for key in after if after[key] != before[key]] or ["suggestions confirmed"]
    DocumentEvent.add(document_id, "details_changed", ", ".join(changed), user_id)
    audit.record_about(
        document,
        "document.details",
        f"Changed the details of {document.filename}: {', '.join(changed)}",
        user_id,
        before=before,
        after=after,
    )
    outbox.note_change(document_id)
    db.session.commit()
    db.session.expire(document)
    outbox.request_drain()
    return True


def confirm_suggestions(document_id: int, *, user_id: int | None) -> bool:
    """A person agrees with the suggested date and correspondent as they are; False when nothing was suggested."""
    document = _editable(document_id)
    if not (document.date_suggested or document.correspondent_suggested):
        db.session.rollback()
        return False
    confirmed = {
        "document_date": document.document_date.isoformat()
        if document.date_suggested and document.document_date
        else None,
        "correspondent": document.correspondent.name
        if document.correspondent_suggested and document.correspondent
        else None,
    }
    document.date_suggested = False
    document.correspondent_suggested = False
    DocumentEvent.add(document_id, "details_changed", "suggestions confirmed", user_id)
    audit.record_about(
        document,
        "document.confirm_suggestions",
        f"Confirmed the suggested details of {document.filename}",
        user_id,
        after={k: v for k, v in confirmed.items() if v},
    )
    outbox.note_change(document_id)
    db.session.commit()
    outbox.request_drain()
    return True


def add_note(document_id: int, body: str | None, *, user_id: int | None) -> DocumentNote:
    """Add a note to a document (notes are never edited or removed, except with the document itself)."""
    text = (body or "").strip()
    if not text:
        raise InvalidDetails("Write something in the note before adding it.")
    if len(text) > MAX_NOTE:
        raise InvalidDetails(f"The note is {len(text):,} characters long; a note has at most {MAX_NOTE:,}.")
    document = _editable(document_id)
    note = DocumentNote(document_id=document_id, user_id=user_id, body=text)
    db.session.add(note)
    db.session.flush()
    DocumentEvent.add(document_id, "note_added", text[:80] + ("…" if len(text) > 80 else ""), user_id)
    audit.record_about(
        document, "document.note", f"Added a note to {document.filename}", user_id, after={"note_id": note.id}
    )
    db.session.commit()
    return note


def notes_of(document_id: int) -> list[DocumentNote]:
    """A document's notes, oldest first (a conversation reads top-down)."""
    return list(
        db.session.scalars(
            select(DocumentNote).where(DocumentNote.document_id == document_id).order_by(DocumentNote.id)
        )
    )


def apply_suggestions(document_id: int, text: str | None) -> None:
    """Fill in the date and correspondent read from the text, marked as suggested, in the caller's transaction.

    A value a person set (or confirmed) is never replaced; an earlier suggestion is, when the text is read again.
    """
    document = db.session.get(Document, document_id)
    if document is None:
        return
    known = db.session.execute(select(Correspondent.id, Correspondent.name)).all()
    found = suggest.suggest(text, known)
    if found.document_date and (document.document_date is None or document.date_suggested):
        document.document_date = found.document_date
        document.date_suggested = True
    if found.correspondent_id and (document.correspondent_id is None or document.correspondent_suggested):
        document.correspondent_id = found.correspondent_id
        document.correspondent_suggested = True
