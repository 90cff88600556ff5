"""What the document pages list, and the choices their filters offer.

Each list page and its CSV export call the same query function with the same
filter object, so a download always holds what the page shows.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.auth.models import User
from app.documents.models import Document
from app.extensions import db


def uploader_choices(value: Literal["id", "email"] = "id") -> list[SelectChoice]:
    """ "Anyone", then each person who uploaded a document, by email; the value is their id or email."""
    uploaders = db.session.execute(
        select(User.id, User.email).where(User.id.in_(select(Document.uploaded_by).distinct())).order_by(User.email)
    ).all()
    return [SelectChoice("", "Anyone")] + [SelectChoice(str(i) if value == "id" else e, e) for i, e in uploaders]
