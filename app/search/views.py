"""The search page: search as you type, filters, facets, highlighted snippets, CSV of the results."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import Blueprint, abort, request
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.auth.models import User
from app.classify.models import Category
from app.csvio import csv_response
from app.documents.models import Document
from app.extensions import db
from app.search import service
from app.search.forms import SearchForm
from app.web import invalid_filters, render_page

bp = Blueprint("search", __name__)

PER_PAGE = 20
CSV_LIMIT = 10_000  # a search export is for a person's spreadsheet; `flask search` covers the rest
CSV_COLUMNS = ["document_id", "filename", "category", "state", "uploaded_at", "score", "url"]


@dataclass(frozen=True)
class Pages:
    """What the shared pager macro needs, for a search result."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _form() -> tuple[SearchForm, dict, str | None]:
    form = SearchForm(formdata=request.args)
    names = db.session.scalars(select(Category.name).order_by(Category.active.desc(), Category.name)).all()
    form.category.choices = [SelectChoice("", "Any")] + [SelectChoice(n, n) for n in names]
    uploaders = db.session.execute(
        select(User.id, User.email).where(User.id.in_(select(Document.uploaded_by).distinct())).order_by(User.email)
    ).all()
    form.uploader.choices = [SelectChoice("", "Anyone")] + [SelectChoice(e, e) for _, e in uploaders]
    if not form.validate():
        return form, {}, invalid_filters(form)
    filters = {
        "category": form.category.data or None,
        "state": form.state.data or None,
        "review": form.review.data or None,
        "uploader": form.uploader.data or None,
        "since": form.since.data,
        "until": form.until.data,
    }
    return form, {k: v for k, v in filters.items() if v}, None


@bp.get("/search")
def index():
    """The search page; htmx asks for the results block only, as the person types."""
    form, filters, problem = _form()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    result = None
    if not problem:
        result = service.search(
            form.q.data or "", filters=filters, page=page, per_page=PER_PAGE, sort=form.sort.data or "relevance"
        )
    return render_page(
        "search/search.html",
        "results",
        form=form,
        result=result,
        pages=Pages(page, PER_PAGE, result.total) if result else None,
        problem=problem,
        args=request.args.to_dict(),
    ), (400 if problem else 200)


@bp.get("/search.csv")
def export():
    """The matching documents as CSV (best first, up to CSV_LIMIT), same query and filters as the page."""
    form, filters, problem = _form()
    if problem:
        abort(400, description=problem)
    result = service.search(
        form.q.data or "",
        filters=filters,
        page=1,
        per_page=CSV_LIMIT,
        sort=form.sort.data or "relevance",
        snippets=False,
    )
    base = request.host_url.rstrip("/")
    # Only what the rows show: never each hit's whole text.
    documents = {
        d.id: d
        for d in db.session.execute(
            select(Document.id, Document.state, Document.uploaded_at).where(
                Document.id.in_([h.document_id for h in result.hits])
            )
        )
    }

    def rows():
        for hit in result.hits:
            document = documents.get(hit.document_id)
            if document is None:
                continue
            yield (
                hit.document_id,
                hit.filename,
                hit.category,
                document.state,
                document.uploaded_at,
                round(hit.score, 4) if hit.score is not None else None,
                f"{base}/documents/{hit.document_id}",
            )

    return csv_response("search.csv", CSV_COLUMNS, rows())
