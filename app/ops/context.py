"""Who and where the current unit of work comes from: request id, client address, and what it is about.

Set by the request hooks for web requests and by tasks for background work
(a task narrows it with `extended(document_id=…)`); read by the JSON log
formatter and the audit helper, so neither needs `request`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class WorkContext:
    request_id: str | None = None
    ip: str | None = None
    user_id: int | None = None
    document_id: int | None = None


_EMPTY = WorkContext()
_current: contextvars.ContextVar[WorkContext] = contextvars.ContextVar("qm_work_context", default=_EMPTY)


def current() -> WorkContext:
    """The context of the work now running (empty outside requests and tasks)."""
    return _current.get()


def bind(context: WorkContext) -> contextvars.Token[WorkContext]:
    """Make `context` current; pass the token to `reset` when the work ends."""
    return _current.set(context)


def reset(token: contextvars.Token[WorkContext]) -> None:
    _current.reset(token)


@contextmanager
def extended(**fields: object) -> Iterator[WorkContext]:
    """The current context with some fields set, for the length of a `with` block."""
    token = _current.set(replace(_current.get(), **fields))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
