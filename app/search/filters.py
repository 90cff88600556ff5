"""Narrowing a search: the filters a page or the CLI asks for, and the same filters in the index's spelling.

A person filters by category name, state, review, uploader (id or email), upload days and the
document's own date; the index holds lower-cased column values, user ids and naive UTC times. `Wanted.of` translates
once per search, so collecting compares plain values. Documents with a queued 'delete' in the
outbox are hidden here too, before the worker has applied it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from whoosh import query as wq
from whoosh.util.times import datetime_to_long

from app.auth.models import User
from app.extensions import db
from app.search.models import SearchOutbox
from app.search.schema import normalize_category


@dataclass(frozen=True)
class SearchFilters:
    """Narrowing a search; None leaves a filter off. `uploader` is a user id or an email address."""

    category: str | None = None
    state: str | None = None
    review: str | None = None
    uploader: int | str | None = None
    kind: str | None = None
    since: date | None = None  # uploaded on or after
    until: date | None = None  # uploaded on or before
    dated_from: date | None = None  # the document's own date on or after (undated documents left out)
    dated_until: date | None = None  # the document's own date on or before

    @classmethod
    def of(cls, value: SearchFilters | Mapping[str, Any] | None) -> SearchFilters:
        if value is None:
            return cls()
        if isinstance(value, SearchFilters):
            return value
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known and v not in (None, "")})

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) not in (None, "") for f in fields(self))


@dataclass(frozen=True)
class Wanted:
    """The filters in the index's spelling: column values, and times as Whoosh stores them."""

    category: str | None = None
    values: tuple[tuple[str, str], ...] = ()  # (column, value) that must all match
    uploaded_from: int | None = None
    uploaded_before: int | None = None
    dated_from: int | None = None
    dated_before: int | None = None

    @classmethod
    def of(cls, filters: SearchFilters) -> Wanted:
        """Translate `filters`; an uploader given by email is looked up once, by id, in the database."""
        values = [
            (column, str(value).strip().lower())
            for column, value in (("state", filters.state), ("review", filters.review), ("kind", filters.kind))
            if value
        ]
        if filters.uploader not in (None, ""):
            uploader = str(filters.uploader).strip()
            if isinstance(filters.uploader, int) or uploader.isdigit():
                values.append(("uploader_id", str(int(uploader))))
            else:  # an email address: by the user's id, so a changed address still finds their documents
                user_id = db.session.scalar(select(User.id).where(func.lower(User.email) == uploader.lower()))
                values.append(("uploader_id", str(user_id) if user_id is not None else "-"))
        return cls(
            category=normalize_category(filters.category) if filters.category else None,
            values=tuple(values),
            uploaded_from=datetime_to_long(_naive_day(filters.since)) if filters.since else None,
            uploaded_before=datetime_to_long(_naive_day(filters.until + timedelta(days=1))) if filters.until else None,
            dated_from=datetime_to_long(_naive_day(filters.dated_from)) if filters.dated_from else None,
            dated_before=(
                datetime_to_long(_naive_day(filters.dated_until + timedelta(days=1))) if filters.dated_until else None
            ),
        )

    @property
    def by_date(self) -> bool:
        return self.dated_from is not None or self.dated_before is not None


def _naive_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)  # midnight UTC, as the index stores it (naive)


def pending_deletes() -> wq.Query | None:
    """Documents with a queued 'delete': hidden before the worker applies it."""
    ids = list(db.session.scalars(select(SearchOutbox.document_id).where(SearchOutbox.action == "delete").distinct()))
    return wq.Or([wq.Term("id", str(document_id)) for document_id in ids]) if ids else None
