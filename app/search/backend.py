"""Which engine answers searches: the embedded Whoosh index (the default) or PostgreSQL full-text search.

QM_SEARCH_BACKEND=postgres (app.config) puts the words in the database the app already uses, so any number
of web and worker machines share them; the Whoosh index is one machine's directory. The outbox, the drain
and the checks are the same for both; only where the drain writes and where a search reads differ.
"""

from __future__ import annotations

from flask import current_app

from app.extensions import db


class BackendUnavailable(RuntimeError):
    """QM_SEARCH_BACKEND=postgres on a database that is not PostgreSQL."""


def uses_postgres() -> bool:
    """True when searches and the drain use PostgreSQL full-text search (raises on a database that cannot)."""
    if current_app.config.get("SEARCH_BACKEND", "whoosh") != "postgres":
        return False
    if db.engine.dialect.name != "postgresql":
        raise BackendUnavailable("QM_SEARCH_BACKEND=postgres needs DATABASE_URL to name a PostgreSQL database")
    return True
