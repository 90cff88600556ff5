"""Stock pages: the product list, a product's page, stock changes, CSV import, the ledger."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from app.auth.access import role_required
from app.auth.models import Role
from app.charts import step_chart
from app.csvio import csv_response
from app.extensions import db
from app.stock import importer, queries
from app.stock.errors import InvalidProduct, ProductNotFound, StockError
from app.stock.forms import (
    CHANGE_REASONS,
    AdjustForm,
    CountForm,
    ImportForm,
    LedgerFilterForm,
    ProductFilterForm,
    ProductForm,
)
from app.stock.ledger import add_stock, count_stock, new_idempotency_key, remove_stock
from app.stock.models import REASON_LABELS, Product, Reason
from app.stock.products import ProductData, create_product, get_product, product_by_sku, update_product
from app.stock.quantities import parse_change, parse_count
from app.web import Filtered, is_htmx, read_filters, render_page, require_confirmation

bp = Blueprint("stock", __name__)  # routes spell out /stock so the list can have /stock.csv


@bp.app_context_processor
def _stock_helpers():
    return {
        "reason_label": lambda value: REASON_LABELS.get(Reason(value), value) if value else "",
        # What the product list draws its "+24" forms from (see stock/products.html's product_row).
        "change_reasons": CHANGE_REASONS,
        "new_idempotency_key": new_idempotency_key,
    }


def adjust_form(product: Product, data=None) -> AdjustForm:
    """The "+24" form of one product, with a fresh idempotency key."""
    form = AdjustForm(prefix=f"p{product.id}", formdata=data)
    if data is None:
        form.idempotency_key.data = new_idempotency_key()
    return form


def count_form(data=None) -> CountForm:
    form = CountForm(prefix="count", formdata=data)
    if data is None:
        form.idempotency_key.data = new_idempotency_key()
    return form


# ---------------------------------------------------------------- products


def _product_filters() -> Filtered[ProductFilterForm, queries.ProductFilter]:
    form = ProductFilterForm(formdata=request.args)
    if not request.args.get("status"):
        form.status.data = "active"
    if not request.args.get("sort"):
        form.sort.data = "sku"
    return read_filters(
        form,
        lambda f: queries.ProductFilter(q=f.q.data or "", low_only=f.low.data, status=f.status.data, sort=f.sort.data),
        queries.ProductFilter(),
    )


@bp.get("/stock")
def products():
    """Every product with its stock, searchable, with a "+24" form on each row."""
    read = _product_filters()
    page = queries.list_page(queries.product_query(read.filters))
    html = render_page("stock/products.html", "results", filters=read.form, page=page, problem=read.problem)
    return html, read.status


@bp.get("/stock.csv")
def products_csv():
    """The product list with on-hand, same filters as the page; it imports back cleanly."""
    statement = queries.product_query(_product_filters().or_400())
    return csv_response("products.csv", queries.PRODUCT_COLUMNS, queries.csv_rows(statement, queries.product_row))


def _save_product(form: ProductForm, save: Callable[[ProductData], Product]) -> Product | None:
    """Check the submitted product form's fields and `save` them; None with each problem shown on its field."""
    if not form.validate_on_submit():
        return None
    try:
        return save(ProductData.clean(**{name: form[name].data for name in ProductData.fields()}))
    except InvalidProduct as error:
        db.session.rollback()
        for name, message in error.errors.items():
            form[name].errors = [*form[name].errors, message]
    except StockError as error:
        db.session.rollback()
        form.sku.errors = [*form.sku.errors, str(error)]
    return None


