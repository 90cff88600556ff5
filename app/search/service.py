"""Searching the documents: the entry point the search page, its CSV export and the document page call.

`search(...)` reads the query (`app.search.query`), translates the filters (`app.search.filters`),
collects one page, the total and the facets (`app.search.collect`), and dresses the page's hits
with snippets and a "did you mean" (`app.search.snippets`). Whatever a person types is answered,
never raised: a query the parser cannot use is searched for its plain words instead, with a
sentence saying so (`SearchResult.message`).

Deleted documents never show: hits are checked against the database (one IN query for the
page), and documents with a queued 'delete' in the outbox are masked before counting, so
they vanish before the index catches up.

Cost: Whoosh's top-N collector for the page, then one unscored pass over the matches for the
total and the facets; a search stops after SEARCH_TIME_BUDGET seconds with what it found.
Snippets are made from the database text of the shown hits only.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from whoosh import query as wq
from whoosh.searching import Searcher

from app.classify.models import Category
from app.documents.models import Document, default_title
from app.extensions import db
from app.search import backend, pg_search
from app.search import index as search_index
from app.search.collect import collect
from app.search.filters import SearchFilters, Wanted, pending_deletes
from app.search.query import TOO_BROAD, bound_wildcards, clean, read_query, without_exact_forms
from app.search.schema import normalize_category
from app.search.snippets import SNIPPET_SOURCE_CHARS, did_you_mean, snippet, terms_for

SORTS = ("relevance", "newest", "oldest")
MAX_RESULTS = 10_000  # the deepest hit a page can reach (page * per_page): it bounds the heap
SNIPPET_HITS = 100  # hits per call that get a snippet (a CSV of thousands needs none: snippets=False)
IN_CHUNK = 1_000  # ids per IN (...) query
SEARCH_TIME_BUDGET = 2.0  # seconds of matching per search; past it, what was found so far is shown


@dataclass(frozen=True)
class Pages:
    """Where one page stands among all the pages of a result: what the shared pager macro reads."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

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


@dataclass(frozen=True)
class Hit:
    document_id: int
    filename: str
    category: str | None
    score: float | None  # None when sorted by date
    snippet: Markup  # escaped text with <mark> around the matched words
    uploaded_at: datetime | None = None
    title: str = ""  # the document's title, or its file name without the extension
    document_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class SearchResult(Pages):
    """One page of a search: its hits, and how many pages the whole result has (page numbers as searched)."""

    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: list[tuple[str, int]] = field(default_factory=list)  # (category, matches) most first
    correction: str | None = None  # "did you mean …", only when it differs from the query
    estimated: bool = False  # the total and the facets were scaled up from a sample of a huge result
    message: str | None = None  # a sentence about how the query was read, when it was not as typed
    page: int = 1
    per_page: int = 20
    sort: str = "relevance"

    def shown(self, count: int) -> str:
        """A count as the page shows it: exact, or rounded to two significant figures when estimated."""
        if not self.estimated or count < 100:
            return f"{count:,}"
        step = 10 ** (len(str(count)) - 2)
        return f"{round(count / step) * step:,}"

    @property
    def has_previous(self) -> bool:
        """`has_prev` spelled out, as callers of the service read it."""
        return self.has_prev


