"""What the audit log page lists, and the choices its filters offer (page and CSV use the same query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select

from app.extensions import db
from app.ops.models import AuditEvent
from app.querying import within_dates

CSV_COLUMNS = ["time", "who", "action", "target_type", "target_id", "summary", "request_id", "ip"]


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    system_only: bool = False  # only what the system did by itself
    action: str | None = None
    target_type: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive


def audit_query(filters: AuditFilter) -> Select[tuple[AuditEvent]]:
    """Audit events matching `filters`, newest first (each loads its actor with it)."""
    query = select(AuditEvent)
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.system_only:
        query = query.where(AuditEvent.actor_id.is_(None))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    query = query.where(within_dates(AuditEvent.at, filters.since, filters.until))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_actions() -> list[str]:
    """Every action name that occurs in the log, for the filter menu."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def audit_target_types() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.target_type).distinct().order_by(AuditEvent.target_type)))
