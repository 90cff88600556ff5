"""Searching the documents: the query language, filters, one page of hits with snippets, facets, "did you mean".

Whatever a person types is answered, never raised: a query the parser cannot use is searched
for its plain words instead, with a sentence saying so (`SearchResult.message`).

The query language: words (all of them must match, in the file name or the text), "exact
phrases", prefix* (two letters at least), AND / OR / NOT and brackets, -word to leave a word
out, and field:value for category, filename, state, review, uploader and kind
(category:"credit note"). Stemming and accent folding make invoices find invoice and cafe
find café.

Deleted documents never show: hits are checked against the database (one IN query for the
page), and documents with a queued 'delete' in the outbox are masked before counting, so
they vanish before the index catches up.

Cost (see `_collect`): Whoosh's top-N collector for the page (it skips posting blocks that
cannot make it), then one unscored pass over the matches for the total and the facets, with
filters read from per-segment column arrays. Nothing sorts or keeps every match, and a search
stops after SEARCH_TIME_BUDGET seconds with what it found. Snippets are made from the
database text of the shown hits only.
"""

from __future__ import annotations

import heapq
import logging
import re
import time
import unicodedata
from array import array
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select
from whoosh import collectors, qparser
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.highlight import ContextFragmenter, Formatter, get_text, highlight
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map
from whoosh.util.times import datetime_to_long

from app.auth.models import User
from app.classify.models import Category
from app.documents.models import Document
from app.extensions import db
from app.search import index as search_index
from app.search.models import SearchOutbox
from app.search.schema import (
    FILTER_COLUMNS,
    QUERY_FIELDS,
    SEARCHED_FIELDS,
    WORD_PATTERN,
    build_schema,
    normalise_category,
    text_analyzer,
)

log = logging.getLogger(__name__)

SORTS = ("relevance", "newest", "oldest")
MAX_QUERY_CHARS = 500
MAX_RESULTS = 10_000  # the deepest hit a page can reach (page * per_page): it bounds the heap
SNIPPET_HITS = 100  # hits per call that get a snippet (a CSV of thousands needs none: snippets=False)
IN_CHUNK = 1_000  # ids per IN (...) query
SNIPPET_SOURCE_CHARS = 50_000  # how much of a hit's text is read and scanned for its snippet
SNIPPET_CHARS = 240
MAX_CORRECTED_WORDS = 6
SEARCH_TIME_BUDGET = 2.0  # seconds of matching per search; past it, what was found so far is shown
MAX_EXPANDED_TERMS = 500  # index words all the wildcards of one search may stand for, together
MAX_SCANNED_TERMS = 20_000  # index words looked at while expanding them (a*z reads many to keep few)
TOO_BROAD = (
    "The wildcards matched too many words, so only some of them were searched; "
    "put more letters before the * to search them all."
)
OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE", "TO"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(WORD_PATTERN)


@dataclass(frozen=True)
class SearchFilters:
    """Narrowing a search; None leaves a filter off. `uploader` is a user id or an email address."""

    category: str | None = None
    state: str | None = None
    review: str | None = None
    uploader: int | str | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive

    @classmethod
    def of(cls, value: SearchFilters | Mapping[str, Any] | None) -> SearchFilters:
        if value is None:
            return cls()
        if isinstance(value, SearchFilters):
            return value
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known and v not in (None, "")})

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) not in (None, "") for f in fields(self))


@dataclass(frozen=True)
class Hit:
    document_id: int
    filename: str
    category: str | None
    score: float | None  # None when sorted by date
    snippet: Markup  # escaped text with <mark> around the matched words
    uploaded_at: datetime | None = None


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: list[tuple[str, int]] = field(default_factory=list)  # (category, matches) most first
    correction: str | None = None  # "did you mean …", only when it differs from the query
    message: str | None = None  # a sentence about how the query was read, when it was not as typed
    page: int = 1
    per_page: int = 20
    sort: str = "relevance"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


# ---------------------------------------------------------------- reading the query

