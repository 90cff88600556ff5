"""Searching with PostgreSQL full-text search (QM_SEARCH_BACKEND=postgres): one page, the total, the facets,
snippets and "did you mean", for `app.search.service`, which dresses them as it dresses Whoosh's.

One SQL statement counts the matches per category (GROUP BY; the total is their sum, exact, never
estimated), one finds the page: `ts_rank_cd` over the stemmed words (file name and title above the text)
plus, weighted EXACT_BOOST, over the words as written, so an exact form outranks its relatives. Deleted
documents never show: the rows join the documents table (deleted_at IS NULL) and documents with a queued
'delete' are left out, before counting. Every statement of a search shares SEARCH_TIME_BUDGET through
statement_timeout.

Snippets: `ts_headline` over the first SNIPPET_SOURCE_CHARS of each shown hit's text, with private-use
characters as the highlight marks; the text is escaped first and only then are the marks made <mark>, so
nothing from a document is ever markup.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, case, exists, false, func, literal, literal_column, select, text
from sqlalchemy.exc import OperationalError
from whoosh import query as wq
from whoosh.support.charset import accent_map

from app.classify.models import Category
from app.documents.models import Document
from app.extensions import db
from app.search.filters import SearchFilters, Wanted
from app.search.models import SearchDocument, SearchOutbox, SearchWord
from app.search.pg_query import Translated, matches, translate
from app.search.query import EXACT_BOOST, WORD
from app.search.snippets import MAX_CORRECTED_WORDS, SNIPPET_SOURCE_CHARS, respell, snippet

log = logging.getLogger(__name__)

# ts_rank_cd's weights for labels {D, C, B, A}: the text, (unused), the title, the file name.
RANK_WEIGHTS = literal_column("'{0.1, 0.2, 1.0, 1.0}'::float4[]")
RANK_NORMALIZATION = 1 | 32  # by 1 + log(length), then rank/(rank + 1): many mentions saturate, as in BM25
_OPEN, _CLOSE, _BETWEEN = "\ue000", "\ue001", "\ue002"
# PostgreSQL's parser reads <b> as an HTML tag and ts_headline leaves tags out: the text's own < and >
# stand in as these for ts_headline, and are put back (then escaped) after.
_LESS, _MORE = "\ue003", "\ue004"
HEADLINE_OPTIONS = (
    f'StartSel="{_OPEN}", StopSel="{_CLOSE}", FragmentDelimiter="{_BETWEEN}", '
    "MaxFragments=2, MaxWords=30, MinWords=12, ShortWord=2"
)
ENGLISH = literal_column("'qm_english'::regconfig")
SIMPLE = literal_column("'qm_simple'::regconfig")


class TooSlow(Exception):
    """The search ran past its time budget (statement_timeout)."""


@dataclass
class Found:
    """What PostgreSQL found for one page: the service makes Hits of `rows`."""

    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    rows: list[dict[str, Any]] = field(default_factory=list)  # Hit's fields, snippet included
    correction: str | None = None


def _hit_columns(rank: ColumnElement) -> tuple[ColumnElement, ...]:
    """What a hit shows (its names, dates, category) and its rank: the search page and "more like this" alike."""
    return (
        SearchDocument.document_id,
        Document.filename,
        Document.title,
        Document.document_date,
        Document.uploaded_at,
        Category.name.label("category"),
        rank,
    )


def _budget(seconds: float) -> None:
    """The search's time limit, and no JIT: compiling a ranking statement cost more than running it."""
    milliseconds = str(max(1, int(seconds * 1000)))
    limit, no_jit = func.set_config("statement_timeout", milliseconds, True), func.set_config("jit", "off", True)
    db.session.execute(select(limit, no_jit))


def _end_budget() -> None:
    """Back to the session's own settings for whatever the request does next (one round trip)."""
    db.session.execute(
        text("SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN ('statement_timeout', 'jit')")
    )


