"""Order pages: list, write and edit a draft, place it (all lines or none), cancel (asked first), mark fulfilled."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from app.auth.access import role_required
from app.auth.models import Role
from app.csvio import csv_response
from app.extensions import db
from app.forms import ConfirmForm
from app.stock import queries
from app.stock.errors import StockError
from app.stock.forms import OrderFilterForm, OrderForm
from app.stock.models import Order, OrderStatus, Product
from app.stock.orders import cancel_order, create_order, fulfil_order, get_order, place_order, update_draft
from app.stock.products import product_by_sku
from app.stock.quantities import parse_order_quantity
from app.web import Filtered, read_filters, render_page, require_confirmation

bp = Blueprint("orders", __name__)  # routes spell out /orders so the list can have /orders.csv


def _describe_sku(sku: str) -> Product | None:
    """The product a typed SKU names (whatever its case), or None: the order form shows it beside the line."""
    try:
        return product_by_sku(sku)
    except StockError:
        return None


@bp.context_processor
def _order_helpers():
    return {"describe_sku": _describe_sku}


def _order_filters() -> Filtered[OrderFilterForm, queries.OrderFilter]:
    return read_filters(
        OrderFilterForm(formdata=request.args),
        lambda f: queries.OrderFilter(f.q.data or "", f.status.data or None, f.since.data, f.until.data),
        queries.OrderFilter(),
    )


@bp.get("/orders")
def index():
    """Orders, newest first, by status, customer or reference and date."""
    read = _order_filters()
    page = None if read.problem else queries.list_page(queries.order_query(read.filters))
    return render_page("orders/list.html", "results", filters=read.form, page=page, problem=read.problem), read.status


@bp.get("/orders.csv")
def export():
    """The listed orders with their lines, one CSV row per line."""
    statement = queries.order_lines_query(_order_filters().or_400())
    return csv_response("orders.csv", queries.ORDER_COLUMNS, queries.csv_rows(statement, queries.order_line_row))


def _skus() -> list[tuple[str, str]]:
    return db.session.execute(
        select(Product.sku, Product.name).where(Product.active.is_(True)).order_by(Product.sku).limit(5000)
    ).all()


def _lines_from(form: OrderForm) -> tuple[list[tuple[int, int]], list[str]]:
    """(product id, quantity) pairs from the filled-in line rows, and what is wrong with them."""
    lines, problems = [], []
    for number, entry in enumerate(form.lines.entries, start=1):
        sku = (entry.form.sku.data or "").strip()
        quantity = (entry.form.quantity.data or "").strip()
        if not sku and not quantity:
            continue
        if not sku:
            problems.append(f"Line {number}: which SKU?")
            continue
        try:
            product = product_by_sku(sku)
            amount = parse_order_quantity(quantity, line=number)
        except StockError as error:
            problems.append(f"Line {number}: {error}")
            continue
        lines.append((product.id, amount))
    return lines, problems


@bp.route("/orders/new", methods=["GET", "POST"])
@role_required(Role.STAFF)
def new():
    """Write a draft order: customer and lines of SKU and quantity."""
    form = OrderForm()
    problems: list[str] = []
    if form.validate_on_submit():
        lines, problems = _lines_from(form)
        if not problems:
            try:
                order = create_order(
                    customer=form.customer.data,
                    lines=lines,
                    user_id=current_user.id,
                    reference=form.reference.data,
                    note=form.note.data,
                )
            except StockError as error:
                db.session.rollback()
                problems.append(str(error))
            else:
                flash(f"Order {order.reference} saved as a draft. Place it to take the stock.", "success")
                return redirect(url_for("orders.show", order_id=order.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("orders/new.html", form=form, problems=problems, skus=_skus(), order=None), status


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit(order_id: int):
    """Change a draft: its customer, note and lines (add, change, remove). A placed order cannot change."""
    order = get_order(order_id)
    if order.status != OrderStatus.DRAFT:
        flash(f"Order {order.reference} is {order.status}: only a draft can be changed.", "error")
        return redirect(url_for("orders.show", order_id=order_id), code=303)
    form = OrderForm(data=_draft_data(order)) if request.method == "GET" else OrderForm()
    problems: list[str] = []
    if form.validate_on_submit():
        lines, problems = _lines_from(form)
        if not problems:
            try:
                order = update_draft(
                    order_id, customer=form.customer.data, lines=lines, user_id=current_user.id, note=form.note.data
                )
            except StockError as error:
                db.session.rollback()
                problems.append(str(error))
            else:
                flash(f"Order {order.reference} saved. It is still a draft: place it to take the stock.", "success")
                return redirect(url_for("orders.show", order_id=order_id), code=303)
    status = 400 if request.method == "POST" else 200
    order = get_order(order_id)
    return render_template("orders/new.html", form=form, problems=problems, skus=_skus(), order=order), status


def _draft_data(order: Order) -> dict:
    """An order as the order form's fields hold it: lines as SKU and quantity text, and one empty row to add one."""
    lines = [{"sku": line.product.sku, "quantity": str(line.quantity)} for line in order.lines]
    return {"customer": order.customer, "note": order.note or "", "reference": order.reference, "lines": [*lines, {}]}


