"""The one way to write the audit log.

Call `record()` inside the service function that makes the change, before it
commits: the audit row and the change land in the same transaction or not at
all. This module never commits.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.ops import context
from app.ops.models import AuditEvent


def record(
    action: str,
    *,
    target_type: str,
    target_id: object | None,
    summary: str,
    actor_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to the current session: who did what to which thing."""
    work = context.current()
    event = AuditEvent(
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        summary=summary[:500],
        actor_id=actor_id,
        before=before,
        after=after,
        request_id=work.request_id,
        ip=work.ip,
    )
    db.session.add(event)
    return event


def record_about(row: Any, action: str, summary: str, actor_id: int | None, **values: Any) -> AuditEvent:
    """`record` for a change to one row: the target is the row's `audit_kind` (its model says which word the log
    uses: "order", "product", ...) and its id. `values` are `before` and `after`."""
    return record(action, target_type=row.audit_kind, target_id=row.id, summary=summary, actor_id=actor_id, **values)
