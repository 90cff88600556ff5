"""Every domain's tables, imported in one place for Alembic and `create_all`."""

from app.auth.models import User
from app.classify.memory import MemoryEntry
from app.classify.models import Category, ModelVersion, Review, TrainingRun
from app.documents.models import Document, DocumentEvent
from app.notify.models import Notification, OutgoingEmail
from app.ops.models import AuditEvent, PeriodicRun, TaskFailure, WorkerHeartbeat
from app.search.models import SearchOutbox
from app.stock.models import Order, OrderLine, Product, StockAlert, StockMovement

__all__ = [
    "AuditEvent",
    "Category",
    "Document",
    "DocumentEvent",
    "MemoryEntry",
    "ModelVersion",
    "Notification",
    "Order",
    "OrderLine",
    "OutgoingEmail",
    "PeriodicRun",
    "Product",
    "Review",
    "SearchOutbox",
    "StockAlert",
    "StockMovement",
    "TaskFailure",
    "TrainingRun",
    "User",
    "WorkerHeartbeat",
]