@bp.route("/stock/products/new", methods=["GET", "POST"])
@role_required(Role.STAFF)
def new_product():
    """Add a product (with no stock yet)."""
    form = ProductForm()
    product = _save_product(form, lambda data: create_product(data, user_id=current_user.id))
    if product is not None:
        flash(f"Product {product.sku} added.", "success")
        return redirect(url_for("stock.product", product_id=product.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("stock/product_form.html", form=form, product=None), status


@bp.route("/stock/products/<int:product_id>/edit", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit_product(product_id: int):
    """Change a product's details; its stock changes only through movements."""
    product = get_product(product_id)
    form = ProductForm(obj=product)
    if _save_product(form, lambda data: update_product(product_id, data, user_id=current_user.id)) is not None:
        flash("Product saved.", "success")
        return redirect(url_for("stock.product", product_id=product_id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("stock/product_form.html", form=form, product=product), status


@bp.get("/stock/products/<int:product_id>")
def product(product_id: int):
    """One product: stock, its changes over time (chart and ledger), forms to change it."""
    product = get_product(product_id)
    history = db.paginate(
        queries.ledger_query(queries.LedgerFilter(product_id=product_id)),
        per_page=25,
        max_per_page=100,
        error_out=False,
    )
    chart = step_chart(queries.balance_history(product_id), threshold=product.low_stock_threshold or None)
    return render_page(
        "stock/product.html",
        "history",
        product=product,
        history=history,
        chart=chart,
        form=adjust_form(product),
        count=count_form(),
    )


def _answer_change(product: Product, where: str, form, count, message: str | None, error: str | None, status: int):
    """After a stock change: the row or the stock panel for htmx, else back to the page."""
    if is_htmx():
        if where == "row":
            body = render_block(
                "stock/products.html", "product_row", product=product, form=form, message=message, error=error
            )
        else:
            body = render_block(
                "stock/product.html",
                "stock_panel",
                product=product,
                form=form,
                count=count,
                message=message,
                error=error,
            )
        headers = {"HX-Trigger": "stock-changed"} if status == 200 else {}
        return body, status, headers
    flash(error or message, "error" if error else "success")
    target = url_for("stock.products") if where == "row" else url_for("stock.product", product_id=product.id)
    return redirect(target, code=303)


def _attempt(form: AdjustForm | CountForm, change: Callable[[], str]) -> tuple[str | None, str | None, int]:
    """Check the submitted form and make the `change`: its message, or what stopped it, and the status."""
    if not form.validate_on_submit():
        return None, " ".join(e for errors in form.errors.values() for e in errors), 400
    try:
        return change(), None, 200
    except StockError as failure:
        return None, str(failure), failure.status_code


@bp.post("/stock/products/<int:product_id>/adjust")
@role_required(Role.STAFF)
def adjust(product_id: int):
    """Add or remove stock by a signed change (`+24`, `-3`) and a reason; the total is never typed."""
    product = get_product(product_id)
    where = "page" if request.form.get("where") == "page" else "row"
    form = adjust_form(product, request.form)

    def change() -> str:
        delta = parse_change(form.change.data)
        common = {
            "user_id": current_user.id,
            "note": form.note.data,
            "idempotency_key": form.idempotency_key.data or None,
        }
        if delta > 0:
            movement = add_stock(product_id, delta, reason=form.reason.data or Reason.RECEIVED, **common)
        else:
            movement = remove_stock(product_id, -delta, reason=form.reason.data or Reason.USED, **common)
        label = REASON_LABELS[Reason(movement.reason)].lower()
        return f"{movement.delta:+d} {label}: {movement.balance_after} on hand."

    message, error, status = _attempt(form, change)
    product = get_product(product_id)
    if status == 200:
        form = adjust_form(product)  # a fresh key: the next change is a new one
    return _answer_change(product, where, form, count_form(), message, error, status)


@bp.post("/stock/products/<int:product_id>/count")
@role_required(Role.STAFF)
def count(product_id: int):
    """Record a stock count; the difference to on-hand becomes one movement."""
    get_product(product_id)
    form = count_form(request.form)

    def change() -> str:
        movement = count_stock(
            product_id,
            parse_count(form.counted.data),
            user_id=current_user.id,
            note=form.note.data,
            idempotency_key=form.idempotency_key.data or None,
        )
        difference = "matched" if movement.delta == 0 else f"difference {movement.delta:+d}"
        return f"Count recorded ({difference}): {movement.balance_after} on hand."

    message, error, status = _attempt(form, change)
    product = get_product(product_id)
    if status == 200:
        form = count_form()
    return _answer_change(product, "page", adjust_form(product), form, message, error, status)


# ---------------------------------------------------------------- CSV import


def _imports_dir() -> Path:
    folder = Path(current_app.config["DATA_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _upload_path(token: str) -> Path:
    if not token.replace("-", "").replace("_", "").isalnum():
        abort(404)
    # The user's id is part of the name: nobody can confirm someone else's preview.
    return _imports_dir() / f"{current_user.id}-{token}.csv"


def _forget_old_uploads(max_age_seconds: int = 24 * 3600) -> None:
    cutoff = time.time() - max_age_seconds
    for path in _imports_dir().glob("*.csv"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


@bp.route("/stock/import", methods=["GET", "POST"])
@role_required(Role.STAFF)
def import_products():
    """Upload a products CSV and see, row by row, what importing it would do (nothing is written yet)."""
    form = ImportForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("stock/import.html", form=form, plan=None), status
    data = form.file.data.read(current_app.config["MAX_IMPORT_BYTES"] + 1)
    plan = importer.plan_import(data)
    token = None
    if plan.ok or plan.can_skip_errors:  # kept for "import" or "import the valid rows, skip the rest"
        _forget_old_uploads()
        token = secrets.token_urlsafe(16)
        _upload_path(token).write_bytes(data)
    return (
        render_template("stock/import.html", form=form, plan=plan, token=token, filename=form.file.data.filename),
        200 if plan.ok else 400,
    )


@bp.get("/stock/import/<token>/valid")
@role_required(Role.STAFF)
def confirm_import_valid(token: str):
    """The explicit choice on a preview with errors: say which rows would be imported and which skipped, then ask."""
    path = _upload_path(token)
    if not path.exists():
        abort(404, description="That preview has expired or was already imported; upload the file again.")
    plan = importer.plan_import(path.read_bytes())
    if not plan.can_skip_errors:  # fixed meanwhile, or nothing valid left: the plain preview says what to do
        return render_template("stock/import.html", form=ImportForm(), plan=plan, token=None), 409
    filename = request.args.get("filename", "a CSV file")[:100]
    return render_template("stock/import_valid.html", plan=plan, token=token, filename=filename)


@bp.post("/stock/import/<token>")
@role_required(Role.STAFF)
def confirm_import(token: str):
    """Import the previewed file: every row, or none if anything changed since the preview; with
    `skip_errors` (the person's explicit choice on a preview with errors), the valid rows only."""
    require_confirmation("The form expired; upload the file again.")  # reloading would not bring the file back
    path = _upload_path(token)
    if not path.exists():
        abort(404, description="That preview has expired or was already imported; upload the file again.")
    skip_errors = request.form.get("skip_errors") == "1"
    plan = importer.plan_import(path.read_bytes())
    if not (plan.ok or (skip_errors and plan.can_skip_errors)):
        return render_template("stock/import.html", form=ImportForm(), plan=plan, token=None), 400
    try:
        result = importer.apply_import(
            plan,
            user_id=current_user.id,
            source=request.form.get("filename", "a CSV file")[:100],
            skip_errors=skip_errors,
        )
    except InvalidProduct as error:  # something changed since the preview: nothing was written
        return render_template("stock/import.html", form=ImportForm(), plan=plan, token=None, error=str(error)), 409
    path.unlink(missing_ok=True)
    message = f"Imported: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
    if result.openings:
        message += f", {result.openings} opening balance{'s' if result.openings > 1 else ''} recorded"
    if result.skipped:
        message += f"; {result.skipped} row{'s' if result.skipped > 1 else ''} with errors skipped"
    flash(message + ".", "success")
    return redirect(url_for("stock.products"), code=303)


# ---------------------------------------------------------------- the ledger


def _ledger_filter(form: LedgerFilterForm) -> queries.LedgerFilter:
    product_id = product_by_sku(form.sku.data).id if form.sku.data else None
    return queries.LedgerFilter(product_id, form.since.data, form.until.data, form.reason.data or None)


def _ledger_filters() -> Filtered[LedgerFilterForm, queries.LedgerFilter]:
    form = LedgerFilterForm(formdata=request.args)
    try:
        return read_filters(form, _ledger_filter, queries.LedgerFilter())
    except ProductNotFound as error:  # a SKU nobody has: the page says so, like any filter that is not valid
        return Filtered(form, queries.LedgerFilter(), str(error))


@bp.get("/stock/ledger")
def ledger():
    """Every stock change, newest first, by product, reason and date."""
    read = _ledger_filters()
    page = None if read.problem else queries.list_page(queries.ledger_query(read.filters))
    skus = db.session.scalars(select(Product.sku).order_by(Product.sku).limit(2000)).all()
    return (
        render_page("stock/ledger.html", "results", filters=read.form, page=page, problem=read.problem, skus=skus),
        read.status,
    )


@bp.get("/stock/ledger.csv")
def ledger_csv():
    """The ledger as CSV with the page's filters, streamed row by row."""
    statement = queries.ledger_query(_ledger_filters().or_400())
    return csv_response("stock-ledger.csv", queries.LEDGER_COLUMNS, queries.csv_rows(statement, queries.ledger_row))
