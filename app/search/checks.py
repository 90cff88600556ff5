"""What the recorded checks of the search index say: the latest ones, and their drift in sentences.

`repair` runs and records the checks; the System page, `/readyz`, `/metrics` and `flask search verify`
read them back through here.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.search.models import SearchCheck


def latest_checks(limit: int = 10) -> list[SearchCheck]:
    """The newest checks, newest first."""
    return list(db.session.scalars(select(SearchCheck).order_by(SearchCheck.id.desc()).limit(limit)))


def latest_check(scope: str | None = None) -> SearchCheck | None:
    """The newest check (of this scope)."""
    query = select(SearchCheck).order_by(SearchCheck.id.desc()).limit(1)
    if scope is not None:
        query = query.where(SearchCheck.scope == scope)
    return db.session.scalar(query)


def _documents(count: int) -> str:
    return f"{count} document{'' if count == 1 else 's'}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _entries(count: int) -> str:
    return f"{count} index entr{'y' if count == 1 else 'ies'}"


# (kind, what was wrong, what was done) for each kind of drift
_KINDS = (
    ("missing", lambda n: f"{_documents(n)} {_were(n)} missing from the index", "re-indexed"),
    ("stale", lambda n: f"{_documents(n)} {_were(n)} out of date in the index", "refreshed"),
    ("extra", lambda n: f"{_entries(n)} for deleted or unprocessed documents {_were(n)} in the index", "dropped"),
)


def describe(check: SearchCheck) -> list[str]:
    """The check's drift in sentences a person can act on (none when the index matched)."""
    found = [(getattr(check, kind), wrong, done) for kind, wrong, done in _KINDS if getattr(check, kind)]
    if not found:
        return [f"The index could not be checked: {check.problem}."] if check.problem else []
    total = sum(count for count, _, _ in found)
    if check.repaired == total:
        return [f"{wrong(count)} and {'has' if count == 1 else 'have'} been {done}." for count, wrong, done in found]
    said = [f"{wrong(count)}." for count, wrong, _ in found]
    if check.repaired:
        said.append(f"{check.repaired} of them {_were(check.repaired)} put right.")
    if check.queued:
        said.append(f"{check.queued} {_were(check.queued)} queued for the index writer, which was busy.")
    if check.unrepaired:
        reason = f" ({check.problem})" if check.problem else ""
        said.append(
            f"{check.unrepaired} {'is' if check.unrepaired == 1 else 'are'} not repaired{reason}: "
            "run flask search verify --repair (or flask search reindex)."
        )
    return said
