"""Importing products from CSV: a preview of every row first, then all rows or none.

`plan_import` reads and checks the file and compares each row with the
database without writing anything (the dry run). `apply_import` writes a plan
that has no errors in one transaction. Rows are matched by SKU, so importing
the same file twice changes nothing the second time, and a products export
imports back cleanly (its `on_hand` column is ignored: stock changes only
through the ledger).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from flask import current_app
from sqlalchemy import select

from app.csvio import CsvFileError, read_csv
from app.extensions import db
from app.ops import audit
from app.stock import alerts
from app.stock.errors import InvalidProduct
from app.stock.ledger import commit_change, roll_back_change
from app.stock.models import Product
from app.stock.products import ProductData

REQUIRED = ("sku", "name")
OPTIONAL = ("unit", "low_stock_threshold", "reorder_quantity", "active")
# Columns the products export adds: accepted on import and ignored.
EXPORT_ONLY = ("on_hand", "created_at", "updated_at", "low")


@dataclass
class RowPlan:
    line: int
    sku: str
    action: str  # create, update, unchanged, error
    data: ProductData | None = None
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    notes: list[str]
    file_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not any(row.action == "error" for row in self.rows)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def summary(self) -> str:
        if self.file_error:
            return self.file_error
        parts = [
            f"{self.count(a)} to {a}" if a != "unchanged" else f"{self.count(a)} unchanged"
            for a in ("create", "update", "unchanged")
        ]
        errors = self.count("error")
        if errors:
            parts.append(f"{errors} with errors")
        return ", ".join(parts)


def plan_import(data: bytes) -> ImportPlan:
    """Check a products CSV and say what importing it would do, row by row. Writes nothing."""
    limit = current_app.config["MAX_IMPORT_BYTES"]
    if len(data) > limit:
        return ImportPlan(
            [], [], f"The file is {len(data) // 1024 // 1024} MB; the limit is {limit // 1024 // 1024} MB."
        )
    try:
        table = read_csv(
            data,
            required=REQUIRED,
            optional=OPTIONAL,
            ignored=EXPORT_ONLY,
            max_rows=current_app.config["MAX_IMPORT_ROWS"],
        )
    except CsvFileError as error:
        return ImportPlan([], [], str(error))
    if not table.rows:
        return ImportPlan([], table.notes, "The file has a header but no rows to import.")

    existing = {p.sku: p for p in db.session.scalars(select(Product))}
    first_line: dict[str, int] = {}
    plans = []
    for line, record in table.rows:
        sku = record.get("sku", "")
        row = RowPlan(line=line, sku=sku, action="error")
        plans.append(row)
        if "__extra__" in record:
            row.errors.append(f"line {line} has {record['__extra__']}")
            continue
        try:
            data_row = ProductData.clean(**{k: v for k, v in record.items() if k in (*REQUIRED, *OPTIONAL)})
        except InvalidProduct as error:
            row.errors.extend(f"{name}: {message}" for name, message in error.errors.items())
            continue
        if data_row.sku in first_line:
            row.errors.append(f"SKU {data_row.sku} is already on line {first_line[data_row.sku]}")
            continue
        first_line[data_row.sku] = line
        row.data = data_row
        current = existing.get(data_row.sku)
        if current is None:
            row.action = "create"
            continue
        # Columns missing from the file keep the product's current values.
        given = {name for name in OPTIONAL if name in table.columns}
        wanted = {k: v for k, v in asdict(data_row).items() if k in {*REQUIRED, *given}}
        row.changes = {k: (getattr(current, k), v) for k, v in wanted.items() if getattr(current, k) != v}
        row.action = "update" if row.changes else "unchanged"
    return ImportPlan(plans, table.notes)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def apply_import(plan: ImportPlan, *, user_id: int | None, source: str) -> ImportResult:
    """Write a checked plan: every row or, on any problem, none."""
    if not plan.ok:
        raise InvalidProduct({"file": plan.summary})
    by_sku = {p.sku: p for p in db.session.scalars(select(Product).where(Product.sku.in_([r.sku for r in plan.rows])))}
    try:
        for row in plan.rows:
            if row.action == "create":
                if row.data.sku in by_sku:  # created by someone else since the preview
                    raise InvalidProduct(
                        {"file": f"line {row.line}: SKU {row.sku} was created meanwhile; preview again."}
                    )
                db.session.add(Product(**asdict(row.data)))
            elif row.action == "update":
                product = by_sku[row.sku]
                for name, (_old, new) in row.changes.items():
                    setattr(product, name, new)
        db.session.flush()
        touched = [r.sku for r in plan.rows if r.action in ("create", "update")]
        for product in db.session.scalars(select(Product).where(Product.sku.in_(touched))):
            alerts.reconcile_product(product)  # a threshold imported at or above the stock opens an alert
        result = ImportResult(plan.count("create"), plan.count("update"), plan.count("unchanged"))
        if result.created or result.updated:
            audit.record(
                "product.import",
                target_type="product",
                target_id=None,
                summary=f"Imported {source}: {result.created} created, {result.updated} updated",
                actor_id=user_id,
                after={
                    "created": [r.sku for r in plan.rows if r.action == "create"][:200],
                    "updated": [r.sku for r in plan.rows if r.action == "update"][:200],
                },
            )
        commit_change()
    except Exception:
        roll_back_change()
        raise
    return result
