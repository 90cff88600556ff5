"""How we talk to the database beyond the ORM: SQLite's settings, and write transactions.

SQLite allows one writer at a time. A transaction that reads first and writes
later can fail at once with "database is locked" when another writer got in
between, so service functions that must write open their transaction with
`begin_write()`: on SQLite that is `BEGIN IMMEDIATE` (take the write lock now,
waiting up to the busy timeout for it); on PostgreSQL it does nothing, because
row locks and conditional updates do the work there.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from app.extensions import db


@event.listens_for(Engine, "connect")
def _sqlite_settings(dbapi_connection, _record) -> None:
    """WAL (readers never wait for the writer), enforced foreign keys, a patient busy wait."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def begin_write() -> None:
    """Start the current session's transaction as a writer (SQLite: BEGIN IMMEDIATE)."""
    if not is_sqlite():
        return
    raw = db.session.connection().connection.dbapi_connection
    # pysqlite opens its own transaction only before the first INSERT/UPDATE/DELETE;
    # SELECTs before this point ran outside any transaction, so BEGIN is allowed.
    if not raw.in_transaction:
        db.session.execute(text("BEGIN IMMEDIATE"))


def lock_transaction(key: int) -> None:
    """Serialise the transaction just begun with others taking the same `key`: SQLite takes its write lock
    now (one writer at a time, whatever the key), PostgreSQL an advisory lock on `key` until commit."""
    if is_sqlite():
        begin_write()
    else:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
