"""Importing products from CSV: a preview of every row first, then all rows, or the valid rows when asked.

`plan_import` reads and checks the file and compares each row with the
database without writing anything (the dry run). `apply_import` writes a plan
in one transaction: every row when it has no errors, or, when the person chose
"import the valid rows, skip the rest", the rows without errors. Rows are
matched by SKU without regard to case, so importing the same file twice changes
nothing the second time, and a products export imports back cleanly.

The optional `on_hand` column is the stock a product starts with: for a product
with no stock history yet (the import that creates it, typically) it becomes one
"opening balance" movement in the ledger. A product that has any ledger row
already ignores it, so a later import never changes stock: that happens only
through the ledger's own changes and counts.
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
from app.stock.ledger import apply_movement, commit_change, roll_back_change
from app.stock.models import Product, Reason, StockMovement
from app.stock.products import ProductData
from app.stock.quantities import max_movement

REQUIRED = ("sku", "name")
OPTIONAL = ("unit", "low_stock_threshold", "reorder_quantity", "active")
OPENING = "on_hand"  # the opening balance of a product with no stock history yet
# Columns the products export adds: accepted on import and ignored.
EXPORT_ONLY = ("created_at", "updated_at", "low")


@dataclass
class RowPlan:
    line: int
    sku: str
    action: str  # create, update, unchanged, error
    data: ProductData | None = None
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    opening: int = 0  # units to record as the product's opening balance (0: none)


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    notes: list[str]
    file_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not any(row.action == "error" for row in self.rows)

    @property
    def valid_changes(self) -> int:
        """Rows that would write something (create or update), errors aside."""
        return self.count("create") + self.count("update")

    @property
    def can_skip_errors(self) -> bool:
        """Some rows have errors and some would change something: importing only those is a real choice."""
        return self.file_error is None and not self.ok and self.valid_changes > 0

    @property
    def rows_errors_first(self) -> list[RowPlan]:
        """The preview's order: the rows to fix first, then the rest, each in file order."""
        return sorted(self.rows, key=lambda row: row.action != "error")

    @property
    def openings(self) -> int:
        return sum(1 for row in self.rows if row.action != "error" and row.opening)

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
        if self.openings:
            parts.append(f"{self.openings} with an opening balance")
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
            optional=(*OPTIONAL, OPENING),
            ignored=EXPORT_ONLY,
            max_rows=current_app.config["MAX_IMPORT_ROWS"],
        )
    except CsvFileError as error:
        return ImportPlan([], [], str(error))
    if not table.rows:
        return ImportPlan([], table.notes, "The file has a header but no rows to import.")

    existing = {p.sku.lower(): p for p in db.session.scalars(select(Product))}
    with_history = set(db.session.scalars(select(StockMovement.product_id).distinct()))
    first_line: dict[str, int] = {}
    ignored_openings = 0
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
        key = data_row.sku.lower()
        if key in first_line:
            row.errors.append(f"SKU {data_row.sku} is already on line {first_line[key]} (SKUs ignore case)")
            continue
        try:
            opening = _opening(record.get(OPENING, ""))
        except ValueError as error:
            row.errors.append(f"on_hand: {error}")
            continue
        first_line[key] = line
        row.data = data_row
        current = existing.get(key)
        if current is None:
            row.action = "create"
            row.opening = opening
            continue
        # Columns missing from the file keep the product's current values; the SKU keeps its stored case.
        given = {name for name in OPTIONAL if name in table.columns}
        wanted = {k: v for k, v in asdict(data_row).items() if k in {*REQUIRED, *given} and k != "sku"}
        row.changes = {k: (getattr(current, k), v) for k, v in wanted.items() if getattr(current, k) != v}
        if current.id in with_history or current.on_hand:
            ignored_openings += 1 if record.get(OPENING, "").strip() else 0
        else:
            row.opening = opening
        row.action = "update" if row.changes or row.opening else "unchanged"
    notes = list(table.notes)
    if ignored_openings:
        notes.append(
            f"Ignored column on_hand on {ignored_openings} row{'s' if ignored_openings > 1 else ''}: "
            f"{'those products have' if ignored_openings > 1 else 'that product has'} a stock history already,"
            " so stock changes only through the ledger (receive, use, count)."
        )
    return ImportPlan(plans, notes)


