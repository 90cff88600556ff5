"""Stock pages: the product list, a product's page, stock changes, CSV import, the ledger."""

from __future__ import annotations

import secrets
import time
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
from app.stock import importer, queries, service
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
from app.stock.models import REASON_LABELS, Product, Reason
from app.web import invalid_filters, is_htmx, render_page

bp = Blueprint("stock", __name__)  # routes spell out /stock so the list can have /stock.csv

PRODUCT_COLUMNS = ["sku", "name", "unit", "low_stock_threshold", "reorder_quantity", "active", "on_hand"]
LEDGER_COLUMNS = ["time", "sku", "product", "change", "reason", "balance_after", "note", "user", "order"]


@bp.app_context_processor
def _stock_helpers():
    return {
        "reason_label": lambda value: REASON_LABELS.get(Reason(value), value) if value else "",
        # What the product list draws its "+24" forms from (see stock/products.html's product_row).
        "change_reasons": CHANGE_REASONS,
        "new_idempotency_key": service.new_idempotency_key,
    }


def adjust_form(product: Product, data=None) -> AdjustForm:
    """The "+24" form of one product, with a fresh idempotency key."""
    form = AdjustForm(prefix=f"p{product.id}", formdata=data)
    if data is None:
        form.idempotency_key.data = service.new_idempotency_key()
    return form


def count_form(data=None) -> CountForm:
    form = CountForm(prefix="count", formdata=data)
    if data is None:
        form.idempotency_key.data = service.new_idempotency_key()
    return form


# ---------------------------------------------------------------- products


def _product_filters() -> tuple[ProductFilterForm, queries.ProductFilter, bool]:
    form = ProductFilterForm(formdata=request.args)
    if not request.args.get("status"):
        form.status.data = "active"
    if not request.args.get("sort"):
        form.sort.data = "sku"
    valid = form.validate()
    if not valid:
        return form, queries.ProductFilter(), False
    filters = queries.ProductFilter(
        q=form.q.data or "", low_only=form.low.data, status=form.status.data, sort=form.sort.data
    )
    return form, filters, True


@bp.get("/stock")
def products():
    """Every product with its stock, searchable, with a "+24" form on each row."""
    form, filters, valid = _product_filters()
    page = db.paginate(queries.product_query(filters), per_page=50, max_per_page=200, error_out=False)
    return (
        render_page("stock/products.html", "results", filters=form, page=page, valid=valid),
        200 if valid else 400,
    )


@bp.get("/stock.csv")
def products_csv():
    """The product list with on-hand, same filters as the page; it imports back cleanly."""
    form, filters, valid = _product_filters()
    if not valid:
        abort(400, description=invalid_filters(form))

    def rows():
        for p in db.session.scalars(queries.product_query(filters).execution_options(yield_per=1000)):
            yield (p.sku, p.name, p.unit, p.low_stock_threshold, p.reorder_quantity, p.active, p.on_hand)

    return csv_response("products.csv", PRODUCT_COLUMNS, rows())


