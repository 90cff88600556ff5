"""What can go wrong with stock, in words a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import Conflict, DomainError, NotFound


class StockError(DomainError):
    """A stock change was refused; nothing was written."""


class InvalidQuantity(StockError):
    """Not a whole number, zero where a change is wanted, or out of bounds."""


class InvalidReason(StockError):
    """Not one of the ledger's reasons."""


class ProductNotFound(StockError, NotFound):
    """No product has that id or SKU."""


class InactiveProduct(StockError, Conflict):
    """The product is retired: its stock cannot change."""


class DuplicateSku(StockError, Conflict):
    """Another product has that SKU."""


class IdempotencyConflict(StockError, Conflict):
    """The same idempotency key came with a different change."""


class InvalidProduct(StockError):
    """Field-by-field problems with a product's data."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int


class InsufficientStock(StockError, Conflict):
    """Not enough on hand; names each SKU with what is available."""

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        first = shortages[0]
        self.sku = first.sku
        self.available = first.available
        self.requested = first.requested
        parts = [f"{s.sku}: {s.available} available, {s.requested} needed" for s in shortages]
        super().__init__("Not enough stock — " + "; ".join(parts) + ". Nothing was changed.")


class OrderNotFound(StockError, NotFound):
    """No order has that id."""


class OrderStateError(StockError, Conflict):
    """The order's status does not allow the change (placing a cancelled order, say)."""


class InvalidOrder(StockError):
    """An order without lines, or with a line the form cannot use."""


# Alerts are not stock changes: their errors are not StockErrors, which the stock pages show on a form.
class AlertNotFound(NotFound):
    """No alert has that id."""


class AlertStateError(Conflict):
    """The alert is closed, or already acknowledged."""
