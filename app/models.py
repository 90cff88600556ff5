"""Every domain's tables, imported in one place for Alembic and `create_all`."""

from app.auth.models import User
from app.classify.models import Category, ModelVersion, Review, TrainingRun
from app.documents.models import Document, DocumentEvent
from app.ops.models import AuditEvent
from app.search.models import SearchOutbox
from app.stock.models import Order, OrderLine, Product, StockMovement

__all__ = [
    "AuditEvent",
    "Category",
    "Document",
    "DocumentEvent",
    "ModelVersion",
    "Order",
    "OrderLine",
    "Product",
    "Review",
    "SearchOutbox",
    "StockMovement",
    "TrainingRun",
    "User",
]