@bp.route("/stock/products/new", methods=["GET", "POST"])
@role_required(Role.STAFF)
def new_product():
    """Add a product (with no stock yet)."""
    form = ProductForm()
    if form.validate_on_submit():
        try:
            data = service.ProductData.clean(
                **{name: form[name].data for name in service.ProductData.__dataclass_fields__}
            )
            product = service.create_product(data, user_id=current_user.id)
        except InvalidProduct as error:
            for name, message in error.errors.items():
                form[name].errors = [*form[name].errors, message]
        except StockError as error:
            form.sku.errors = [*form.sku.errors, str(error)]
        else:
            flash(f"Product {product.sku} added.", "success")
            return redirect(url_for("stock.product", product_id=product.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("stock/product_form.html", form=form, product=None), status


@bp.route("/stock/products/<int:product_id>/edit", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit_product(product_id: int):
    """Change a product's details; its stock changes only through movements."""
    product = service.get_product(product_id)
    form = ProductForm(obj=product)
    if form.validate_on_submit():
        try:
            data = service.ProductData.clean(
                **{name: form[name].data for name in service.ProductData.__dataclass_fields__}
            )
            service.update_product(product_id, data, user_id=current_user.id)
        except InvalidProduct as error:
            db.session.rollback()
            for name, message in error.errors.items():
                form[name].errors = [*form[name].errors, message]
        except StockError as error:
            db.session.rollback()
            form.sku.errors = [*form.sku.errors, str(error)]
        else:
            flash("Product saved.", "success")
            return redirect(url_for("stock.product", product_id=product_id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("stock/product_form.html", form=form, product=product), status


@bp.get("/stock/products/<int:product_id>")
def product(product_id: int):
    """One product: stock, its changes over time (chart and ledger), forms to change it."""
    product = service.get_product(product_id)
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


@bp.post("/stock/products/<int:product_id>/adjust")
@role_required(Role.STAFF)
def adjust(product_id: int):
    """Add or remove stock by a signed change (`+24`, `-3`) and a reason; the total is never typed."""
    product = service.get_product(product_id)
    where = "page" if request.form.get("where") == "page" else "row"
    form = adjust_form(product, request.form)
    message = error = None
    status = 200
    if not form.validate_on_submit():
        error, status = " ".join(e for errors in form.errors.values() for e in errors), 400
    else:
        try:
            delta = service.parse_change(form.change.data)
            common = {
                "user_id": current_user.id,
                "note": form.note.data,
                "idempotency_key": form.idempotency_key.data or None,
            }
            if delta > 0:
                movement = service.add_stock(product_id, delta, reason=form.reason.data or Reason.RECEIVED, **common)
            else:
                movement = service.remove_stock(product_id, -delta, reason=form.reason.data or Reason.USED, **common)
        except StockError as failure:
            error, status = str(failure), failure.status_code
        else:
            label = REASON_LABELS[Reason(movement.reason)].lower()
            message = f"{movement.delta:+d} {label}: {movement.balance_after} on hand."
    product = service.get_product(product_id)
    if status == 200:
        form = adjust_form(product)  # a fresh key: the next change is a new one
    return _answer_change(product, where, form, count_form(), message, error, status)


@bp.post("/stock/products/<int:product_id>/count")
@role_required(Role.STAFF)
def count(product_id: int):
    """Record a stock count; the difference to on-hand becomes one movement."""
    product = service.get_product(product_id)
    form = count_form(request.form)
    message = error = None
    status = 200
    if not form.validate_on_submit():
        error, status = " ".join(e for errors in form.errors.values() for e in errors), 400
    else:
        try:
            counted = service.parse_count(form.counted.data)
            movement = service.count_stock(
                product_id,
                counted,
                user_id=current_user.id,
                note=form.note.data,
                idempotency_key=form.idempotency_key.data or None,
            )
        except StockError as failure:
            error, status = str(failure), failure.status_code
        else:
            difference = "matched" if movement.delta == 0 else f"difference {movement.delta:+d}"
            message = f"Count recorded ({difference}): {movement.balance_after} on hand."
    product = service.get_product(product_id)
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
    if plan.ok:
        _forget_old_uploads()
        token = secrets.token_urlsafe(16)
        _upload_path(token).write_bytes(data)
    return (
        render_template("stock/import.html", form=form, plan=plan, token=token, filename=form.file.data.filename),
        200 if plan.ok else 400,
    )


@bp.post("/stock/import/<token>")
@role_required(Role.STAFF)
def confirm_import(token: str):
    """Import the previewed file: every row, or none if anything changed since the preview."""
    from app.forms import ConfirmForm

    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired; upload the file again.")
    path = _upload_path(token)
    if not path.exists():
        abort(404, description="That preview has expired or was already imported; upload the file again.")
    plan = importer.plan_import(path.read_bytes())
    if not plan.ok:
        return render_template("stock/import.html", form=ImportForm(), plan=plan, token=None), 400
    result = importer.apply_import(
        plan, user_id=current_user.id, source=request.form.get("filename", "a CSV file")[:100]
    )
    path.unlink(missing_ok=True)
    flash(f"Imported: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.", "success")
    return redirect(url_for("stock.products"), code=303)


# ---------------------------------------------------------------- the ledger


def _ledger_filters() -> tuple[LedgerFilterForm, queries.LedgerFilter, str | None]:
    form = LedgerFilterForm(formdata=request.args)
    if not form.validate():
        return (
            form,
            queries.LedgerFilter(),
            invalid_filters(form),
        )
    product_id = None
    if form.sku.data:
        try:
            product_id = service.product_by_sku(form.sku.data).id
        except ProductNotFound as error:
            return form, queries.LedgerFilter(), str(error)
    return form, queries.LedgerFilter(product_id, form.since.data, form.until.data, form.reason.data or None), None


@bp.get("/stock/ledger")
def ledger():
    """Every stock change, newest first, by product, reason and date."""
    form, filters, problem = _ledger_filters()
    page = (
        None if problem else db.paginate(queries.ledger_query(filters), per_page=50, max_per_page=200, error_out=False)
    )
    skus = db.session.scalars(select(Product.sku).order_by(Product.sku).limit(2000)).all()
    return render_page("stock/ledger.html", "results", filters=form, page=page, problem=problem, skus=skus), (
        400 if problem else 200
    )


@bp.get("/stock/ledger.csv")
def ledger_csv():
    """The ledger as CSV with the page's filters, streamed row by row."""
    _form, filters, problem = _ledger_filters()
    if problem:
        abort(400, description=problem)

    def rows():
        statement = queries.ledger_query(filters).execution_options(yield_per=1000)
        for m in db.session.scalars(statement):
            user = m.user.email if m.user else "system"
            yield (m.at, m.product.sku, m.product.name, m.delta, m.reason, m.balance_after, m.note, user, m.order_id)

    return csv_response("stock-ledger.csv", LEDGER_COLUMNS, rows())
