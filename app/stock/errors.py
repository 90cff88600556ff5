"""What can go wrong with stock, in words a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import DomainError


class StockError(DomainError):
    """A stock change was refused; nothing was written."""


class InvalidQuantity(StockError):
    pass


class InvalidReason(StockError):
    pass


class ProductNotFound(StockError):
    status_code = 404


class InactiveProduct(StockError):
    status_code = 409


class DuplicateSku(StockError):
    status_code = 409


class IdempotencyConflict(StockError):
    status_code = 409


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


class InsufficientStock(StockError):
    """Not enough on hand; names each SKU with what is available."""

    status_code = 409

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        first = shortages[0]
        self.sku = first.sku
        self.available = first.available
        self.requested = first.requested
        parts = [f"{s.sku}: {s.available} available, {s.requested} needed" for s in shortages]
        super().__init__("Not enough stock — " + "; ".join(parts) + ". Nothing was changed.")


class OrderNotFound(StockError):
    status_code = 404


class OrderStateError(StockError):
    status_code = 409


class InvalidOrder(StockError):
    pass


# Alerts are not stock changes: their errors are not StockErrors, which the stock pages show on a form.
class AlertNotFound(DomainError):
    status_code = 404


class AlertStateError(DomainError):
    status_code = 409
