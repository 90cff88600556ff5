"""Products: their editable details, checked, and adding and changing them (never their stock).

Stock changes only through the ledger; a product is created with none. Changing a threshold or
retiring a product can open or close its low-stock alert, so both end with the ledger's commit.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.ops import audit
from app.stock import alerts
from app.stock.errors import DuplicateSku, InvalidProduct, ProductNotFound
from app.stock.ledger import commit_change
from app.stock.models import Product, sku_key
from app.stock.quantities import max_movement

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_TRUE = {"", "true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


@dataclass(frozen=True)
class ProductData:
    """A product's editable fields, validated."""

    sku: str
    name: str
    unit: str = "pcs"
    low_stock_threshold: int = 0
    reorder_quantity: int = 0
    active: bool = True

    @classmethod
    def clean(cls, **values: object) -> ProductData:
        """Check every field; InvalidProduct lists all problems at once."""
        errors: dict[str, str] = {}
        sku = str(values.get("sku") or "").strip()
        name = " ".join(str(values.get("name") or "").split())
        unit = str(values.get("unit") or "pcs").strip() or "pcs"
        if not sku:
            errors["sku"] = "A SKU is required."
        elif not _SKU.match(sku):
            errors["sku"] = (
                "Use up to 64 letters, digits, dots, dashes, slashes or underscores, starting with a letter or digit."
            )
        if not name:
            errors["name"] = "A name is required."
        elif len(name) > 200:
            errors["name"] = "At most 200 characters."
        if len(unit) > 32:
            errors["unit"] = "At most 32 characters."
        numbers = {}
        for field in ("low_stock_threshold", "reorder_quantity"):
            raw = values.get(field, 0)
            if raw is None or raw == "":
                raw = 0
            try:
                number = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw).strip())
            except ValueError:
                errors[field] = f"Must be a whole number, not {str(raw)[:20]!r}."
                continue
            if number < 0 or number > max_movement():
                errors[field] = f"Must be between 0 and {max_movement()}."
            numbers[field] = number
        active = values.get("active", True)
        if isinstance(active, str):
            lowered = active.strip().lower()
            if lowered in _TRUE:
                active = True
            elif lowered in _FALSE:
                active = False
            else:
                errors["active"] = f"Must be true or false, not {active[:20]!r}."
        if errors:
            raise InvalidProduct(errors)
        return cls(sku=sku, name=name, unit=unit, active=bool(active), **numbers)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The editable fields' names, which are also the product form's field names."""
        return tuple(cls.__dataclass_fields__)


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise ProductNotFound(f"There is no product number {product_id}.")
    return product


def sku_matches(sku: str):
    """The condition "this product's SKU is `sku`", whatever the case of either: "tea-1" finds "TEA-1"."""
    return Product.sku_key == sku_key(sku)


def product_by_sku(sku: str) -> Product:
    """The product whose SKU is `sku` without regard to case (SKUs are unique ignoring case)."""
    product = db.session.scalar(select(Product).where(sku_matches(sku)))
    if product is None:
        raise ProductNotFound(f"There is no product with SKU {sku.strip()[:64]!r}.")
    return product


def _refuse_taken(sku: str, *, other_than: int | None = None) -> None:
    """A SKU names one product whatever its case: refuse it when another product has it already."""
    query = select(Product.sku).where(sku_matches(sku))
    if other_than is not None:
        query = query.where(Product.id != other_than)
    taken = db.session.scalar(query)
    if taken is not None:
        same = "" if taken == sku else f" ({taken}: SKUs are the same whatever their case)"
        raise DuplicateSku(f"A product with SKU {sku} already exists{same}.")


def create_product(data: ProductData, *, user_id: int | None) -> Product:
    """Add a product with no stock; stock arrives through `ledger.add_stock`."""
    _refuse_taken(data.sku)
    product = Product(**asdict(data))
    db.session.add(product)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DuplicateSku(f"A product with SKU {data.sku} already exists.") from None
    audit.record_about(
        product, "product.create", f"Created product {data.sku} ({data.name})", user_id, after=asdict(data)
    )
    alerts.reconcile_product(product)
    commit_change()
    return product


def update_product(product_id: int, data: ProductData, *, user_id: int | None) -> Product:
    """Change a product's details (never its stock)."""
    product = get_product(product_id)
    before = {field: getattr(product, field) for field in ProductData.fields()}
    if data.sku != product.sku:
        _refuse_taken(data.sku, other_than=product_id)
    after = asdict(data)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return product
    for field, value in changed.items():
        setattr(product, field, value)
    audit.record_about(
        product,
        "product.update",
        f"Changed {', '.join(changed)} of {data.sku}",
        user_id,
        before={k: before[k] for k in changed},
        after=changed,
    )
    if {"low_stock_threshold", "active"} & changed.keys():
        db.session.flush()
        db.session.refresh(product)  # the on-hand figure as it is now, not as it was read
        alerts.reconcile_product(product)
    commit_change()
    return product
