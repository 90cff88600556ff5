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
from app.auth.models import Role, User
from app.classify import review_queue, service
from app.classify.forms import ReviewFilterForm
from app.classify.models import Category
from app.classify.review_queue import QueueFilter
from app.documents.models import Document
from app.documents.visibility import visible_document, visible_document_or_404
from app.extensions import db
from app.web import invalid_filters, is_htmx, render_page

bp = Blueprint("review", __name__, url_prefix="/review")

TEMPLATE = "review/queue.html"
LIST_SIZE = 50
# Keys 1-9 then 0 pick the first ten active categories, in the order they were created.
KEYS = [*"123456789", "0"]


def _filters() -> tuple[ReviewFilterForm, QueueFilter, str | None]:
    form = ReviewFilterForm(formdata=request.args)
    categories = db.session.execute(
        select(Category.id, Category.name).where(Category.active.is_(True)).order_by(Category.id)
    ).all()
    form.category.choices = [SelectChoice("", "Any")] + [SelectChoice(str(i), n) for i, n in categories]
    uploaders = db.session.execute(
        select(User.id, User.email).where(User.id.in_(select(Document.uploaded_by).distinct())).order_by(User.email)
    ).all()
    form.uploader.choices = [SelectChoice("", "Anyone")] + [SelectChoice(str(i), e) for i, e in uploaders]
    if not form.validate():
        return form, QueueFilter(), invalid_filters(form)
    filters = QueueFilter(
        category_id=int(form.category.data) if (form.category.data or "").isdigit() else None,
        uploader_id=int(form.uploader.data) if (form.uploader.data or "").isdigit() else None,
        since=form.since.data,
        until=form.until.data,
    )
    return form, filters, None


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
    total = review_queue.size(filters)
    return {
        "current": current,
        "suggestion": suggestion,
        "position": review_queue.position(filters, current) if current is not None else 0,
        "total": total,
        # The list shows names and figures only: the text (which can be large) stays in the database.
        "queue": db.session.scalars(review_queue.waiting(filters).options(defer(Document.text)).limit(LIST_SIZE)).all(),
        # Without filters the queue is everything waiting: no second count.
        "waiting_everywhere": service.waiting_count() if filters.args() else total,
        "filed": service.filed_counts(),
        "categories": categories,
        "filter_args": filters.args(),
        "can_decide": current_user.can(Role.STAFF),
        **extra,
    }


def _document_or_none(document_id: int | None) -> Document | None:
    """The `at` document when it may be seen; a trashed one is treated as absent (the queue starts at the top)."""
    return visible_document(document_id)


def _target(filters: QueueFilter) -> Document | None:
    """The item the request asks for: `at` (or its neighbour when `move` is given), else the first."""
    at = _document_or_none(request.args.get("at", type=int))
    move = request.args.get("move")
    if at is None:
        return review_queue.first(filters)
    if move in ("next", "skip"):
        return review_queue.following(filters, at)
    if move == "previous":
        return review_queue.preceding(filters, at)
    return at if review_queue.is_waiting(filters, at) else review_queue.following(filters, at)


def _page_url(filters: QueueFilter, document: Document | None) -> str:
    args = filters.args()
    if document is not None:
        args["at"] = str(document.id)
    return url_for("review.index", **args)


@bp.get("")
def index():
    """The queue: the current item, the counts, and the next fifty waiting."""
    form, filters, problem = _filters()
    current = None if problem else _target(filters)
    context = _context(filters, current, filters_form=form, problem=problem)
    if is_htmx() and request.args.get("move"):
        # j / k / s: only the item changes; the address bar follows it.
        body = render_blocks(TEMPLATE, ["item"], **context)
        return body, 200, {"HX-Push-Url": _page_url(filters, current)}
    return render_page(TEMPLATE, "queue", **context), (400 if problem else 200)


def _after_decision(filters: QueueFilter, decided: Document, message: str, rank_of=None):
    """The next item after a decision: fragments for htmx, a redirect otherwise."""
    following = review_queue.following(filters, rank_of or decided)
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
    _form, filters, _problem = _filters()
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
    _form, filters, _problem = _filters()
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
    context = _context(filters, review_queue.first(filters), decided_message=message, oob=True)
    body = render_blocks(TEMPLATE, ["item", "counts", "list"], **context)
    return body, 200, {"HX-Push-Url": _page_url(filters, None)}
