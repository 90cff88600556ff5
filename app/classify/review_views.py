"""The review queue: documents the model was unsure about, lowest confidence first.

One page shows the current item (preview, excerpt, the model's top three), the counts
per category and the rest of the queue. A decision posts with htmx and gets back the
next item with the counts and the list swapped out of band, so staff go through the
queue from the keyboard (static/js/review.js) without a reload; without JavaScript the
same forms post normally and redirect to the next item. Viewers may look; deciding
needs the staff role.

For staff the current item is leased to them (service.take_lease) so a colleague is shown
another one; skip (`s`) is a POST that sends the item to the end of this reviewer's queue;
undo (`u`) takes back their newest decision. Bulk accept asks first, on a page of its own
(or inline with htmx), saying how many documents go under which category.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_blocks
from sqlalchemy import select
from sqlalchemy.orm import defer
from wtforms.fields.choices import SelectChoice

from app.auth.access import role_required
from app.auth.models import Role
from app.classify import leases, queries, service
from app.classify import undo as undoing
from app.classify.forms import ReviewFilterForm
from app.classify.models import Category
from app.classify.queries import QueueFilter
from app.db_types import utcnow
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


# How much of the text the item shows.
EXCERPT = 1500
# A line is "tabular" when it has two or more columns split by a tab, a pipe or a run of spaces.
_COLUMNS = re.compile(r"\S(?:\t| {2,}|\s\|\s?)\S")


def excerpt_is_tabular(text: str | None) -> bool:
    """Whether the excerpt reads like a table: then it is shown in monospace, so its columns line up."""
    lines = [line for line in (text or "")[:EXCERPT].splitlines() if line.strip()]
    if len(lines) < 3:
        return False
    columned = sum(1 for line in lines if _COLUMNS.search(line.strip()))
    return columned >= 3 and columned * 3 >= len(lines)


def _reviewer_id() -> int | None:
    """Who holds leases and skips here: a person who may decide (a viewer only looks)."""
    return current_user.id if current_user.can(Role.STAFF) else None


def _context(filters: QueueFilter, current: Document | None, **extra) -> dict:
    """Everything the queue template shows around `current`."""
    reviewer_id = _reviewer_id()
    categories = _keyed_categories()
    by_key = {category.key: category for _, category in categories}
    suggestion = None
    if current is not None and current.predictions:
        suggestion = by_key.get(current.predictions[0][0])
    total = queries.size(filters, reviewer_id)
    matching = queries.size(filters) if reviewer_id is not None else total
    lease = queries.holder(current.id) if current is not None and reviewer_id is not None else None
    held_by = None
    if lease is not None and lease.user_id != reviewer_id:
        held_by = SimpleNamespace(name=leases.holder_name(lease.user_id), until=lease.expires_at)
    return {
        "current": current,
        "suggestion": suggestion,
        "position": queries.position(filters, queries.place(current, reviewer_id), reviewer_id)
        if current is not None
        else 0,
        "total": total,
        "matching": matching,
        "held_elsewhere": max(matching - total, 0),
        "held_by": held_by,
        "tabular": excerpt_is_tabular(current.text) if current is not None else False,
        "excerpt_size": EXCERPT,
        # The list shows names and figures only: the text (which can be large) stays in the database.
        "queue": db.session.scalars(
            queries.waiting(filters, reviewer_id).options(defer(Document.text)).limit(LIST_SIZE)
        ).all(),
        # Without filters the queue is everything waiting: no second count.
        "waiting_everywhere": service.waiting_count() if filters.args() else matching,
        "filed": service.filed_counts(),
        "categories": categories,
        "filter_args": filters.args(),
        "can_decide": current_user.can(Role.STAFF),
        "undo": _undo_offer() if reviewer_id is not None else None,
        **extra,
    }


def _undo_offer() -> SimpleNamespace | None:
    """What `u` would take back, for the button's label."""
    review = undoing.undoable(current_user.id)
    if review is None:
        return None
    filename = db.session.scalar(select(Document.filename).where(Document.id == review.document_id))
    return SimpleNamespace(filename=filename, category=review.chosen_category.name)


def _hold(filters: QueueFilter, candidate: Document | None, explicit: bool = False) -> Document | None:
    """Lease `candidate` to the reviewer; when a colleague got it first, the next free one instead.

    An item asked for by address (`explicit`) that someone else holds is shown as it is, with a notice.
    """
    reviewer_id = _reviewer_id()
    if reviewer_id is None:
        return candidate
    for _ in range(10):
        if candidate is None:
            leases.release_leases(reviewer_id)
            return None
        if leases.take_lease(candidate.id, reviewer_id):
            return candidate
        if explicit:
            return candidate
        candidate = queries.following(filters, queries.place(candidate, reviewer_id), reviewer_id)
    return candidate