def _filtered(wanted: Wanted, filters: SearchFilters) -> list[ColumnElement[bool]]:
    """The filters other than the category, on the indexed row."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in wanted.values:
        if column == "uploader_id":
            conditions.append(SearchDocument.uploader_id == int(value) if value.isdigit() else false())
        else:
            conditions.append(getattr(SearchDocument, column) == value)
    if filters.since:
        conditions.append(SearchDocument.uploaded_at >= _midnight(filters.since))
    if filters.until:
        conditions.append(SearchDocument.uploaded_at < _midnight(filters.until + timedelta(days=1)))
    if filters.dated_from:
        conditions.append(SearchDocument.document_date >= filters.dated_from)
    if filters.dated_until:
        conditions.append(SearchDocument.document_date <= filters.dated_until)
    return conditions


def _midnight(day) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _visible() -> list[ColumnElement[bool]]:
    """Live documents only, and none whose 'delete' waits in the outbox."""
    pending = select(SearchOutbox.document_id).where(SearchOutbox.action == "delete")
    return [Document.deleted_at.is_(None), SearchDocument.document_id.not_in(pending)]


def _rank(ranked: str | None):
    if not ranked:
        return literal(0.0)
    stemmed = func.ts_rank_cd(
        RANK_WEIGHTS, SearchDocument.stemmed, func.to_tsquery(ENGLISH, ranked), RANK_NORMALIZATION
    )
    as_written = func.to_tsquery(SIMPLE, ranked)
    exact = func.ts_rank_cd(RANK_WEIGHTS, SearchDocument.exact, as_written, RANK_NORMALIZATION)
    # ts_rank_cd knows no rarity (no IDF), so a stem found fifty times would beat the exact word found once:
    # holding every word as written counts 1 more, which puts exact forms above their relatives.
    every_word_as_written = case((SearchDocument.exact.op("@@")(as_written), 1.0), else_=0.0)
    return stemmed + EXACT_BOOST * exact + every_word_as_written


def run(
    q: wq.Query,
    text_asked: str,
    filters: SearchFilters,
    *,
    page: int,
    per_page: int,
    sort: str,
    snippets: bool,
    snippet_hits: int,
    budget: float,
) -> Found:
    """One page of matches for the query read by app.search.query; raises TooSlow past `budget` seconds."""
    translated = translate(q, text_asked)
    wanted = Wanted.of(filters)
    where = [translated.condition, *_visible(), *_filtered(wanted, filters)]
    joined = select().select_from(SearchDocument).join(Document, Document.id == SearchDocument.document_id)
    try:
        _budget(budget)
        counts = Counter(
            {
                (category or ""): int(number)
                for category, number in db.session.execute(
                    joined.add_columns(SearchDocument.category, func.count())
                    .where(*where)
                    .group_by(SearchDocument.category)
                )
            }
        )
        if wanted.category:
            where.append(SearchDocument.category == wanted.category)
        total = counts.get(wanted.category, 0) if wanted.category else sum(counts.values())
        rank = _rank(translated.ranked if sort == "relevance" else None).label("rank")
        order = {
            "relevance": [rank.desc(), SearchDocument.uploaded_at.desc(), SearchDocument.document_id.desc()],
            "newest": [SearchDocument.uploaded_at.desc(), SearchDocument.document_id.desc()],
            "oldest": [SearchDocument.uploaded_at.asc(), SearchDocument.document_id.asc()],
        }[sort]
        page_rows = db.session.execute(
            joined.add_columns(*_hit_columns(rank))
            .outerjoin(Category, Category.id == Document.category_id)
            .where(*where)
            .order_by(*order)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        shown = [r.document_id for r in page_rows][:snippet_hits] if snippets else []
        marked = _snippets(shown, translated.marked)
        correction = did_you_mean(translated, text_asked) if text_asked and not isinstance(q, wq.Every) else None
        _end_budget()
    except OperationalError as error:
        if "statement timeout" not in str(error) and "canceling statement" not in str(error):
            raise
        db.session.rollback()
        raise TooSlow from error
    rows = [
        {
            "document_id": r.document_id,
            "filename": r.filename,
            "category": r.category,
            "score": round(float(r.rank), 4) if sort == "relevance" else None,
            "snippet": marked.get(r.document_id, Markup("")),
            "uploaded_at": r.uploaded_at,
            "title": r.title,
            "document_date": r.document_date,
        }
        for r in page_rows
    ]
    return Found(total=total, counts=counts, rows=rows, correction=correction)


# ---------------------------------------------------------------- snippets


def _snippets(ids: list[int], ranked: str | None, config=ENGLISH) -> dict[int, Markup]:
    """Each document's snippet: ts_headline's passages, or the start of its text when no word is marked."""
    if not ids:
        return {}
    source = func.translate(
        func.substr(Document.text, 1, SNIPPET_SOURCE_CHARS),
        "<>" + _OPEN + _CLOSE + _BETWEEN + _LESS + _MORE,
        _LESS + _MORE,
    )
    headline = (
        func.ts_headline(ENGLISH, source, func.to_tsquery(config, ranked), HEADLINE_OPTIONS) if ranked else literal("")
    )
    found = {}
    for document_id, marked, start, end in db.session.execute(
        select(Document.id, headline, func.substr(Document.text, 1, 400), func.right(Document.text, 80)).where(
            Document.id.in_(ids)
        )
    ):
        found[document_id] = _dress(marked or "", start or "", end or "")
    return found


def _dress(headline: str, start: str, end: str) -> Markup:
    """ts_headline's output escaped, its marks made <mark>, and "…" where the passages cut the text."""
    if _OPEN not in headline:
        return snippet(start, frozenset())
    headline = headline.replace(_LESS, "<").replace(_MORE, ">")
    passages = [passage.strip() for passage in headline.split(_BETWEEN) if passage.strip()]
    plain = [passage.replace(_OPEN, "").replace(_CLOSE, "") for passage in passages]
    body = " … ".join(str(escape(passage)).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>") for passage in passages)
    before = "" if " ".join(start.split()).startswith(" ".join(plain[0].split())[:40]) else "… "
    after = "" if " ".join(end.split()).endswith(" ".join(plain[-1].split())[-40:]) else " …"
    return Markup(before + body + after)  # noqa: S704  (escaped text and our own <mark>)


# ---------------------------------------------------------------- did you mean


def did_you_mean(translated: Translated, typed_query: str) -> str | None:
    """The query with each word that no document holds replaced by the most similar known word (pg_trgm)."""
    replacements: dict[tuple[int, int], str] = {}
    for start, end, typed in translated.words:
        if not WORD.fullmatch(typed) or len(typed) < 3:
            continue
        word = typed.lower().translate(accent_map)
        if _known(word):
            continue
        suggestion = db.session.scalar(
            select(SearchWord.word)
            .where(SearchWord.word.op("%")(word), func.left(SearchWord.word, 1) == word[:1])
            .order_by(func.similarity(SearchWord.word, word).desc(), SearchWord.word)
            .limit(1)
        )
        if suggestion and suggestion != word:
            replacements[(start, end)] = suggestion
        if len(replacements) >= MAX_CORRECTED_WORDS:
            break
    return respell(typed_query, replacements)


def _known(word: str) -> bool:
    """Some document holds the word as written (the word list) or a relative of it (the GIN index)."""
    if db.session.get(SearchWord, word) is not None:
        return True
    # An EXISTS over a word found nowhere would walk every row if the planner chose a scan: the index only.
    db.session.execute(select(func.set_config("enable_seqscan", "off", True)))
    try:
        return bool(db.session.scalar(select(exists().where(matches(f"'{word}'")))))
    finally:
        db.session.execute(
            text("SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name = 'enable_seqscan'")
        )


# ---------------------------------------------------------------- similar documents

MORE_LIKE_CANDIDATES = 30  # the document's most frequent words looked at
MORE_LIKE_TERMS = 12  # the most telling of them searched for


def more_like_this(document_id: int, limit: int) -> list[dict[str, Any]]:
    """Documents sharing this one's most telling words (frequent here, rare elsewhere), best first."""
    frequent = db.session.execute(
        text(
            "SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1) AS number"
            " FROM search_documents s, unnest(s.stemmed) AS u(lexeme, positions, weights)"
            " WHERE s.document_id = :id AND length(u.lexeme) >= 3 AND u.lexeme !~ '^[0-9]+$'"
            " AND 'D' = ANY(u.weights)"  # the text's words, as Whoosh's key terms are
            " ORDER BY number DESC, u.lexeme LIMIT :limit"
        ),
        {"id": document_id, "limit": MORE_LIKE_CANDIDATES},
    ).all()
    if not frequent:
        return []
    documents = db.session.scalar(select(func.count()).select_from(SearchDocument)) or 1
    weighed = []
    for word, number in frequent:
        if "'" in word or "\\" in word:
            continue
        holding = db.session.scalar(
            select(func.count())
            .select_from(SearchDocument)
            .where(SearchDocument.stemmed.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), f"'{word}'")))
        )
        weighed.append((number * math.log(1 + documents / max(1, holding or 1)), word))
    chosen = [word for _, word in sorted(weighed, reverse=True)[:MORE_LIKE_TERMS]]
    if not chosen:
        return []
    asked = " | ".join(f"'{word}':D" for word in chosen)
    tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), asked)
    rank = func.ts_rank_cd(RANK_WEIGHTS, SearchDocument.stemmed, tsquery, RANK_NORMALIZATION).label("rank")
    rows = db.session.execute(
        select(*_hit_columns(rank))
        .join(Document, Document.id == SearchDocument.document_id)
        .outerjoin(Category, Category.id == Document.category_id)
        .where(SearchDocument.stemmed.op("@@")(tsquery), SearchDocument.document_id != document_id, *_visible())
        .order_by(rank.desc(), SearchDocument.document_id.desc())
        .limit(limit)
    ).all()
    # The chosen words are stems already: 'simple' takes them as they are, to mark the text's words.
    marked = _snippets([r.document_id for r in rows], asked, literal_column("'simple'::regconfig"))
    return [
        {
            "document_id": r.document_id,
            "filename": r.filename,
            "category": r.category,
            "score": round(float(r.rank), 4),
            "snippet": marked.get(r.document_id, Markup("")),
            "uploaded_at": r.uploaded_at,
            "title": r.title,
            "document_date": r.document_date,
        }
        for r in rows
    ]
