"""Collecting one page of hits, the total and the counts per category, within a time budget.

Whoosh's top-N collector finds the page (it skips posting blocks that cannot make it), then one
unscored pass over the matches counts the total and the facets, with filters read from
per-segment column arrays. Nothing sorts or keeps every match, and a search that runs out of
time returns what it found, marked incomplete.

Counting a word found in most of 100,000 documents means visiting every one of them. When the
index says a query may match more than ESTIMATE_FROM documents, a page in relevance order counts
the matches in SAMPLE_WINDOWS evenly spread windows of each segment instead, covering about
ESTIMATE_FROM documents' worth, and scales the counts up: the page then says "about 41,000". A
sample that scales up to fewer than half of ESTIMATE_FROM was a poor guess (a phrase of common
words, say), so those are counted exactly after all. Date order keeps the exact pass: it is
also the pass that finds the newest.
"""

from __future__ import annotations

import heapq
import math
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from itertools import islice

from whoosh import collectors
from whoosh import query as wq
from whoosh.searching import Searcher

from app.search.filters import Wanted
from app.search.schema import FILTER_COLUMNS, NO_DATE

NOTHING = False  # a segment in which no document passes the filters
ESTIMATE_FROM = 10_000  # matches: from this many (as the index estimates them) the counts are sampled
SAMPLE_WINDOWS = 16  # windows per segment that the sample is spread over (uploads drift in time)


class _SegmentColumns:
    """Per index segment: each document's category, state, … as small numbers, its upload time and its date.

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
        # Unsigned: a document without a date holds NO_DATE (2**64 - 1), which no date filter lets through.
        self.dated = (
            array("Q", reader.column_reader("date", translate=False))
            if reader.has_column("date")
            else array("Q", [NO_DATE]) * size
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

    def test(self, wanted: Wanted, *, with_category: bool):
        """A docnum -> bool check for this segment, None when every document passes, NOTHING when none can."""
        checks = []
        pairs = list(wanted.values) + ([("category", wanted.category)] if with_category and wanted.category else [])
        for column, value in pairs:
            code = self.lookup[column].get(value)
            if code is None:
                return NOTHING
            checks.append((self.codes[column], code))
        low, high, uploaded = wanted.uploaded_from, wanted.uploaded_before, self.uploaded
        by_date, dated_from, dated_before, dated = wanted.by_date, wanted.dated_from, wanted.dated_before, self.dated
        if not checks and low is None and high is None and not by_date:
            return None

        def passes(docnum: int) -> bool:
            for codes, code in checks:
                if codes[docnum] != code:
                    return False
            if low is not None and uploaded[docnum] < low:
                return False
            if high is not None and uploaded[docnum] >= high:
                return False
            if by_date:
                day = dated[docnum]
                if day == NO_DATE or (dated_from is not None and day < dated_from):
                    return False
                return dated_before is None or day < dated_before
            return True

        return passes


class _OutOfTime(Exception):
    pass


class _TopScored(collectors.TopCollector):
    """Whoosh's top-N collector (block skipping and all) with our filters and a deadline."""

    def __init__(self, limit: int, wanted: Wanted, deadline: float) -> None:
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
class Collected:
    """What one pass over the matches found: the page's share of the ranking, the total and the facets."""

    ranked: list[tuple[float, int]]  # (score or upload time, docnum), best first, at most `limit`
    total: int
    counts: Counter[str]  # matches per category (index spelling), before the category filter
    complete: bool  # False when the time budget ran out before every match was seen
    estimated: bool = False  # True when the total and the counts were scaled up from a sample


def collect(
    searcher: Searcher,
    q: wq.Query,
    wanted: Wanted,
    limit: int,
    sort: str,
    deadline: float,
    *,
    counted: wq.Query | None = None,
) -> Collected:
    """The best `limit` matches, the total and the counts per category, within the time budget.

    `counted`, when given, matches the same documents as `q` more cheaply (no scoring terms): the
    count pass, and the date order, use it.

    Relevance: Whoosh's top-N collector (it skips posting blocks that cannot reach the top N),
    then a second, unscored pass that counts matches per category. Date order: that one pass
    also keeps a heap of the newest (or oldest) `limit`. Nothing sorts or keeps every match:
    the count pass holds 8,192 document numbers at a time. A ranked page of a query that may match
    more than ESTIMATE_FROM documents counts a sample instead (`estimated`). A query slower than the
    budget shows what it found, flagged incomplete.
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

    counting = counted or q
    may_match = _may_match(searcher, counting) if sort == "relevance" else 0
    if may_match > ESTIMATE_FROM:
        sampled = _sample_counts(searcher, counting, wanted, ESTIMATE_FROM / may_match, deadline)
        if sampled is not None and sum(sampled.values()) >= ESTIMATE_FROM // 2:
            total = sampled.get(wanted.category, 0) if wanted.category else sum(sampled.values())
            return Collected(ranked, max(total, len(ranked)), sampled, complete, estimated=True)

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
        matcher = counting.matcher(subsearcher, context)
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
    return Collected(ranked, max(total, len(ranked)), counts, complete and counted_all)


def _may_match(searcher: Searcher, q: wq.Query) -> int:
    """The index's upper estimate of the matches (document frequencies; no postings are read)."""
    try:
        return sum(q.estimate_size(subsearcher.reader()) for subsearcher, _ in searcher.leaf_searchers())
    except (NotImplementedError, AttributeError, TypeError):  # a query kind without an estimate: count exactly
        return 0


def _sample_counts(
    searcher: Searcher, q: wq.Query, wanted: Wanted, fraction: float, deadline: float
) -> Counter[str] | None:
    """Matches per category, counted in windows covering `fraction` of each segment and scaled up; None out of time.

    With `fraction` = ESTIMATE_FROM / (estimated matches), about ESTIMATE_FROM matches are visited
    however many there are.
    """
    deadline = max(deadline, time.monotonic() + 0.5)  # a ranked page deserves at least a rough count
    counts: Counter[str] = Counter()
    context = searcher.boolean_context()
    seen = 0
    for subsearcher, _offset in searcher.leaf_searchers():
        columns = _SegmentColumns.of(subsearcher.reader())
        passes = columns.test(wanted, with_category=False)
        matcher = q.matcher(subsearcher, context)
        if passes is NOTHING or not matcher.is_active():
            continue
        size = subsearcher.reader().doc_count_all()
        windows = min(SAMPLE_WINDOWS, size)
        length = max(1, math.ceil(size * fraction / windows))
        covered = 0
        codes: Counter[int] = Counter()
        categories = columns.codes["category"]
        for window in range(windows):
            start = window * size // windows
            end = min(size, start + length)
            covered += end - start
            if matcher.is_active() and matcher.id() < start:
                matcher.skip_to(start)
            while matcher.is_active() and (docnum := matcher.id()) < end:
                if passes is None or passes(docnum):
                    codes[categories[docnum]] += 1
                matcher.next()
                seen += 1
                if not seen & 1023 and time.monotonic() > deadline:
                    return None
            if not matcher.is_active():
                break
        scale = size / covered if covered else 0.0
        for code, count in codes.items():
            counts[columns.names["category"][code]] += round(count * scale)
    return counts