_SCHEMA = build_schema()
_QUERY_SCHEMA = Schema(**{name: _SCHEMA[name] for name in QUERY_FIELDS})
_ANALYZER = text_analyzer()


def _parser() -> qparser.QueryParser:
    """A fresh parser (cheap; parsers are not shared between threads)."""
    parser = qparser.MultifieldParser(list(SEARCHED_FIELDS), _QUERY_SCHEMA, group=qparser.AndGroup)
    # Ranges over words and 'single quoted' literals surprise more than they help; *:* is not a search.
    parser.remove_plugin_class(qparser.RangePlugin)
    parser.remove_plugin_class(qparser.SingleQuotePlugin)
    parser.remove_plugin_class(qparser.EveryPlugin)
    # + and - only at the start of a word: "credit-note" is a phrase, not credit without note.
    parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
    return parser


def _clean(text: str | None) -> tuple[str, list[str]]:
    """The query without control characters and within MAX_QUERY_CHARS, and notes on what was changed."""
    notes = []
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text or "")).strip()
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(f"Searches are limited to {MAX_QUERY_CHARS} characters; the rest was left out.")
    if text.count('"') % 2:
        notes.append('A closing quote (") was missing, so the last quoted words were searched on their own.')
    if text.count("(") != text.count(")"):
        notes.append("The brackets did not pair up; unmatched ones were ignored.")
    return text, notes


def _tame(q: wq.Query, notes: list[str]) -> wq.Query:
    """Drop the parts that would match (nearly) everything: a lone *, and wildcards with under two letters."""
    dropped = []

    def visit(node: wq.Query) -> wq.Query:
        if isinstance(node, wq.Every):
            dropped.append("*")
            return wq.NullQuery
        if isinstance(node, wq.Prefix | wq.Wildcard):
            literal = re.split(r"[*?]", node.text, maxsplit=1)[0]
            if len(literal) < 2 or (isinstance(node, wq.Wildcard) and node.text.startswith(("*", "?"))):
                dropped.append(node.text)
                return wq.NullQuery
        return node

    q = q.accept(visit).normalize()
    if dropped:
        notes.append("Put at least two letters before * or ?: a wildcard on its own would match every document.")
    return q


class _Listed(wq.MultiTerm):
    """A prefix or wildcard with the index words it stands for listed once, within the search's budget.

    Whoosh expands a wildcard again for every pass and every segment, and with no limit: 125 two-letter
    prefixes fit in 500 characters and stood for tens of thousands of words, before the time budget
    was ever checked. Listing the words once, up to MAX_EXPANDED_TERMS for the whole search, bounds
    the matching, the counting and the highlighting alike.
    """

    def __init__(self, original: wq.Query, btexts: tuple[bytes, ...]) -> None:
        self.fieldname = original.fieldname
        self.text = original.text
        self.boost = original.boost
        self.constantscore = getattr(original, "constantscore", True)
        self.btexts = btexts
        self.startchar = getattr(original, "startchar", None)
        self.endchar = getattr(original, "endchar", None)
        self.shown = str(original)

    def _btexts(self, ixreader):
        return iter(self.btexts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Listed) and (self.fieldname, self.text, self.boost, self.btexts) == (
            other.fieldname,
            other.text,
            other.boost,
            other.btexts,
        )

    def __hash__(self) -> int:
        return hash((self.fieldname, self.text, self.boost, self.btexts))

    def __repr__(self) -> str:
        return f"_Listed({self.fieldname!r}, {self.text!r}, {len(self.btexts)} words)"

    def __str__(self) -> str:
        return self.shown


def _looked_at(node: wq.MultiTerm, reader):
    """Each index word a wildcard looks at while expanding: the word when it matches, None when it does not.

    Whoosh's own expansion hides the words it reads and rejects (a*z reads every word starting
    with a); reading them here lets the scan be counted and stopped.
    """
    if isinstance(node, wq.PatternQuery) and not isinstance(node, wq.Prefix):
        field = reader.schema[node.fieldname]
        pattern = re.compile(node._get_pattern())
        prefix = node._find_prefix(node.text)
        candidates = reader.expand_prefix(node.fieldname, prefix) if prefix else reader.lexicon(node.fieldname)
        for btext in candidates:
            yield btext if pattern.match(field.from_bytes(btext)) else None
    else:
        yield from node._btexts(reader)


