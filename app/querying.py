"""Filter pieces every list page shares: a date range over a timestamp, a contains-search."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, func, true

from app.extensions import db


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, UTC)


def within_dates(column, since: date | None, until: date | None) -> ColumnElement[bool]:
    """`column` falls on `since` or later and on `until` or earlier (whole days, UTC); None leaves that end open."""
    condition: ColumnElement[bool] = true()
    if since:
        condition = condition & (column >= day_start(since))
    if until:
        condition = condition & (column < day_start(until + timedelta(days=1)))
    return condition


def contains(column, text: str) -> ColumnElement[bool]:
    """Case-insensitive "contains", with the user's % and _ taken literally."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def count_rows(query: Select, key: ColumnElement) -> int:
    """How many rows a list query gives, counted on its own table by `key` (its id column): no subquery, which
    would select every column (a document's text too), and no ordering."""
    return db.session.scalar(query.with_only_columns(func.count(key)).order_by(None)) or 0