def _target(filters: QueueFilter) -> tuple[Document | None, bool]:
    """The item the request asks for: `at` (or its neighbour when `move` is given), else the first.

    The second value says whether the address named that very item (shown even when a colleague holds it).
    """
    reviewer_id = _reviewer_id()
    # A document this person may not see (a trashed one, say) counts as absent: the queue starts at the top.
    at = visible_document(request.args.get("at", type=int))
    move = request.args.get("move")
    if at is None:
        return queries.first(filters, reviewer_id), False
    here = queries.place(at, reviewer_id)
    if move in ("next", "skip"):
        return queries.following(filters, here, reviewer_id), False
    if move == "previous":
        return queries.preceding(filters, here, reviewer_id), False
    if queries.is_waiting(filters, at):
        return at, True
    return queries.following(filters, here, reviewer_id), False


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
    current = None
    if not read.problem:
        current, explicit = _target(filters)
        current = _hold(filters, current, explicit)
    context = _context(filters, current, filters_form=read.form, problem=read.problem)
    if is_htmx() and request.args.get("move"):
        # j / k: only the item changes; the address bar follows it (review.js moves the list's highlight).
        body = render_blocks(TEMPLATE, ["item"], **context)
        return body + CLEAR_MESSAGES, 200, {"HX-Push-Url": _page_url(filters, current)}
    return render_page(TEMPLATE, "queue", **context), read.status


# Sent out of band with every successful htmx answer: an error shown for the previous action goes away.
CLEAR_MESSAGES = '<div id="messages" aria-live="polite" hx-swap-oob="innerHTML"></div>'


def _swap(filters: QueueFilter, current: Document | None, message: str):
    """The htmx answer after a change: the item, the counts and the list, and the address of the item."""
    context = _context(filters, current, decided_message=message, oob=True)
    body = render_blocks(TEMPLATE, ["item", "counts", "list"], **context)
    return body + CLEAR_MESSAGES, 200, {"HX-Push-Url": _page_url(filters, current)}


def _after_decision(filters: QueueFilter, place: queries.Place, message: str):
    """The next item after a decision: fragments for htmx, a redirect otherwise."""
    following = _hold(filters, queries.following(filters, place, _reviewer_id()))
    if not is_htmx():
        flash(message, "success")
        return redirect(_page_url(filters, following), code=303)
    return _swap(filters, following, message)


@bp.post("/<int:document_id>")
@role_required(Role.STAFF)
def decide(document_id: int):
    """File one document: under the model's first choice (accept) or under the category picked."""
    filters = _filters().filters
    document = visible_document_or_404(document_id)
    # Where the document stood in the queue before the decision: the next item is the one after that.
    place = queries.place(document, _reviewer_id())
    raw = request.form.get("category_id", "")
    if raw == "":
        if not document.predictions:
            raise service.ReviewError(f"{document.filename} has no suggestion to accept; pick a category.")
        category = db.session.scalar(select(Category).where(Category.key == document.predictions[0][0]))
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
    return _after_decision(filters, place, message)


@bp.post("/<int:document_id>/skip")
@role_required(Role.STAFF)
def skip(document_id: int):
    """Skip (`s`): the document goes to the end of this reviewer's queue; the next one comes up."""
    filters = _filters().filters
    document = visible_document_or_404(document_id)
    service.skip(document.id, user_id=current_user.id, now=utcnow())
    following = _hold(filters, queries.first(filters, current_user.id))
    message = f"Skipped {document.filename}: it is at the end of your queue."
    if not is_htmx():
        flash(message, "success")
        return redirect(_page_url(filters, following), code=303)
    return _swap(filters, following, message)


@bp.post("/undo")
@role_required(Role.STAFF)
def undo():
    """Undo (`u`): take back this reviewer's newest decision; the document comes back as the current item."""
    filters = _filters().filters
    undone = undoing.undo_last(user_id=current_user.id)
    document = undone.document
    where = "it waits for review again" if undone.waiting else "it is back as the model had filed it"
    message = f"Undone: {document.filename} is no longer filed under {undone.category_name}; {where}."
    current = _hold(filters, document, explicit=True) if undone.waiting else queries.first(filters, _reviewer_id())
    if not is_htmx():
        flash(message, "success")
        return redirect(_page_url(filters, current), code=303)
    return _swap(filters, current, message)


def _selected_ids() -> list[int]:
    return [int(value) for value in request.form.getlist("document_id") if value.isdigit()]


@bp.post("/accept")
@role_required(Role.STAFF)
def accept_selected():
    """Bulk accept: the model's first choice for every selected document still waiting, once confirmed.

    The first post (the list's button) answers with the question: how many documents go under which
    category, and a button that posts the same documents with `confirm`. Select-all (`all`) stands for
    every document in the list as this reviewer sees it.
    """
    filters = _filters().filters
    ids = _selected_ids()
    if request.form.get("all"):
        listed = db.session.scalars(
            queries.waiting(filters, current_user.id).with_only_columns(Document.id).limit(LIST_SIZE)
        )
        ids = list(listed)
    if request.form.get("confirm") != "yes":
        plan = service.plan_accept(ids, user_id=current_user.id)
        context = {"plan": plan, "filter_args": filters.args(), "back": _page_url(filters, None)}
        if is_htmx():
            return render_blocks(CONFIRM_TEMPLATE, ["confirm"], **context) + CLEAR_MESSAGES
        return render_template(CONFIRM_TEMPLATE, **context)
    outcome = service.accept_suggestions(ids, user_id=current_user.id)
    parts = []
    if outcome.accepted:
        parts.append(f"Accepted {len(outcome.accepted)} suggestion{'' if len(outcome.accepted) == 1 else 's'}.")
    parts.extend(outcome.passed_over)
    message = " ".join(parts)
    if not is_htmx():
        flash(message, "success" if outcome.accepted else "error")
        return redirect(_page_url(filters, None), code=303)
    return _swap(filters, _hold(filters, queries.first(filters, current_user.id)), message)


CONFIRM_TEMPLATE = "review/confirm_accept.html"