def _bounded(q: wq.Query, reader, deadline: float) -> tuple[wq.Query, bool]:
    """`q` with every wildcard replaced by the index words it stands for, and whether some were left out.

    At most MAX_EXPANDED_TERMS words in all, MAX_SCANNED_TERMS looked at, and nothing after `deadline`.
    A wildcard that got none of its words (in any field) is left out of the search: not required, not
    matched. One that got some is searched for those. A wildcard that matches no word of the index at
    all still matches nothing, as before.
    """
    kept_left, scan_left = MAX_EXPANDED_TERMS, MAX_SCANNED_TERMS
    # One typed wildcard is one leaf per searched field (file name, text): it is dropped or kept as a whole.
    cut_short: set[tuple[str, int | None, int | None]] = set()
    found: Counter[tuple[str, int | None, int | None]] = Counter()

    def expand(node: wq.Query) -> wq.Query:
        nonlocal kept_left, scan_left
        if not isinstance(node, wq.MultiTerm) or isinstance(node, _Listed):
            return node
        kept: list[bytes] = []
        try:
            for looked, btext in enumerate(_looked_at(node, reader)):
                if len(kept) >= kept_left or scan_left <= 0 or (not looked & 63 and time.monotonic() > deadline):
                    cut_short.add(_typed(node))
                    break
                scan_left -= 1
                if btext is not None:
                    kept.append(btext)
        except Exception:  # a field or pattern Whoosh cannot expand: it matches no word
            log.info("wildcard not expanded", exc_info=True)
        kept_left -= len(kept)
        found[_typed(node)] += len(kept)
        return _Listed(node, tuple(kept))

    def drop_unsearched(node: wq.Query) -> wq.Query:
        if isinstance(node, _Listed) and _typed(node) in cut_short and not found[_typed(node)]:
            return wq.NullQuery  # none of its words fit: leave it out rather than let it match nothing
        return node

    expanded = q.accept(expand)
    if cut_short:
        expanded = expanded.accept(drop_unsearched)
    return expanded.normalize(), bool(cut_short)


def _typed(node: wq.Query) -> tuple[str, int | None, int | None]:
    """Which wildcard the person typed this leaf for: its text and where it stood in the query."""
    return node.text, getattr(node, "startchar", None), getattr(node, "endchar", None)


def _plain_words(text: str) -> tuple[list[str], list[str]]:
    """The words a person wants and the ones they wanted left out, ignoring all syntax."""
    wanted, excluded = [], []
    leave_out_next = False
    for piece in text.split():
        if piece in OPERATORS:
            leave_out_next = piece == "NOT"
            continue
        if "*" in piece or "?" in piece:  # a wildcard already set aside by _tame (with its own note)
            leave_out_next = False
            continue
        words = _WORD.findall(piece.split(":", 1)[1] if ":" in piece[1:] else piece)
        (excluded if leave_out_next or piece.startswith("-") else wanted).extend(words)
        leave_out_next = False
    return wanted, excluded


def _words_query(words: list[str]) -> wq.Query:
    """All of these words, as plain words (no syntax can survive: they are letters and digits only)."""
    return _parser().parse(" ".join(words)).normalize()


def _read(text: str, notes: list[str]) -> wq.Query | None:
    """The query to run for `text`, or None when there is nothing to look for (notes say why)."""
    try:
        q = _tame(_parser().parse(text).normalize(), notes)
    except Exception:  # the parser's own limits (deep nesting, odd tokens): fall back to the words
        log.info("search query not parsed; searching its words", exc_info=True)
        q = wq.NullQuery
    if q is not wq.NullQuery and not isinstance(q, wq.Not):
        return q
    wanted, excluded = _plain_words(text)
    fallback = _words_query(wanted) if wanted else wq.NullQuery
    if fallback is not wq.NullQuery:
        notes.append(f"The search could not be read as written, so it looked for these words: {' '.join(wanted)}.")
        return fallback
    if excluded or isinstance(q, wq.Not):
        notes.append("Add a word to look for: a search cannot only leave words out.")
    elif wanted:
        notes.append("Those words are too common to search for on their own; add a more specific one.")
    elif not notes:
        notes.append("Type a word to search for.")
    return None


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class _Wanted:
    """The filters in the index's spelling: column values, and upload times as Whoosh stores them."""

    category: str | None = None
    values: tuple[tuple[str, str], ...] = ()  # (column, value) that must all match
    uploaded_from: int | None = None
    uploaded_before: int | None = None


