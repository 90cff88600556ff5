"""`flask stock …`: import, adjust, verify and export from the shell."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.csvio import iter_csv
from app.extensions import db
from app.stock import importer, queries
from app.stock.errors import StockError
from app.stock.ledger import add_stock, remove_stock, verify_ledger
from app.stock.models import DECREASE_REASONS, INCREASE_REASONS, Product, Reason, StockMovement
from app.stock.products import product_by_sku
from app.stock.quantities import parse_change

stock_cli = AppGroup("stock", help="Products and the stock ledger.")


@stock_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
def import_products(file: Path, dry_run: bool) -> None:
    """Create or update products from a CSV file (matched by SKU); all rows or none."""
    limit = current_app.config["MAX_IMPORT_BYTES"]
    if file.stat().st_size > limit:
        raise click.ClickException(f"{file} is larger than the {limit // 1024 // 1024} MB import limit.")
    plan = importer.plan_import(file.read_bytes())
    for note in plan.notes:
        click.echo(f"note: {note}")
    if plan.file_error:
        raise click.ClickException(plan.file_error)
    for row in plan.rows:
        if row.action == "error":
            click.echo(f"line {row.line}: {row.sku or '(no SKU)'}: " + "; ".join(row.errors), err=True)
        elif row.action == "update":
            changes = ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in row.changes.items())
            click.echo(f"line {row.line}: update {row.sku}: {changes}")
        elif row.action == "create":
            click.echo(f"line {row.line}: create {row.sku}")
    click.echo(f"{file.name}: {plan.summary}.")
    if not plan.ok:
        raise click.ClickException("Nothing was imported: fix the rows above and run again.")
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    result = importer.apply_import(plan, user_id=None, source=file.name)
    openings = f", {result.openings} opening balances recorded" if result.openings else ""
    click.echo(f"Imported: {result.created} created, {result.updated} updated, {result.unchanged} unchanged{openings}.")


@stock_cli.command("add")
@click.argument("sku")
@click.argument("quantity")
@click.option(
    "--reason",
    type=click.Choice([r.value for r in dict.fromkeys((*INCREASE_REASONS, *DECREASE_REASONS))]),
    help="Why (default: received for an increase, used for a decrease).",
)
@click.option("--note", help="A note for the ledger.")
def add(sku: str, quantity: str, reason: str | None, note: str | None) -> None:
    """Change the stock of SKU by QUANTITY: 24 or +24 adds, -3 removes (write `-- -3`)."""
    try:
        product = product_by_sku(sku)
        delta = parse_change(quantity)
        if delta > 0:
            movement = add_stock(product.id, delta, user_id=None, reason=reason or Reason.RECEIVED, note=note)
        else:
            movement = remove_stock(product.id, -delta, user_id=None, reason=reason or Reason.USED, note=note)
    except StockError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{sku}: {movement.delta:+d} ({movement.reason}), {movement.balance_after} on hand.")


@stock_cli.command("verify")
def verify() -> None:
    """Check that every product's on-hand equals the sum of its ledger; exit 1 naming those that do not."""
    mismatches = verify_ledger()
    products = db.session.scalar(select(func.count(Product.id)))
    if not mismatches:
        click.echo(f"OK: on-hand matches the ledger for all {products} products.")
        return
    for m in mismatches:
        click.echo(f"MISMATCH {m.sku}: on hand {m.on_hand}, ledger sum {m.ledger_sum}", err=True)
    click.echo(f"{len(mismatches)} of {products} products do not match their ledger.", err=True)
    sys.exit(1)


# The shell's ledger export has no product-name column (the ledger page's CSV has one): scripts read it as it is.
LEDGER_EXPORT_COLUMNS = ["time", "sku", "change", "reason", "balance_after", "note", "user", "order"]


def _ledger_row(m: StockMovement) -> tuple[object, ...]:
    user = m.user.email if m.user else "system"
    return (m.at, m.product.sku, m.delta, m.reason, m.balance_after, m.note, user, m.order_id)


@stock_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--ledger", is_flag=True, help="Export the ledger instead of the products.")
def export(file: Path, ledger: bool) -> None:
    """Write the products (with on-hand) or the ledger to a CSV file; '-' for stdout."""
    if ledger:
        query = queries.ledger_query(queries.LedgerFilter())
        header, row = LEDGER_EXPORT_COLUMNS, _ledger_row
    else:
        query = queries.product_query(queries.ProductFilter(status="all"))
        header = queries.PRODUCT_COLUMNS
        row = queries.product_row

    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.execution_options(yield_per=1000))
    out = sys.stdout if str(file) == "-" else file.open("w", encoding="utf-8", newline="")
    try:
        with click.progressbar(items, length=total, label=f"Exporting {total} rows", file=sys.stderr) as bar:
            for line in iter_csv(header, (row(item) for item in bar)):
                out.write(line)
    finally:
        if out is not sys.stdout:
            out.close()
    if out is not sys.stdout:
        click.echo(f"Wrote {total} rows to {file}.", err=True)