def _opening(raw: str) -> int:
    """An on_hand cell as a number of units (blank: none); ValueError says what is wrong."""
    raw = (raw or "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 12:
        raise ValueError(f"must be a whole number of units, 0 or more, not {raw[:20]!r}.")
    value = int(raw)
    if value > max_movement():
        raise ValueError(f"{value} is more than the {max_movement()} allowed in one go.")
    return value


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    skipped: int = 0  # rows with errors left out, when that was chosen
    openings: int = 0  # opening balances recorded


def apply_import(plan: ImportPlan, *, user_id: int | None, source: str, skip_errors: bool = False) -> ImportResult:
    """Write a checked plan: every row or, on any problem, none; with `skip_errors`, the rows without errors."""
    if plan.file_error or not (plan.ok or (skip_errors and plan.can_skip_errors)):
        raise InvalidProduct({"file": plan.summary})
    rows = [row for row in plan.rows if row.action != "error"]
    wanted = [r.sku.lower() for r in rows]
    by_sku = {p.sku.lower(): p for p in db.session.scalars(select(Product).where(Product.sku_key.in_(wanted)))}
    try:
        for row in rows:
            if row.action == "create":
                if row.data.sku.lower() in by_sku:  # created by someone else since the preview
                    raise InvalidProduct(
                        {"file": f"line {row.line}: SKU {row.sku} was created meanwhile; preview again."}
                    )
                by_sku[row.data.sku.lower()] = product = Product(**asdict(row.data))
                db.session.add(product)
            elif row.action == "update":
                product = by_sku[row.sku.lower()]
                for name, (_old, new) in row.changes.items():
                    setattr(product, name, new)
        db.session.flush()
        _record_openings(rows, by_sku, user_id=user_id, source=source)
        touched = [by_sku[r.sku.lower()].id for r in rows if r.action in ("create", "update")]
        refreshed = select(Product).where(Product.id.in_(touched)).execution_options(populate_existing=True)
        for product in db.session.scalars(refreshed):
            alerts.reconcile_product(product)  # a threshold imported at or above the stock opens an alert
        result = ImportResult(
            sum(1 for r in rows if r.action == "create"),
            sum(1 for r in rows if r.action == "update"),
            sum(1 for r in rows if r.action == "unchanged"),
            skipped=len(plan.rows) - len(rows),
            openings=sum(1 for r in rows if r.opening),
        )
        if result.created or result.updated:
            audit.record(
                "product.import",
                target_type="product",
                target_id=None,
                summary=f"Imported {source}: {result.created} created, {result.updated} updated"
                + (f", {result.openings} opening balances" if result.openings else "")
                + (f", {result.skipped} rows with errors skipped" if result.skipped else ""),
                actor_id=user_id,
                after={
                    "created": [r.sku for r in rows if r.action == "create"][:200],
                    "updated": [r.sku for r in rows if r.action == "update"][:200],
                    "opening_balances": {r.sku: r.opening for r in rows if r.opening},
                    "skipped_lines": [r.line for r in plan.rows if r.action == "error"][:200],
                },
            )
        commit_change()
    except Exception:
        roll_back_change()
        raise
    return result


def _record_openings(rows: list[RowPlan], by_sku: dict[str, Product], *, user_id: int | None, source: str) -> None:
    """One "opening balance" movement per product that has no stock history yet, never a second one."""
    ids = {by_sku[r.sku.lower()].id: r for r in rows if r.opening}
    if not ids:
        return
    with_history = set(
        db.session.scalars(select(StockMovement.product_id).where(StockMovement.product_id.in_(ids)).distinct())
    )
    for product_id, row in sorted(ids.items()):
        if product_id in with_history:  # stock moved since the preview: the ledger is the truth now
            raise InvalidProduct({"file": f"line {row.line}: {row.sku}'s stock changed meanwhile; preview again."})
        apply_movement(
            product_id,
            row.opening,
            reason=Reason.OPENING_BALANCE,
            user_id=user_id,
            note=f"Opening balance from {source}"[:500],
            allow_inactive=True,  # the units are on the shelf whether or not the product can be ordered
        )