def _wanted(filters: SearchFilters) -> _Wanted:
    values = [
        (column, str(value).strip().lower())
        for column, value in (("state", filters.state), ("review", filters.review), ("kind", filters.kind))
        if value
    ]
    if filters.uploader not in (None, ""):
        uploader = str(filters.uploader).strip()
        if isinstance(filters.uploader, int) or uploader.isdigit():
            values.append(("uploader_id", str(int(uploader))))
        else:  # an email address: by the user's id, so a changed address still finds their documents
            user_id = db.session.scalar(select(User.id).where(func.lower(User.email) == uploader.lower()))
            values.append(("uploader_id", str(user_id) if user_id is not None else "-"))
    return _Wanted(
        category=normalise_category(filters.category) if filters.category else None,
        values=tuple(values),
        uploaded_from=datetime_to_long(_naive_day(filters.since)) if filters.since else None,
        uploaded_before=datetime_to_long(_naive_day(filters.until + timedelta(days=1))) if filters.until else None,
    )


def _naive_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)  # midnight UTC, as the index stores it (naive)


def _pending_deletes() -> wq.Query | None:
    """Documents with a queued 'delete': hidden before the worker applies it."""
    ids = list(db.session.scalars(select(SearchOutbox.document_id).where(SearchOutbox.action == "delete").distinct()))
    return wq.Or([wq.Term("id", str(document_id)) for document_id in ids]) if ids else None


# ---------------------------------------------------------------- collecting one page, the total and the facets

NOTHING = False  # a segment in which no document passes the filters


class _SegmentColumns:
    """Per index segment: each document's category, state, … as small numbers, and its upload time.

    Built once per segment and process (a segment never changes, it only gains deletions), so
    filters and facet counts are array lookups: no posting lists of "state:processed" (every
    document) or of the hundreds of terms behind a date range are read per search.
    """

    _cache: dict[str, _SegmentColumns] = {}
    _limit = 256

    def __init__(self, reader) -> None:
        self.codes: dict[str, array] = {}
        self.names: dict[str, list[str]] = {}
        self.lookup: dict[str, dict[str, int]] = {}
        size = reader.doc_count_all()
        for column in FILTER_COLUMNS:
            lookup: dict[str, int] = {}
            if reader.has_column(column):
                values = reader.column_reader(column)
                self.codes[column] = array("I", (lookup.setdefault(value, len(lookup)) for value in values))
            else:  # no document of this segment has a value
                lookup[""] = 0
                self.codes[column] = array("I", bytes(4 * size))
            self.lookup[column] = lookup
            self.names[column] = list(lookup)
        self.uploaded = (
            array("q", reader.column_reader("uploaded", translate=False))
            if reader.has_column("uploaded")
            else array("q", bytes(8 * size))
        )

    @classmethod
    def of(cls, reader) -> _SegmentColumns:
        segment = reader.segment()
        key = segment.segment_id() if segment is not None else None
        cached = cls._cache.get(key) if key else None
        if cached is None:
            cached = cls(reader)
            if key:
                if len(cls._cache) >= cls._limit:
                    cls._cache.pop(next(iter(cls._cache)), None)
                cls._cache[key] = cached
        return cached

    def test(self, wanted: _Wanted, *, with_category: bool):
        """A docnum -> bool check for this segment, None when every document passes, NOTHING when none can."""
        checks = []
        pairs = list(wanted.values) + ([("category", wanted.category)] if with_category and wanted.category else [])
        for column, value in pairs:
            code = self.lookup[column].get(value)
            if code is None:
                return NOTHING
            checks.append((self.codes[column], code))
        low, high, uploaded = wanted.uploaded_from, wanted.uploaded_before, self.uploaded
        if not checks and low is None and high is None:
            return None

        def passes(docnum: int) -> bool:
            for codes, code in checks:
                if codes[docnum] != code:
                    return False
            if low is not None and uploaded[docnum] < low:
                return False
            return high is None or uploaded[docnum] < high

        return passes


