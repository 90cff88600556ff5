"""Who may see a document: the one rule every route that shows a document, or anything of it, goes through.

A document in the trash has left every list, review and search (see `service.delete_document`);
its page, text, preview, status, history and file must not stay reachable by number either.
Only admins open a trashed document: they decide whether it is removed for good now, and the
trash page links them to it. Staff restore from the trash page itself, which needs no document page.
Everyone else gets the same 404 as for a number that never existed, with a sentence saying where it went.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.auth.models import Role
from app.documents.models import Document
from app.extensions import db


def may_see(document: Document) -> bool:
    """Whether the signed-in person may see this document (a trashed one: admins only)."""
    return document.deleted_at is None or bool(current_user.is_authenticated and current_user.can(Role.ADMIN))


def visible_document(document_id: int | None) -> Document | None:
    """The document when it exists and the signed-in person may see it, else None."""
    if not document_id:
        return None
    document = db.session.get(Document, document_id)
    return document if document is not None and may_see(document) else None


def visible_document_or_404(document_id: int) -> Document:
    """The document, or a 404 that says why without naming the file or showing anything of it."""
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404, description=f"There is no document number {document_id}.")
    if not may_see(document):
        abort(
            404,
            description=f"Document number {document_id} is in the trash, so it cannot be opened. "
            "Staff can restore it from the trash.",
        )
    return document
