"""The search page: search as you type, filters, facets, highlighted snippets, CSV of the results."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.classify.models import Category
from app.csvio import csv_response
from app.documents.models import Document
from app.documents.queries import uploader_choices
from app.extensions import db
from app.search import service
from app.search.filters import SearchFilters
from app.search.forms import SearchForm
from app.web import Filtered, read_filters, render_page

bp = Blueprint("search", __name__)

PER_PAGE = 20
CSV_LIMIT = 10_000  # a search export is for a person's spreadsheet; `flask search` covers the rest
CSV_COLUMNS = ["document_id", "filename", "title", "category", "state", "uploaded_at", "document_date", "score", "url"]


def _read_filters() -> Filtered[SearchForm, SearchFilters]:
    """The search form bound to the query string (its choices from the database) and the filters it asks for."""
    form = SearchForm(formdata=request.args)
    names = db.session.scalars(select(Category.name).order_by(Category.active.desc(), Category.name)).all()
    form.category.choices = [SelectChoice("", "Any")] + [SelectChoice(n, n) for n in names]
    form.uploader.choices = uploader_choices("email")
    return read_filters(form, _filters_of, SearchFilters())


def _filters_of(form: SearchForm) -> SearchFilters:
    return SearchFilters(
        category=form.category.data or None,
        state=form.state.data or None,
        review=form.review.data or None,
        uploader=form.uploader.data or None,
        since=form.since.data,
        until=form.until.data,
        dated_from=form.dated_from.data,
        dated_until=form.dated_until.data,
    )


@bp.get("/search")
def index():
    """The search page; htmx asks for the results block only, as the person types."""
    filtered = _read_filters()
    form, filters = filtered.form, filtered.filters
    page = max(1, request.args.get("page", 1, type=int) or 1)
    result = instead_of = None
    if not filtered.problem:
        sort = form.sort.data or "relevance"
        result = service.search(form.q.data or "", filters=filters, page=page, per_page=PER_PAGE, sort=sort)
        if result.correction and not result.total and not request.args.get("exact"):
            # Nothing for the words as typed, but the likely spelling finds something: show that at once.
            corrected = service.search(result.correction, filters=filters, page=page, per_page=PER_PAGE, sort=sort)
            if corrected.total:
                result, instead_of = corrected, form.q.data
    return render_page(
        "search/search.html",
        "results",
        form=form,
        result=result,
        instead_of=instead_of,
        # The page as asked for: the service caps how deep a search may page, the pager says where the person is.
        pages=service.Pages(page, PER_PAGE, result.total) if result else None,
        problem=filtered.problem,
        args=request.args.to_dict(),
    ), filtered.status


@bp.get("/search.csv")
def export():
    """The matching documents as CSV (best first, up to CSV_LIMIT), same query and filters as the page."""
    filtered = _read_filters()
    form, filters = filtered.form, filtered.or_400()
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
                hit.title,
                hit.category,
                document.state,
                document.uploaded_at,
                hit.document_date,
                round(hit.score, 4) if hit.score is not None else None,
                f"{base}/documents/{hit.document_id}",
            )

    return csv_response("search.csv", CSV_COLUMNS, rows())