class _OutOfTime(Exception):
    pass


class _TopScored(collectors.TopCollector):
    """Whoosh's top-N collector (block skipping and all) with our filters and a deadline."""

    def __init__(self, limit: int, wanted: _Wanted, deadline: float) -> None:
        super().__init__(limit)
        self.wanted = wanted
        self.deadline = deadline

    def set_subsearcher(self, subsearcher, offset):
        super().set_subsearcher(subsearcher, offset)
        self.passes = _SegmentColumns.of(subsearcher.reader()).test(self.wanted, with_category=True)

    def collect_matches(self):
        passes, collect, deadline = self.passes, self.collect, self.deadline
        if passes is NOTHING:
            return
        for seen, sub_docnum in enumerate(self.matches()):
            if passes is None or passes(sub_docnum):
                collect(sub_docnum)
            if not seen & 1023 and time.monotonic() > deadline:
                raise _OutOfTime


@dataclass
class _Collected:
    ranked: list[tuple[float, int]]  # (score or upload time, docnum), best first, at most `limit`
    total: int
    counts: Counter[str]  # matches per category (index spelling), before the category filter
    complete: bool  # False when the time budget ran out before every match was seen


def _collect(searcher: Searcher, q: wq.Query, wanted: _Wanted, limit: int, sort: str, deadline: float) -> _Collected:
    """The best `limit` matches, the total and the counts per category, within the time budget.

    Relevance: Whoosh's top-N collector (it skips posting blocks that cannot reach the top N),
    then a second, unscored pass that counts matches per category. Date order: that one pass
    also keeps a heap of the newest (or oldest) `limit`. Nothing sorts or keeps every match:
    the count pass holds 8,192 document numbers at a time. The trade-off: the count pass still
    visits every match (about 75 ms for a word in all of 100,000 documents), and a query slower
    than the budget shows what it found, flagged incomplete.
    """
    complete = True
    ranked: list[tuple[float, int]] = []
    if sort == "relevance":
        top = _TopScored(limit, wanted, deadline)
        try:
            searcher.search_with_collector(q, top)
        except _OutOfTime:
            complete = False
        ranked = [(score, -negated) for score, negated in sorted(top.items, reverse=True)]

    counts: Counter[str] = Counter()
    heap: list[tuple[int, int]] = []  # (signed upload time, -docnum)
    sign = 1 if sort == "newest" else -1
    context = searcher.boolean_context()
    count_deadline = max(deadline, time.monotonic() + 0.5)  # a ranked page deserves at least a rough count
    counted_all = True
    for subsearcher, offset in searcher.leaf_searchers():
        if not counted_all:
            break
        columns = _SegmentColumns.of(subsearcher.reader())
        passes = columns.test(wanted, with_category=False)
        matcher = q.matcher(subsearcher, context)
        if passes is NOTHING or not matcher.is_active():
            continue
        categories = columns.codes["category"]
        wanted_code = columns.lookup["category"].get(wanted.category) if wanted.category else None
        codes: Counter[int] = Counter()
        ids = matcher.all_ids()
        while chunk := array("I", islice(ids, 8192)):
            if passes is not None:
                chunk = array("I", filter(passes, chunk))
            codes.update(map(categories.__getitem__, chunk))
            if sort != "relevance" and (wanted.category is None or wanted_code is not None):
                for docnum in chunk:
                    if wanted_code is not None and categories[docnum] != wanted_code:
                        continue
                    item = (sign * columns.uploaded[docnum], -(docnum + offset))
                    if len(heap) < limit:
                        heapq.heappush(heap, item)
                    elif item > heap[0]:
                        heapq.heapreplace(heap, item)
            if time.monotonic() > count_deadline:
                counted_all = False
                break
        for code, count in codes.items():
            counts[columns.names["category"][code]] += count
    if sort != "relevance":
        ranked = [(key, -negated) for key, negated in sorted(heap, reverse=True)]
    total = counts.get(wanted.category, 0) if wanted.category else sum(counts.values())
    return _Collected(ranked, max(total, len(ranked)), counts, complete and counted_all)


