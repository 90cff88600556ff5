"""Every domain's tables, imported in one place for Alembic and `create_all`."""

from app.auth.models import User
from app.ops.models import AuditEvent
from app.stock.models import Order, OrderLine, Product, StockMovement

__all__ = ["AuditEvent", "Order", "OrderLine", "Product", "StockMovement", "User"]
