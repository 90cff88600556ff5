"""Order pages: list, write a draft, place it (all lines or none), cancel, mark fulfilled."""

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
from app.stock import queries, service
from app.stock.errors import StockError
from app.stock.forms import OrderFilterForm, OrderForm
from app.stock.models import Product
from app.web import invalid_filters, render_page

bp = Blueprint("orders", __name__)  # routes spell out /orders so the list can have /orders.csv

ORDER_COLUMNS = ["reference", "customer", "status", "created_at", "placed_at", "sku", "product", "quantity"]


def _order_filters() -> tuple[OrderFilterForm, queries.OrderFilter, str | None]:
    form = OrderFilterForm(formdata=request.args)
    if not form.validate():
        return (
            form,
            queries.OrderFilter(),
            invalid_filters(form),
        )
    return (
        form,
        queries.OrderFilter(form.q.data or "", form.status.data or None, form.since.data, form.until.data),
        None,
    )


@bp.get("/orders")
def index():
    """Orders, newest first, by status, customer or reference and date."""
    form, filters, problem = _order_filters()
    page = (
        None if problem else db.paginate(queries.order_query(filters), per_page=50, max_per_page=200, error_out=False)
    )
    return render_page("orders/list.html", "results", filters=form, page=page, problem=problem), 400 if problem else 200


@bp.get("/orders.csv")
def export():
    """The listed orders with their lines, one CSV row per line."""
    _form, filters, problem = _order_filters()
    if problem:
        abort(400, description=problem)

    def rows():
        for order, line in db.session.execute(queries.order_lines_query(filters).execution_options(yield_per=1000)):
            yield (
                order.reference,
                order.customer,
                order.status,
                order.created_at,
                order.placed_at,
                line.product.sku,
                line.product.name,
                line.quantity,
            )

    return csv_response("orders.csv", ORDER_COLUMNS, rows())


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
            product = service.product_by_sku(sku)
            amount = service.parse_count(quantity)
            service.check_quantity(amount, what=f"quantity on line {number}")
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
                order = service.create_order(
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
    return render_template("orders/new.html", form=form, problems=problems, skus=_skus()), status


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
    order = service.get_order(order_id)
    return render_template("orders/order.html", order=order, confirm=ConfirmForm())


def _act(order_id: int, action, done: str):
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    try:
        order = action(order_id, user_id=current_user.id)
    except StockError as error:
        order = service.get_order(order_id)
        return render_template(
            "orders/order.html", order=order, confirm=ConfirmForm(), error=str(error)
        ), error.status_code
    flash(done.format(reference=order.reference), "success")
    return redirect(url_for("orders.show", order_id=order_id), code=303)


@bp.post("/orders/<int:order_id>/place")
@role_required(Role.STAFF)
def place(order_id: int):
    """Take the stock of every line, or none."""
    return _act(order_id, service.place_order, "Order {reference} placed: its stock is taken.")


@bp.post("/orders/<int:order_id>/cancel")
@role_required(Role.STAFF)
def cancel(order_id: int):
    """Cancel; a placed order's stock comes back."""
    return _act(order_id, service.cancel_order, "Order {reference} cancelled.")


@bp.post("/orders/<int:order_id>/fulfil")
@role_required(Role.STAFF)
def fulfil(order_id: int):
    """Mark a placed order as shipped."""
    return _act(order_id, service.fulfil_order, "Order {reference} marked fulfilled.")