# ---------------------------------------------------------------- snippets


class _MarkFormatter(Formatter):
    """Escaped text with our own <mark> around matched words: nothing from a document is ever markup."""

    between = " … "

    def _text(self, text):
        return str(escape(text))

    def format_token(self, text, token, replace=False):
        return f"<mark>{escape(get_text(text, token, replace))}</mark>"


def _terms_for(q: wq.Query, searcher: Searcher, fieldname: str) -> frozenset[str]:
    """The index words this query looks for in one field (prefixes expanded), for highlighting.

    Not Query.existing_terms: in Whoosh 2.7.5 it stops looking at other fields after the first.
    """
    reader, terms = searcher.reader(), set()
    try:
        for leaf in q.leaves():
            if leaf.field() == fieldname:
                terms.update(text for _, text in leaf.expanded_terms(reader, phrases=True))
    except Exception:  # highlighting is a nicety: never fail a search over it
        log.info("could not list the query's terms for highlighting", exc_info=True)
    return frozenset(text.decode("utf-8") if isinstance(text, bytes) else text for text in terms)


def _letter_classes() -> dict[str, str]:
    """For each letter, a regex class of it and every character the analyzer folds to it (e: eEéÉèê…)."""
    variants: dict[str, set[str]] = {}
    for code, folded in accent_map.items():
        if len(folded) == 1:
            variants.setdefault(folded, {folded}).add(chr(code))
    return {letter: "[" + "".join(re.escape(c) for c in sorted(chars)) + "]" for letter, chars in variants.items()}


_LETTER_CLASSES = _letter_classes()
SNIPPET_PASSAGES = 2  # passages per snippet
_BEFORE, _AFTER = 60, SNIPPET_CHARS - 60  # characters of a passage before and after its first matched word
_MAX_CANDIDATES = 200  # words looked at per hit before settling for fewer passages


def _candidates(terms: frozenset[str]) -> re.Pattern[str] | None:
    """Words that may analyse to one of `terms`: the term less its last letter as a prefix, accents allowed.

    Stems are nearly prefixes of their words ("deliveri" of "delivery", "dai" of "days"); dropping
    one letter covered every word of the search benchmark's 40,000-word vocabulary, and each
    candidate is then confirmed by the analyzer itself.
    """
    stems = sorted({term[:-1] if len(term) > 2 else term for term in terms if term}, key=len, reverse=True)
    if not stems:
        return None
    alternatives = ("".join(_LETTER_CLASSES.get(ch, re.escape(ch)) for ch in stem) for stem in stems[:500])
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})[^\W_]*", re.IGNORECASE)


def _matches(word: str, terms: frozenset[str]) -> bool:
    return any(token.text in terms for token in _ANALYZER(word))


def _spread(starts: list[int]) -> list[int]:
    """The match starts that begin a new passage when passages are cut in text order."""
    begins: list[int] = []
    for at in starts:
        if not begins or at >= begins[-1] + _BEFORE + _AFTER:
            begins.append(at)
    return begins


