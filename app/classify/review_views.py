"""The review queue: documents the model was unsure about, lowest confidence first.

One page shows the current item (preview, excerpt, the model's top three), the counts
per category and the rest of the queue. A decision posts with htmx and gets back the
next item with the counts and the list swapped out of band, so staff go through the
queue from the keyboard (static/js/review.js) without a reload; without JavaScript the
same forms post normally and redirect to the next item. Viewers may look; deciding
needs the staff role.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_blocks
from sqlalchemy import select
from sqlalchemy.orm import defer
from wtforms.fields.choices import SelectChoice

from app.auth.access import role_required
from app.auth.models import Role
from app.classify import queries, service
from app.classify.forms import ReviewFilterForm
from app.classify.models import Category
from app.classify.queries import QueueFilter
from app.documents.models import Document
from app.documents.queries import uploader_choices
from app.documents.visibility import visible_document, visible_document_or_404
from app.extensions import db
from app.web import Filtered, is_htmx, read_filters, render_page

bp = Blueprint("review", __name__, url_prefix="/review")

TEMPLATE = "review/queue.html"
LIST_SIZE = 50
# Keys 1-9 then 0 pick the first ten active categories, in the order they were created.
KEYS = [*"123456789", "0"]


def _digits(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _filters() -> Filtered[ReviewFilterForm, QueueFilter]:
    form = ReviewFilterForm(formdata=request.args)
    categories = db.session.execute(
        select(Category.id, Category.name).where(Category.active.is_(True)).order_by(Category.id)
    ).all()
    form.category.choices = [SelectChoice("", "Any")] + [SelectChoice(str(i), n) for i, n in categories]
    form.uploader.choices = uploader_choices()
    return read_filters(
        form,
        lambda f: QueueFilter(
            category_id=_digits(f.category.data),
            uploader_id=_digits(f.uploader.data),
            since=f.since.data,
            until=f.until.data,
        ),
        QueueFilter(),
    )


def _keyed_categories() -> list[tuple[str | None, Category]]:
    active = db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.id)).all()
    return [(KEYS[i] if i < len(KEYS) else None, category) for i, category in enumerate(active)]


def _context(filters: QueueFilter, current: Document | None, **extra) -> dict:
    """Everything the queue template shows around `current`."""
    categories = _keyed_categories()
    by_name = {category.name: category for _, category in categories}
    suggestion = None
    if current is not None and current.predictions:
        suggestion = by_name.get(current.predictions[0][0])
    total = queries.size(filters)
    return {
        "current": current,
        "suggestion": suggestion,
        "position": queries.position(filters, current) if current is not None else 0,
        "total": total,
        # The list shows names and figures only: the text (which can be large) stays in the database.
        "queue": db.session.scalars(queries.waiting(filters).options(defer(Document.text)).limit(LIST_SIZE)).all(),
        # Without filters the queue is everything waiting: no second count.
        "waiting_everywhere": service.waiting_count() if filters.args() else total,
        "filed": service.filed_counts(),
        "categories": categories,
        "filter_args": filters.args(),
        "can_decide": current_user.can(Role.STAFF),
        **extra,
    }


def _target(filters: QueueFilter) -> Document | None:
    """The item the request asks for: `at` (or its neighbour when `move` is given), else the first."""
    # A document this person may not see (a trashed one, say) counts as absent: the queue starts at the top.
    at = visible_document(request.args.get("at", type=int))
    move = request.args.get("move")
    if at is None:
        return queries.first(filters)
    if move in ("next", "skip"):
        return queries.following(filters, at)
    if move == "previous":
        return queries.preceding(filters, at)
    return at if queries.is_waiting(filters, at) else queries.following(filters, at)


def _page_url(filters: QueueFilter, document: Document | None) -> str:
    args = filters.args()
    if document is not None:
        args["at"] = str(document.id)
    return url_for("review.index", **args)


@bp.get("")
def index():
    """The queue: the current item, the counts, and the next fifty waiting."""
    read = _filters()
    filters = read.filters
    current = None if read.problem else _target(filters)
    context = _context(filters, current, filters_form=read.form, problem=read.problem)
    if is_htmx() and request.args.get("move"):
        # j / k / s: only the item changes; the address bar follows it.
        body = render_blocks(TEMPLATE, ["item"], **context)
        return body, 200, {"HX-Push-Url": _page_url(filters, current)}
    return render_page(TEMPLATE, "queue", **context), read.status


def _after_decision(filters: QueueFilter, decided: Document, message: str, rank_of=None):
    """The next item after a decision: fragments for htmx, a redirect otherwise."""
    following = queries.following(filters, rank_of or decided)
    if not is_htmx():
        flash(message, "success")
        return redirect(_page_url(filters, following), code=303)
    context = _context(filters, following, decided_message=message, oob=True)
    body = render_blocks(TEMPLATE, ["item", "counts", "list"], **context)
    return body, 200, {"HX-Push-Url": _page_url(filters, following)}


@bp.post("/<int:document_id>")
@role_required(Role.STAFF)
def decide(document_id: int):
    """File one document: under the model's first choice (accept) or under the category picked."""
    filters = _filters().filters
    document = visible_document_or_404(document_id)
    # Where the document stood in the queue before the decision: the next item is the one after that.
    place = SimpleNamespace(id=document.id, confidence=document.confidence)
    raw = request.form.get("category_id", "")
    if raw == "":
        if not document.predictions:
            raise service.ReviewError(f"{document.filename} has no suggestion to accept; pick a category.")
        category = db.session.scalar(select(Category).where(Category.name == document.predictions[0][0]))
        if category is None:
            raise service.ReviewError("The suggested category no longer exists; pick a category.")
    elif raw.isdigit():
        category = db.session.get(Category, int(raw))
        if category is None:
            raise service.ReviewError("Choose an active category.")
    else:
        raise service.ReviewError("Choose a category from the list.")
    service.review_document(document.id, category.id, user_id=current_user.id)
    message = f"Filed {document.filename} under {category.name}."
    if request.form.get("back") == "document":
        flash(message, "success")
        return redirect(url_for("documents.show", document_id=document.id), code=303)
    return _after_decision(filters, document, message, rank_of=place)


@bp.post("/accept")
@role_required(Role.STAFF)
def accept_selected():
    """Bulk accept: the model's first choice for every selected document still waiting."""
    filters = _filters().filters
    ids = [int(value) for value in request.form.getlist("document_id") if value.isdigit()]
    outcome = service.accept_suggestions(ids, user_id=current_user.id)
    parts = []
    if outcome.accepted:
        parts.append(f"Accepted {len(outcome.accepted)} suggestion{'' if len(outcome.accepted) == 1 else 's'}.")
    parts.extend(outcome.passed_over)
    message = " ".join(parts)
    if not is_htmx():
        flash(message, "success" if outcome.accepted else "error")
        return redirect(_page_url(filters, None), code=303)
    context = _context(filters, queries.first(filters), decided_message=message, oob=True)
    body = render_blocks(TEMPLATE, ["item", "counts", "list"], **context)
    return body, 200, {"HX-Push-Url": _page_url(filters, None)}
