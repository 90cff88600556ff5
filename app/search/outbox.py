"""Writing to the search outbox: call `note_change` inside the transaction that changes a document.

The row commits or rolls back with the change itself, so the index can never miss a change
that happened nor learn of one that did not. After the commit, `request_drain` asks the
worker to apply the rows soon; if the queue is unreachable, the periodic drain picks them up.
"""

from __future__ import annotations

import logging

from app.extensions import db
from app.search.models import SearchOutbox

log = logging.getLogger(__name__)


def note_change(document_id: int, *, deleted: bool = False) -> None:
    """Record in the current transaction that a document's index entry must be refreshed (or removed)."""
    db.session.add(SearchOutbox(document_id=document_id, action="delete" if deleted else "upsert"))


def request_drain() -> None:
    """Ask a worker to apply the outbox now (after commit); never fails the caller."""
    from app.search import indexer

    try:
        indexer.drain_outbox()
    except Exception:  # the queue is down: the periodic drain applies the rows later
        log.warning("search drain not enqueued; the periodic drain will apply the outbox", exc_info=True)