def _passages(text: str, terms: frozenset[str], pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Up to SNIPPET_PASSAGES stretches of `text` (start, end) around matched words, different words first."""
    first_of_term: dict[str, int] = {}
    starts: list[int] = []  # every confirmed match, in text order
    wanted_terms = min(len(terms), SNIPPET_PASSAGES)
    for n, match in enumerate(pattern.finditer(text, 0, SNIPPET_SOURCE_CHARS)):
        if n >= _MAX_CANDIDATES:
            break
        found = {token.text for token in _ANALYZER(match.group())} & terms
        if not found:
            continue
        for term in found - first_of_term.keys():
            first_of_term[term] = match.start()
        starts.append(match.start())
        if len(first_of_term) >= wanted_terms and len(_spread(starts)) >= SNIPPET_PASSAGES:
            break
    spans: list[tuple[int, int]] = []
    for at in sorted(first_of_term.values()) + starts:  # each word's first place, then the others
        start, end = max(0, at - _BEFORE), min(len(text), at + _AFTER)
        if len(spans) < SNIPPET_PASSAGES and not any(start < e and s < end for s, e in spans):
            spans.append((start, end))
    edges = []
    for start, end in sorted(spans):  # whole words only: move each edge inwards to a space
        if start > 0 and (space := text.find(" ", start, end)) != -1:
            start = space + 1
        if end < len(text) and (space := text.rfind(" ", start, end)) > start:
            end = space
        edges.append((start, end))
    return edges


def _marked(passage: str, terms: frozenset[str], pattern: re.Pattern[str]) -> str:
    """`passage` escaped, with <mark> around each word the analyzer confirms."""
    out, last = [], 0
    for match in pattern.finditer(passage):
        if _matches(match.group(), terms):
            out.append(f"{escape(passage[last : match.start()])}<mark>{escape(match.group())}</mark>")
            last = match.end()
    out.append(str(escape(passage[last:])))
    return "".join(out)


def _snippet(text: str, terms: frozenset[str]) -> Markup:
    """A few escaped passages of `text` around the matched words, or its beginning when none match.

    Whoosh's highlighter analyses every word of the text it is given; for 20 hits of long documents
    on every keystroke that was most of a search's time. So a regular-expression scan finds the
    words that could match, the analyzer confirms only those, and the cost depends on where the
    words are, not on how long the document is. A word the scan cannot see (a stem that is not
    nearly a prefix of its word) falls back to Whoosh's highlighter over the text.
    """
    text = text or ""
    if terms:
        try:
            pattern = _candidates(terms)
            spans = _passages(text, terms, pattern) if pattern else []
            if spans:
                # "…" wherever the passages cut the text, so a reader sees it is an excerpt.
                marked = (
                    ("… " if spans[0][0] > 0 else "")
                    + _MarkFormatter.between.join(_marked(text[a:b], terms, pattern) for a, b in spans)
                    + (" …" if spans[-1][1] < len(text) else "")
                )
            else:
                marked = highlight(
                    text,
                    terms,
                    _ANALYZER,
                    ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60, charlimit=SNIPPET_SOURCE_CHARS),
                    _MarkFormatter(),
                    top=SNIPPET_PASSAGES,
                )
        except Exception:  # an odd character in a document must not break the results page
            log.info("highlighting failed; showing the start of the text", exc_info=True)
            marked = ""
        if marked:
            return Markup(marked)  # noqa: S704  (built from escaped pieces and our own <mark>)
    start = " ".join(text[: SNIPPET_CHARS + 40].split())
    if len(start) > SNIPPET_CHARS:
        start = start[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    return escape(start)


# ---------------------------------------------------------------- "did you mean"


def _correction(q: wq.Query, text: str, searcher: Searcher) -> str | None:
    """The query with unknown words replaced by the closest known ones, or None when nothing changes."""
    reader = searcher.reader()
    if "spell_content" not in reader.indexed_field_names():
        return None
    corrector = reader.corrector("spell_content")
    replacements: dict[tuple[int, int], str] = {}
    for token in q.all_tokens():
        start, end = getattr(token, "startchar", None), getattr(token, "endchar", None)
        if token.fieldname not in SEARCHED_FIELDS or start is None or end is None or (start, end) in replacements:
            continue
        if any((name, token.text) in reader for name in SEARCHED_FIELDS):
            continue
        typed = text[start:end]
        if not _WORD.fullmatch(typed) or len(typed) < 3:
            continue
        word = next(iter(_ANALYZER(typed.lower(), no_morph=True)), None)
        suggestions = corrector.suggest(word.text, limit=1, maxdist=2, prefix=1) if word else []
        if suggestions and suggestions[0] != typed.lower():
            replacements[(start, end)] = suggestions[0]
        if len(replacements) >= MAX_CORRECTED_WORDS:
            break
    if not replacements:
        return None
    corrected, last = [], 0
    for (start, end), suggestion in sorted(replacements.items()):
        corrected.append(text[last:start])
        corrected.append(suggestion)
        last = end
    corrected.append(text[last:])
    suggestion = "".join(corrected)
    return suggestion if suggestion != text else None


# ---------------------------------------------------------------- the search


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
    text, notes = _clean(query)
    empty = SearchResult(query=text, total=0, page=page, per_page=per_page, sort=sort)

    if not text:
        if not filters.any:
            return empty
        q: wq.Query | None = wq.Every()
    else:
        q = _read(text, notes)
    message = " ".join(notes) or None
    if q is None:
        return replace(empty, message=message)
    if isinstance(q, wq.Every) and sort == "relevance":
        sort = "newest"  # no words to rank by: the newest first

    try:
        with search_index.shared_searcher() as searcher:
            return _run(searcher, q, text, filters, page, per_page, sort, message, snippets)
    except search_index.IndexMissing:
        return replace(empty, message="Search is being prepared; try again in a minute.")


def _run(
    searcher: Searcher,
    q: wq.Query,
    text: str,
    filters: SearchFilters,
    page: int,
    per_page: int,
    sort: str,
    message: str | None,
    snippets: bool,
) -> SearchResult:
    deadline = time.monotonic() + SEARCH_TIME_BUDGET
    q, too_broad = _bounded(q, searcher.reader(), deadline)
    if too_broad:
        message = f"{message} {TOO_BROAD}" if message else TOO_BROAD
    if q is wq.NullQuery:
        return SearchResult(query=text, total=0, message=message, page=page, per_page=per_page, sort=sort)
    hidden = _pending_deletes()
    runnable = wq.AndNot(q, hidden) if hidden is not None else q
    collected = _collect(searcher, runnable, _wanted(filters), page * per_page, sort, deadline)
    if not collected.complete:
        slow = "This search took too long to finish, so the results and counts are incomplete; add words to narrow it."
        message = f"{message} {slow}" if message else slow

    ranked = collected.ranked[(page - 1) * per_page :]
    hits, gone = _hits(searcher, q, ranked, scored=sort == "relevance", snippets=snippets)
    facets = _facets(collected.counts)
    correction = _correction(q, text, searcher) if text and not isinstance(q, wq.Every) else None
    return SearchResult(
        query=text,
        total=max(0, collected.total - gone),
        hits=hits,
        facets=facets,
        correction=correction,
        message=message,
        page=page,
        per_page=per_page,
        sort=sort,
    )


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
                select(Document.id, Document.filename, Document.uploaded_at, Category.name.label("category"))
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
    content_terms = _terms_for(q, searcher, "content") if texts else frozenset()
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
                snippet=_snippet(texts[document_id] or "", content_terms) if document_id in texts else Markup(""),
                uploaded_at=row.uploaded_at,
            )
        )
    return hits, len(ids) - len(hits)


def _facets(counts: Counter[str]) -> list[tuple[str, int]]:
    """Counts per category name (as the categories table spells it), most first."""
    names = {normalise_category(name): name for name in db.session.scalars(select(Category.name))}
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
    try:
        with search_index.shared_searcher() as searcher:
            key_terms = searcher.key_terms_from_text("content", text, numterms=12)
            if not key_terms:
                return []
            q = wq.Or([wq.Term("content", word, boost=weight) for word, weight in key_terms])
            pending = _pending_deletes()
            hidden = wq.Or([wq.Term("id", str(document_id))] + ([pending] if pending is not None else []))
            # Top-N with Whoosh's block skipping: no facets or totals are needed here.
            results = searcher.search(wq.AndNot(q, hidden), limit=limit + 5)
            hits, _ = _hits(searcher, q, list(results.top_n), scored=True)
    except search_index.IndexMissing:
        return []
    return hits[:limit]