@bp.get("/orders/lookup")
@role_required(Role.STAFF)
def lookup():
    """What a typed SKU is (name, on hand, unit), shown beside an order line while it is typed (htmx)."""
    typed = request.args.get("sku")
    if typed is None:  # the line's own input sends itself, named lines-<n>-sku
        typed = next((v for k, v in request.args.items() if k.startswith("lines-") and k.endswith("-sku")), "")
    typed = typed.strip()[:64]
    product = _describe_sku(typed) if typed else None
    return render_block("orders/new.html", "line_info", typed=typed, product=product)


@bp.get("/orders/new/line")
@role_required(Role.STAFF)
def new_line():
    """One more empty line row for the order form (htmx appends it)."""
    index = request.args.get("index", type=int)
    if index is None or not 0 <= index < 200:
        abort(400, description="No more lines can be added to one order.")
    form = OrderForm(formdata=None)
    while len(form.lines.entries) <= index:
        form.lines.append_entry()
    row = render_block("orders/new.html", "line_row", line=form.lines.entries[index], index=index)
    # The button comes along out of band, counting on to the next line number.
    button = render_block("orders/new.html", "add_line_button", next_index=index + 1, oob=True)
    return row + button


@bp.get("/orders/<int:order_id>")
def show(order_id: int):
    """An order with its lines, what is in stock for each, and what can be done next."""
    order = get_order(order_id)
    return render_template("orders/order.html", order=order, confirm=ConfirmForm())


def _act(order_id: int, action, done: str):
    require_confirmation()
    try:
        order = action(order_id, user_id=current_user.id)
    except StockError as error:
        order = get_order(order_id)
        return render_template(
            "orders/order.html", order=order, confirm=ConfirmForm(), error=str(error)
        ), error.status_code
    flash(done.format(reference=order.reference), "success")
    return redirect(url_for("orders.show", order_id=order_id), code=303)


@bp.post("/orders/<int:order_id>/place")
@role_required(Role.STAFF)
def place(order_id: int):
    """Take the stock of every line, or none."""
    return _act(order_id, place_order, "Order {reference} placed: its stock is taken.")


@bp.get("/orders/<int:order_id>/cancel")
@role_required(Role.STAFF)
def confirm_cancel(order_id: int):
    """Ask before cancelling, saying what comes back to stock (a plain page: works without scripts)."""
    order = get_order(order_id)
    if order.status not in (OrderStatus.DRAFT, OrderStatus.PLACED):
        flash(f"Order {order.reference} is {order.status}, so it cannot be cancelled.", "error")
        return redirect(url_for("orders.show", order_id=order_id), code=303)
    return render_template("orders/confirm_cancel.html", order=order, confirm=ConfirmForm())


@bp.post("/orders/<int:order_id>/cancel")
@role_required(Role.STAFF)
def cancel(order_id: int):
    """Cancel; a placed order's stock comes back."""
    return _act(order_id, cancel_order, "Order {reference} cancelled.")


@bp.post("/orders/<int:order_id>/fulfil")
@role_required(Role.STAFF)
def fulfil(order_id: int):
    """Mark a placed order as shipped."""
    return _act(order_id, fulfil_order, "Order {reference} marked fulfilled.")
