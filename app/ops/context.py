"""Who and where the current unit of work comes from: request id and client address.

Set by the request hooks for web requests and by tasks for background work;
read by the JSON log formatter and the audit helper, so neither needs `request`.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkContext:
    request_id: str | None = None
    ip: str | None = None


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
