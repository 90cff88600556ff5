"""Every domain's tables, imported in one place for Alembic and `create_all`."""

from app.auth.models import User
from app.ops.models import AuditEvent

__all__ = ["AuditEvent", "User"]