def search(
    query: str | None,
    *,
    filters: SearchFilters | Mapping[str, Any] | None = None,
    page: int = 1,
    per_page: int = 20,
    sort: str = "relevance",
    snippets: bool = True,
) -> SearchResult:
    """One page of documents matching `query` and `filters`, with facets, snippets and messages.

    Never raises for anything a person can type: an unusable query gives an empty result with a
    `message`. `per_page` may be large (a CSV: up to MAX_RESULTS); snippets are made for the first
    SNIPPET_HITS hits only, and not at all with `snippets=False`.
    """
    filters = SearchFilters.of(filters)
    per_page = max(1, min(int(per_page or 20), MAX_RESULTS))
    page = max(1, min(int(page or 1), MAX_RESULTS // per_page))
    sort = sort if sort in SORTS else "relevance"
    text, notes = clean(query)
    empty = SearchResult(query=text, total=0, page=page, per_page=per_page, sort=sort)

    if not text:
        if not filters.any:
            return empty
        q: wq.Query | None = wq.Every()
    else:
        q = read_query(text, notes)
    message = " ".join(notes) or None
    if q is None:
        return replace(empty, message=message)
    if isinstance(q, wq.Every) and sort == "relevance":
        sort = "newest"  # no words to rank by: the newest first

    if backend.uses_postgres():
        return _run_postgres(q, filters, replace(empty, message=message, sort=sort), snippets)
    try:
        with search_index.shared_searcher() as searcher:
            return _run(searcher, q, filters, replace(empty, message=message, sort=sort), snippets)
    except search_index.IndexMissing:
        return replace(empty, message="Search is being prepared; try again in a minute.")


def _run(searcher: Searcher, q: wq.Query, filters: SearchFilters, asked: SearchResult, snippets: bool) -> SearchResult:
    """`asked` (the query as read, the page, the sort, any message so far) with what the index holds for it."""
    deadline = time.monotonic() + SEARCH_TIME_BUDGET
    message = asked.message
    q, too_broad = bound_wildcards(q, searcher.reader(), deadline)
    if too_broad:
        message = f"{message} {TOO_BROAD}" if message else TOO_BROAD
    if q is wq.NullQuery:
        return replace(asked, message=message)
    hidden = pending_deletes()
    runnable = wq.AndNot(q, hidden) if hidden is not None else q
    wanted, limit = Wanted.of(filters), asked.page * asked.per_page
    collected = collect(searcher, runnable, wanted, limit, asked.sort, deadline, counted=without_exact_forms(runnable))
    if not collected.complete:
        slow = "This search took too long to finish, so the results and counts are incomplete; add words to narrow it."
        message = f"{message} {slow}" if message else slow

    ranked = collected.ranked[(asked.page - 1) * asked.per_page :]
    hits, gone = _hits(searcher, q, ranked, scored=asked.sort == "relevance", snippets=snippets)
    text = asked.query
    return replace(
        asked,
        total=max(0, collected.total - gone),
        hits=hits,
        facets=_facets(collected.counts),
        estimated=collected.estimated,
        correction=did_you_mean(q, text, searcher) if text and not isinstance(q, wq.Every) else None,
        message=message,
    )


def _run_postgres(q: wq.Query, filters: SearchFilters, asked: SearchResult, snippets: bool) -> SearchResult:
    """`asked` with what PostgreSQL full-text search finds for it (app.search.pg_search)."""
    try:
        found = pg_search.run(
            q,
            asked.query,
            filters,
            page=asked.page,
            per_page=asked.per_page,
            sort=asked.sort,
            snippets=snippets,
            snippet_hits=SNIPPET_HITS,
            budget=SEARCH_TIME_BUDGET,
        )
    except pg_search.TooSlow:
        slow = "This search took too long to finish, so nothing is shown; add words to narrow it."
        return replace(asked, message=f"{asked.message} {slow}" if asked.message else slow)
    return replace(
        asked,
        total=found.total,
        hits=[_hit(row) for row in found.rows],
        facets=_facets(found.counts),
        correction=found.correction,
    )


def _hit(row: dict[str, Any]) -> Hit:
    return Hit(**{**row, "title": row["title"] or default_title(row["filename"])})


def _hits(
    searcher: Searcher, q: wq.Query, ranked: list[tuple[float, int]], *, scored: bool, snippets: bool = True
) -> tuple[list[Hit], int]:
    """The page's hits from the database (deleted or vanished documents dropped), and how many were dropped.

    Text is read (SNIPPET_SOURCE_CHARS of it) only for the first SNIPPET_HITS hits that get a snippet.
    """
    if not ranked:
        return [], 0
    ids = [int(searcher.stored_fields(docnum)["id"]) for _, docnum in ranked]
    rows: dict[int, Any] = {}
    for start in range(0, len(ids), IN_CHUNK):
        rows.update(
            (row.id, row)
            for row in db.session.execute(
                select(
                    Document.id,
                    Document.filename,
                    Document.title,
                    Document.document_date,
                    Document.uploaded_at,
                    Category.name.label("category"),
                )
                .outerjoin(Category, Category.id == Document.category_id)
                .where(Document.id.in_(ids[start : start + IN_CHUNK]), Document.deleted_at.is_(None))
            )
        )
    texts: dict[int, str] = {}
    if snippets:
        wanted = [document_id for document_id in ids if document_id in rows][:SNIPPET_HITS]
        texts = dict(
            db.session.execute(
                select(Document.id, func.substr(Document.text, 1, SNIPPET_SOURCE_CHARS)).where(Document.id.in_(wanted))
            ).all()
        )
    content_terms = terms_for(q, searcher, "content") if texts else frozenset()
    hits = []
    for (key, _), document_id in zip(ranked, ids, strict=True):
        row = rows.get(document_id)
        if row is None:
            continue
        hits.append(
            Hit(
                document_id=document_id,
                filename=row.filename,
                category=row.category,
                score=round(float(key), 4) if scored else None,
                snippet=snippet(texts[document_id] or "", content_terms) if document_id in texts else Markup(""),
                uploaded_at=row.uploaded_at,
                title=row.title or default_title(row.filename),
                document_date=row.document_date,
            )
        )
    return hits, len(ids) - len(hits)


def _facets(counts: Counter[str]) -> list[tuple[str, int]]:
    """Counts per category name (as the categories table spells it), most first."""
    names = {normalize_category(name): name for name in db.session.scalars(select(Category.name))}
    return sorted(
        ((names.get(key, key), count) for key, count in counts.items() if key),
        key=lambda item: (-item[1], item[0]),
    )


# ---------------------------------------------------------------- similar documents


def more_like_this(document_id: int, limit: int = 5) -> list[Hit]:
    """Documents whose text resembles this one's (by its most telling words), best first, without itself."""
    limit = max(1, min(int(limit), 50))
    text = db.session.scalar(
        select(func.substr(Document.text, 1, SNIPPET_SOURCE_CHARS)).where(
            Document.id == document_id, Document.deleted_at.is_(None)
        )
    )
    if not text or not text.strip():
        return []
    if backend.uses_postgres():
        return [_hit(row) for row in pg_search.more_like_this(document_id, limit)]
    try:
        with search_index.shared_searcher() as searcher:
            key_terms = searcher.key_terms_from_text("content", text, numterms=12)
            if not key_terms:
                return []
            q = wq.Or([wq.Term("content", word, boost=weight) for word, weight in key_terms])
            pending = pending_deletes()
            hidden = wq.Or([wq.Term("id", str(document_id))] + ([pending] if pending is not None else []))
            # Top-N with Whoosh's block skipping: no facets or totals are needed here.
            results = searcher.search(wq.AndNot(q, hidden), limit=limit + 5)
            hits, _ = _hits(searcher, q, list(results.top_n), scored=True)
    except search_index.IndexMissing:
        return []
    return hits[:limit]
