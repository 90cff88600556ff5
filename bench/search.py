"""Search benchmark: indexing through the outbox and query latency, against bare Whoosh on the same documents.

What it measures, on the embedded default (SQLite, the index under DATA_DIR/search and the
SQLite queue, all in a temporary directory):

1. Indexing. N generated documents (`bench/search_corpus.py`: invoices, delivery notes,
   letters … of 150-600 words, a Zipf-like vocabulary, uploads spread over a year, default
   100,000) are inserted in bulk as processed rows, each with its `search_outbox` row, as the
   pipeline leaves them. An empty live index is made first (`index.new_index` and `swap_to`),
   so `indexer.drain()` — what the Huey task `drain_outbox` runs — applies the outbox in its
   batches of 500 (without a live index it would do a full rebuild instead). In the same run, a
   bare Whoosh writer builds a second index from the same rows: same schema (`build_schema()`),
   same fields (`indexer.document_fields`), one writer, `add_document` for every document, one
   commit. Raw time is only the Whoosh calls; reading the rows and making the fields is timed
   apart. Documents per second and the ratio drain / raw. Where the drain's time goes comes from
   timers wrapped around the app's and Whoosh's functions in this process (nothing in app/ is
   changed). Then a few single-document drains, the way a document is indexed after it is
   processed (one row, one drain, one commit).
2. Query latency, p50 and p95 in ms, for four classes of query on the live (drained) index:
   rare words (in at most 0.1% of the documents), common words (in 25% or more), phrases
   (boilerplate ones and word pairs taken from the documents' running text) and filtered
   queries (a word in 5-25% of the documents, a category and a 90-day upload window). Each goes
   four ways, with the order turning at every query, after a warm-up on other queries:
   - service: `app.search.service.search(q, filters=…)`, page 1 of 20, in an app context;
   - http: `GET /search?q=…&category=…&since=…&until=…` with `HX-Request: true` (the results
     fragment htmx asks for) through Flask's test client, signed in as a viewer: the whole
     request (WSGI, session, the form and its two queries, the search, the template) in this
     process, without a network or gunicorn;
   - raw: Whoosh's `QueryParser("content", schema)` (defaults: AND of the words), then
     `searcher.search(q, limit=20)` on one searcher kept open on the same index, reading the 20
     hits' ids; filtered queries pass the category and the date range as Whoosh's own `filter=`;
   - raw, one segment: the same on the index the bare writer made (one segment, where the drain
     leaves several): what the segment count costs.
   Raw does less than the service, and the figures should be read with that in mind: it looks
   only in "content" (the service also in the file name), and it counts nothing (no total, no
   counts per category), masks no deleted documents, checks nothing against the database and
   makes no snippets. Service / raw is the ratio of the p50s and of the p95s (target 1.5 or
   under); http p95 target: under 100 ms for rare and filtered queries. One more round through
   the service with timers around its functions shows where its time goes, per class; --profile
   adds cProfile listings.
3. The size of both indexes on disk, their documents and segments.

Run from the project root:

    .venv/bin/python bench/search.py                   # 100,000 documents; ~45 minutes on 2 cores
    .venv/bin/python bench/search.py --quick           # 5,000 documents, about a minute
    .venv/bin/python bench/search.py --profile         # also cProfile the service (and http) per class
    .venv/bin/python bench/search.py --data-dir /tmp/s # keep the data; a later run with it reuses the index

It needs no server. Without --data-dir, everything lives in a temporary directory removed at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_corpus import DAYS, END, PHRASES, Corpus
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh import searching, writing
from whoosh.qparser import QueryParser

from app import create_app
from app.auth import service as users
from app.auth.models import Role, User
from app.classify import categories
from app.classify.models import Category
from app.config import config_for_tests
from app.documents.models import Document, DocumentState
from app.extensions import db
from app.search import index as search_index
from app.search import indexer
from app.search import service as search_service
from app.search.models import SearchOutbox
from app.search.schema import build_schema, normalize_category, text_analyzer
from bench.machine import library_versions, load_average

LIBRARIES = ("Whoosh-Reloaded", "Flask", "SQLAlchemy", "huey")
CLASSES = ("rare", "common", "phrase", "filtered")
PATHS = ("service", "http", "raw", "raw, one segment")
RATIO_TARGET = 1.5
HTTP_TARGET_MS = 100.0
HTTP_TARGET_CLASSES = ("rare", "filtered")
INSERT_BATCH = 2_000
RAW_READ_BATCH = 1_000
SINGLE_DRAINS = 20
ARRIVAL_RATE = 2.0  # new documents per second while the lag is measured
ARRIVAL_SECONDS = 60.0
LAG_P95_TARGET = 2.0
LAG_MAX_TARGET = 10.0
WARM_UP_PER_CLASS = 5  # queries per class run through every path before timing
UPLOADERS = 5
PASSWORD = "bench-password-long-enough"  # noqa: S105  (throwaway users in a temporary database)
MARKER = "bench-search.json"
_COUNT = re.compile(r'data-testid="result-count">([\d,]+)<')
_CSRF = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')


# ---------------------------------------------------------------- timers around functions


class Stopwatch:
    """Seconds and calls per name, from timers wrapped around functions for the length of a `with`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    @contextmanager
    def around(self, *targets: tuple[object, str, str]) -> Iterator[Stopwatch]:
        """Time every call of owner.attribute under `name` while the block runs; (owner, attribute, name)."""
        originals = []
        for owner, attribute, name in targets:
            original = getattr(owner, attribute)
            originals.append((owner, attribute, original))
            setattr(owner, attribute, self._wrap(original, name))
        try:
            yield self
        finally:
            for owner, attribute, original in reversed(originals):
                setattr(owner, attribute, original)

    def _wrap(self, function: Callable, name: str) -> Callable:
        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - began)

        return timed


# ---------------------------------------------------------------- the database


@dataclass
class Filled:
    documents: int
    seconds: float
    generate_seconds: float
    words: list[int]
    chars: int


def fill_database(app, corpus: Corpus, count: int) -> Filled:
    """`count` processed documents with their outbox rows, inserted in bulk, with categories and uploaders."""
    words: list[int] = []
    chars = 0
    generate = 0.0
    began = time.perf_counter()
    with app.app_context():
        categories.ensure_default_categories()
        category_ids = dict(db.session.execute(select(Category.name, Category.id)).all())
        uploader_ids = [
            users.create_user(f"uploader{n}@example.com", Role.STAFF, PASSWORD, actor_id=None).id
            for n in range(1, UPLOADERS + 1)
        ]
        db.session.commit()
        rng = random.Random(corpus.seed)
        for start in range(0, count, INSERT_BATCH):
            made = time.perf_counter()
            generated = list(corpus.documents(min(INSERT_BATCH, count - start), start))
            generate += time.perf_counter() - made
            rows = []
            for item in generated:
                review = rng.choices(("auto_accepted", "reviewed", "needs_review"), (7, 2, 1))[0]
                text_bytes = item.text.encode()
                rows.append(
                    {
                        "id": item.number + 1,
                        "sha256": f"{item.number:064x}",
                        "filename": item.filename,
                        "size": len(text_bytes) * 9,
                        "mime": item.mime,
                        "kind": item.kind,
                        "state": DocumentState.PROCESSED.value,
                        "state_changed_at": item.uploaded_at,
                        "attempts": 1,
                        "uploaded_by": uploader_ids[item.number % UPLOADERS],
                        "uploaded_at": item.uploaded_at,
                        "processing_started_at": item.uploaded_at,
                        "finished_at": item.uploaded_at + timedelta(seconds=2),
                        "pages": 1 + len(text_bytes) // 3000,
                        "pages_processed": 1 + len(text_bytes) // 3000,
                        "ocr_pages": 1 if item.kind == "image" else 0,
                        "text": item.text,
                        "text_sha256": f"{item.number:064x}",
                        "review_state": review,
                        "category_id": category_ids[item.category],
                        "confidence": 0.9,
                    }
                )
                words.append(item.words)
                chars += len(item.text)
            db.session.execute(insert(Document), rows)
            db.session.execute(
                insert(SearchOutbox),
                [{"document_id": row["id"], "action": "upsert", "queued_at": row["uploaded_at"]} for row in rows],
            )
            db.session.commit()
        db.session.remove()
    return Filled(count, time.perf_counter() - began, generate, words, chars)


# ---------------------------------------------------------------- indexing both ways


@dataclass
class Indexed:
    documents: int
    seconds: float
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.documents / self.seconds if self.seconds else float("nan")


def make_empty_live_index(app) -> None:
    """An empty index made live, as a deployed app has: `drain` then applies the outbox to it in batches."""
    with app.app_context():
        path, ix = search_index.new_index()
        ix.close()
        search_index.swap_to(path)


def index_through_outbox(app) -> Indexed:
    """`indexer.drain()` until the outbox is empty, with timers around its steps."""
    watch = Stopwatch()
    with (
        app.app_context(),
        watch.around(
            (indexer, "_apply", "apply"),
            (indexer, "_forget", "forget outbox rows"),
            (indexer, "document_fields", "document_fields"),
            (indexer, "_open_writer", "open the writer"),
            (writing.SegmentWriter, "update_document", "update_document"),
            (writing.SegmentWriter, "commit", "commit (and merge)"),
        ),
    ):
        began = time.perf_counter()
        applied = indexer.drain()
        seconds = time.perf_counter() - began
    whoosh_in_apply = sum(watch.seconds.get(k, 0.0) for k in ("update_document", "commit (and merge)"))
    parts = {
        "reading outbox rows, lock, backlog check": seconds
        - watch.seconds["apply"]
        - watch.seconds["forget outbox rows"],
        "loading documents (ORM)": watch.seconds["apply"]
        - watch.seconds["document_fields"]
        - watch.seconds.get("open the writer", 0.0)
        - whoosh_in_apply,
        "document_fields": watch.seconds["document_fields"],
        "opening the writer": watch.seconds.get("open the writer", 0.0),
        "update_document": watch.seconds.get("update_document", 0.0),
        "commit (and merge)": watch.seconds.get("commit (and merge)", 0.0),
        "deleting outbox rows": watch.seconds["forget outbox rows"],
    }
    parts["commits"] = watch.calls.get("commit (and merge)", 0)
    return Indexed(applied, seconds, parts)


def index_raw(app, folder: Path) -> tuple[Indexed, float]:
    """A bare Whoosh writer over the same rows; returns Whoosh's time and, apart, reading rows + fields."""
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), build_schema())
    writer = ix.writer()
    reading = adding = 0.0
    count = 0
    with app.app_context(), Session(db.engine) as session:
        last_id = 0
        while True:
            began = time.perf_counter()
            batch = list(
                session.scalars(
                    select(Document)
                    .where(Document.is_live, Document.id > last_id)
                    .order_by(Document.id)
                    .limit(RAW_READ_BATCH)
                )
            )
            entries = [indexer.document_fields(document) for document in batch]
            session.expunge_all()
            session.rollback()
            reading += time.perf_counter() - began
            if not batch:
                break
            last_id = batch[-1].id
            began = time.perf_counter()
            for entry in entries:
                writer.add_document(**entry)
            adding += time.perf_counter() - began
            count += len(entries)
    began = time.perf_counter()
    writer.commit()
    committing = time.perf_counter() - began
    ix.close()
    return Indexed(count, adding + committing, {"add_document": adding, "commit": committing}), reading


def commit_new_document(item, document_id: int, category_ids: dict[str, int], text: str | None = None) -> None:
    """One processed document and its outbox row, committed, as the worker leaves a new one."""
    db.session.add(
        Document(
            id=document_id,
            sha256=f"{document_id:064x}",
            filename=item.filename,
            size=len(item.text.encode()) * 9,
            mime=item.mime,
            kind=item.kind,
            state=DocumentState.PROCESSED.value,
            text=text or item.text,
            uploaded_at=item.uploaded_at,
            category_id=category_ids[item.category],
            review_state="auto_accepted",
        )
    )
    db.session.flush()
    db.session.add(SearchOutbox(document_id=document_id, action="upsert"))
    db.session.commit()


def single_drains(app, corpus: Corpus, first: int, count: int) -> list[float]:
    """One new document at a time: its row and outbox row committed (untimed), then one timed `drain()`."""
    seconds = []
    with app.app_context():
        category_ids = dict(db.session.execute(select(Category.name, Category.id)).all())
        db.session.remove()
    for item in corpus.documents(count, first):
        with app.app_context():
            commit_new_document(item, item.number + 1, category_ids)
            began = time.perf_counter()
            applied = indexer.drain()
            seconds.append(time.perf_counter() - began)
            if applied != 1:
                raise RuntimeError(f"a single-document drain applied {applied} rows")
            db.session.remove()
    return seconds


@dataclass
class Arrivals:
    """Documents that arrived while others were being drained: how long each waited before search found it."""

    lags: list[float]  # seconds from the document's commit to the first search that found it
    seconds: float
    rate: float  # documents per second asked for
    drains: int
    longest_drain: float
    segments_before: int
    segments_after: int


def arrivals(app, corpus: Corpus, first: int, seconds: float, rate: float) -> Arrivals:
    """New documents at `rate` per second for `seconds`, drained as they come, searched for until found.

    Three threads, as in a running app: one commits documents (the worker finishing them), one
    drains the outbox again and again (the worker's drain tasks, one at a time as Huey's consumer
    runs them), and the main thread searches for every document not yet found, through
    `service.search`, every 50 ms (a person waiting for it). Each document carries a word of its own.
    """
    with app.app_context():
        category_ids = dict(db.session.execute(select(Category.name, Category.id)).all())
        next_id = (db.session.scalar(select(func.max(Document.id))) or 0) + 1
        segments_before = index_facts(search_index.read_pointer(search_index.search_root()).path)[1]
        db.session.remove()
    committed: dict[str, float] = {}
    lags: list[float] = []
    drain_times: list[float] = []
    done = threading.Event()
    lock = threading.Lock()

    def arrive() -> None:
        began = time.monotonic()
        for offset, item in enumerate(corpus.documents(int(seconds * rate), first)):
            time.sleep(max(0.0, began + offset / rate - time.monotonic()))
            word = f"zzarrival{offset:05d}"
            with app.app_context():
                commit_new_document(item, next_id + offset, category_ids, text=f"{item.text}\n{word}")
                db.session.remove()
            with lock:
                committed[word] = time.monotonic()
        done.set()

    def drain_loop() -> None:
        while True:
            finished = done.is_set()
            with app.app_context():
                began = time.monotonic()
                if indexer.drain():
                    drain_times.append(time.monotonic() - began)
                db.session.remove()
            if finished:
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=arrive), threading.Thread(target=drain_loop)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    waiting: dict[str, float] = {}
    while True:
        with lock:
            waiting.update(committed)
            committed.clear()
        for word, at in list(waiting.items()):
            with app.app_context():
                found = search_service.search(word, snippets=False).total
                db.session.remove()
            if found:
                lags.append(time.monotonic() - at)
                del waiting[word]
        if done.is_set() and not waiting and not committed:
            break
        if time.monotonic() - began > seconds + 300:
            raise RuntimeError(f"{len(waiting)} documents were never found")
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    with app.app_context():
        segments_after = index_facts(search_index.read_pointer(search_index.search_root()).path)[1]
    return Arrivals(
        lags,
        time.monotonic() - began,
        rate,
        len(drain_times),
        max(drain_times, default=0.0),
        segments_before,
        segments_after,
    )


def print_arrivals(result: Arrivals) -> None:
    ordered = sorted(result.lags)
    p50 = statistics.median(ordered)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[-1] if len(ordered) > 1 else ordered[0]
    verdict = "met" if p95 <= LAG_P95_TARGET and ordered[-1] <= LAG_MAX_TARGET else "MISSED"
    print()
    print(
        f"### New documents while others keep arriving: {len(ordered)} documents at {result.rate:g} per second "
        f"over {result.seconds:.0f} s"
    )
    print()
    print("| lag from commit to found | p50 | p95 | max | target (p95 / max) |")
    print("|:--|--:|--:|--:|:--|")
    print(
        f"| seconds | {p50:.2f} | {p95:.2f} | {ordered[-1]:.2f} "
        f"| {LAG_P95_TARGET:g} s / {LAG_MAX_TARGET:g} s: {verdict} |"
    )
    print()
    print(
        f"{result.drains} drains applied rows; the longest took {result.longest_drain:.2f} s. "
        f"Segments {result.segments_before} before, {result.segments_after} after (merging.bounded_merge)."
    )


# ---------------------------------------------------------------- the queries


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    category: str | None = None
    since: date | None = None
    until: date | None = None
    frequency: int = 0  # documents containing the word (phrases: documents containing both words)

    @property
    def filters(self) -> dict[str, object]:
        wanted = {"category": self.category, "since": self.since, "until": self.until}
        return {k: v for k, v in wanted.items() if v is not None}

    @property
    def url(self) -> str:
        params = {"q": self.text} | {k: v.isoformat() if isinstance(v, date) else v for k, v in self.filters.items()}
        return "/search?" + urlencode(params)

    def describe(self) -> str:
        extra = f" category={self.category} {self.since}..{self.until}" if self.category else ""
        return f"{self.text}{extra}"


def word_frequencies(searcher, words: list[str]) -> dict[str, int]:
    """Documents per word for the surface words given (by their analyzed term in "content"); stop words left out."""
    analyzer = text_analyzer()
    found: dict[str, int] = {}
    seen_terms: set[str] = set()
    for word in words:
        tokens = [token.text for token in analyzer(word)]
        if len(tokens) != 1 or tokens[0] in seen_terms:
            continue
        seen_terms.add(tokens[0])
        frequency = searcher.doc_frequency("content", tokens[0])
        if frequency:
            found[word] = frequency
    return found


def spread(items: list, count: int, rng: random.Random) -> list:
    """`count` items: all of them shuffled when there are too few, else a random sample."""
    if not items:
        return []
    if len(items) >= count:
        return rng.sample(items, count)
    return [items[i % len(items)] for i in range(count)]


def choose_queries(searcher, corpus: Corpus, documents: int, per_class: int, seed: int) -> dict[str, list[Query]]:
    """The query sets (plus a warm-up set per class), picked by document frequency in the live index."""
    rng = random.Random(seed * 7919 + 17)
    head = word_frequencies(searcher, corpus.vocabulary[:3000] + [w.lower() for p in PHRASES for w in p.split()])
    common = sorted((w for w, f in head.items() if f >= 0.25 * documents), key=head.get)
    middling = sorted(w for w, f in head.items() if 0.05 * documents <= f < 0.25 * documents)
    tail = word_frequencies(searcher, rng.sample(corpus.vocabulary[3000:], min(6000, len(corpus.vocabulary) - 3000)))
    rare_limit = max(3, documents // 1000)
    rare = sorted(w for w, f in tail.items() if f <= rare_limit)
    total = per_class + WARM_UP_PER_CLASS
    chosen: dict[str, list[Query]] = {}
    chosen["rare"] = [Query("rare", w, frequency=tail[w]) for w in spread(rare, total, rng)]
    chosen["common"] = [Query("common", w, frequency=head[w]) for w in spread(common, total, rng)]
    boilerplate = [f'"{p}"' for p in PHRASES]
    sampled = [f'"{p}"' for p in corpus.sample_phrases(rng, documents, total)]
    phrases = spread(boilerplate, total // 2, rng) + sampled[: total - total // 2]
    rng.shuffle(phrases)
    chosen["phrase"] = [Query("phrase", p) for p in phrases]
    first_day = (END - timedelta(days=DAYS)).date()
    filtered = []
    for word in spread(middling, total, rng):
        since = first_day + timedelta(days=rng.randrange(DAYS - 89))
        category = rng.choice([name for name, *_ in categories.DEFAULT_CATEGORIES])
        filtered.append(Query("filtered", word, category, since, since + timedelta(days=89), head[word]))
    chosen["filtered"] = filtered
    return chosen


@dataclass
class Sample:
    seconds: float
    total: int | None = None  # matches the path reported (raw: hits on the page)
    incomplete: bool = False


def run_service(app, query: Query) -> Sample:
    with app.app_context():
        began = time.perf_counter()
        result = search_service.search(query.text, filters=query.filters, page=1, per_page=20)
        seconds = time.perf_counter() - began
    return Sample(seconds, result.total, bool(result.message and "took too long" in result.message))


def run_http(client, query: Query) -> Sample:
    began = time.perf_counter()
    response = client.get(query.url, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    seconds = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"GET {query.url} answered {response.status_code}")
    match = _COUNT.search(body)
    return Sample(seconds, int(match.group(1).replace(",", "")) if match else None, "took too long" in body)


@dataclass
class Raw:
    """One searcher and one parser kept for the whole run, on the live index."""

    searcher: object
    parser: QueryParser

    def run(self, query: Query) -> Sample:
        began = time.perf_counter()
        q = self.parser.parse(query.text)
        restrict = None
        if query.category:
            end = query.until + timedelta(days=1)
            restrict = wq.And(
                [
                    wq.Term("category", normalize_category(query.category)),
                    wq.DateRange(
                        "uploaded",
                        _midnight(query.since),
                        _midnight(end),
                        endexcl=True,
                    ),
                ]
            )
        results = self.searcher.search(q, filter=restrict, limit=20)
        ids = [hit["id"] for hit in results]
        return Sample(time.perf_counter() - began, len(ids))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)  # the index holds naive UTC times


def sign_in(app):
    """A test client signed in as a viewer (the least role that may search); the user is made once."""
    email = "reader@example.com"
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            users.create_user(email, Role.VIEWER, PASSWORD, actor_id=None)
        db.session.remove()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise RuntimeError(f"signing in answered {response.status_code}")
    return client


def measure_queries(
    app, client, raw: Raw, raw_single: Raw, queries: list[Query], repeat: int
) -> dict[str, list[Sample]]:
    """Every query through every path, `repeat` times, the order of the paths turning by one at every query."""
    samples: dict[str, list[Sample]] = {name: [] for name in PATHS}
    calls: dict[str, Callable[[Query], Sample]] = {
        "service": lambda q: run_service(app, q),
        "http": lambda q: run_http(client, q),
        "raw": raw.run,
        "raw, one segment": raw_single.run,
    }
    turn = 0
    for _ in range(repeat):
        for query in queries:
            for name in PATHS[turn % len(PATHS) :] + PATHS[: turn % len(PATHS)]:
                samples[name].append(calls[name](query))
            turn += 1
    return samples


def quantile_ms(samples: list[Sample], which: str) -> float:
    values = [s.seconds for s in samples]
    if which == "p50":
        return statistics.median(values) * 1000
    if len(values) < 2:
        return values[0] * 1000
    return statistics.quantiles(values, n=20, method="inclusive")[-1] * 1000


SERVICE_PARTS = (
    "reading the query (read_query: parse, tame)",
    "deleted masking (pending_deletes: 1 query)",
    "top 20 (Whoosh's collector with the filters)",
    "count pass: total and counts per category",
    "the page's rows (_hits: 1-2 queries)",
    "snippets (snippet, terms_for)",
    "category names for the facets (1 query)",
    "did you mean (did_you_mean)",
    "the rest (searcher from the pool, filters, result)",
)


def service_breakdown(app, queries: list[Query]) -> tuple[dict[str, float], float]:
    """Mean ms per search spent in each part of `service.search`, from timers around its functions (one round)."""
    watch = Stopwatch()
    total = 0.0
    with watch.around(
        (search_service, "read_query", "read"),
        (search_service, "pending_deletes", "pending"),
        (searching.Searcher, "search_with_collector", "top"),
        (search_service, "collect", "collect"),
        (search_service, "_hits", "hits"),
        (search_service, "snippet", "snippet"),
        (search_service, "terms_for", "terms"),
        (search_service, "_facets", "facets"),
        (search_service, "did_you_mean", "correction"),
    ):
        for query in queries:
            total += run_service(app, query).seconds
    got = watch.seconds.get
    parts = [
        got("read", 0.0),
        got("pending", 0.0),
        got("top", 0.0),
        got("collect", 0.0) - got("top", 0.0),
        got("hits", 0.0) - got("snippet", 0.0) - got("terms", 0.0),
        got("snippet", 0.0) + got("terms", 0.0),
        got("facets", 0.0),
        got("correction", 0.0),
    ]
    parts.append(total - sum(parts))
    count = len(queries)
    return {
        name: seconds * 1000 / count for name, seconds in zip(SERVICE_PARTS, parts, strict=True)
    }, total * 1000 / count


def profile(call: Callable[[Query], object], queries: list[Query], lines: int) -> str:
    profiler = cProfile.Profile()
    for query in queries:
        profiler.enable()
        call(query)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


# ---------------------------------------------------------------- disk


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024 / 1024


def index_facts(path: Path) -> tuple[int, int]:
    ix = whoosh_index.open_dir(str(path))
    with ix.searcher() as searcher:
        return searcher.doc_count(), len(searcher.leaf_searchers())


# ---------------------------------------------------------------- the machine


def filesystem(path: Path) -> str:
    try:
        best = ""
        with open("/proc/mounts") as mounts:
            for line in mounts:
                _, point, kind, *_ = line.split()
                if str(path.resolve()).startswith(point) and len(point) >= len(best.split(" ")[0] or ""):
                    best = f"{point} ({kind})"
        return best or "unknown"
    except OSError:
        return "unknown"


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, help="documents to index (100,000; 5,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="5,000 documents, 20 queries per class, one round")
    parser.add_argument("--queries", type=int, help="queries per class (40; 20 with --quick)")
    parser.add_argument("--repeat", type=int, help="rounds over the queries (2; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the service per class, http for two")
    parser.add_argument("--data-dir", type=Path, help="keep the data here; reuse the index built by an earlier run")
    parser.add_argument(
        "--long", action="store_true", help="long documents, 10-100 KB of text each (10,000; 1,000 with --quick)"
    )
    parser.add_argument(
        "--arrivals",
        type=float,
        default=ARRIVAL_SECONDS,
        help=f"seconds of new documents arriving at {ARRIVAL_RATE:g}/s while the lag is measured (0: skip)",
    )
    args = parser.parse_args()
    if args.long:
        documents = args.docs or (1_000 if args.quick else 10_000)
    else:
        documents = args.docs or (5_000 if args.quick else 100_000)
    per_class = args.queries or (20 if args.quick else 40)
    repeat = args.repeat or (1 if args.quick else 2)

    print("Quartermaster search benchmark")
    print(f"  machine    {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"  python     {platform.python_implementation()} {platform.python_version()}")
    print(f"  libraries  {library_versions(LIBRARIES)}, SQLite {sqlite3.sqlite_version}")
    print(f"  load       {load_average()} (1, 5, 15 min averages; other work on the machine skews the figures)")
    started = time.perf_counter()

    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        root, cleanup = args.data_dir.resolve(), None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="qm-bench-search-")
        root = Path(cleanup.name)
    print(f"  data       {root} on {filesystem(root)}; SQLite database, index and queue there")
    print()
    try:
        return run(root, documents, per_class, repeat, args.seed, args.profile, started, args.long, args.arrivals)
    finally:
        if cleanup is not None:
            cleanup.cleanup()


def run(
    root: Path,
    documents: int,
    per_class: int,
    repeat: int,
    seed: int,
    profiling: bool,
    started: float,
    long: bool = False,
    arrival_seconds: float = ARRIVAL_SECONDS,
) -> int:
    corpus = Corpus(seed, long=long)
    marker_path = root / MARKER
    marker = json.loads(marker_path.read_text()) if marker_path.exists() else None
    fresh = not any(root.iterdir())
    app = create_app(config_for_tests(root / "data", f"sqlite:///{root}/bench.db"))
    wanted = {"documents": documents, "seed": seed, "long": long}
    raw_folder = root / "raw-index"

    if marker and {k: marker.get(k) for k in wanted} == wanted:
        print(f"Reusing the database and both indexes in {root} (built by an earlier run; indexing not measured)")
        indexing = marker["indexing"]
    else:
        if not fresh:
            print(f"{root} holds something else; give an empty or a new directory to --data-dir")
            return 2
        with app.app_context():
            db.create_all()
        filled = fill_database(app, corpus, documents)
        print(
            f"Documents: {filled.documents:,} from search_corpus.Corpus(seed={seed}, long={long}), "
            f"{statistics.fmean(filled.words):.0f} words on average (median {statistics.median(filled.words):.0f}, "
            f"{min(filled.words)} to {max(filled.words)}), {filled.chars / filled.documents:,.0f} characters; "
            f"generated in {filled.generate_seconds:.1f} s, with inserting {filled.seconds:.1f} s"
        )
        make_empty_live_index(app)
        print(f"Indexing {documents:,} documents through indexer.drain() (load {load_average()}) ...", flush=True)
        drained = index_through_outbox(app)
        print(f"  drained in {drained.seconds:.1f} s (load {load_average()})", flush=True)
        with app.app_context():
            drained_segments = index_facts(search_index.read_pointer(search_index.search_root()).path)[1]
        if drained.documents != documents:
            print(f"drain applied {drained.documents} outbox rows, expected {documents}")
            return 1
        print(f"Indexing the same rows with a bare Whoosh writer (load {load_average()}) ...", flush=True)
        raw_indexed, reading = index_raw(app, raw_folder)
        print(f"  written in {raw_indexed.seconds:.1f} s (load {load_average()})", flush=True)
        print(f"Single-document drains: {SINGLE_DRAINS} new documents, one drain each ...", flush=True)
        singles = single_drains(app, corpus, documents, SINGLE_DRAINS)
        indexing = {
            "drain": {"documents": drained.documents, "seconds": drained.seconds, "parts": drained.parts},
            "raw": {"documents": raw_indexed.documents, "seconds": raw_indexed.seconds, "parts": raw_indexed.parts},
            "raw_reading": reading,
            "singles": singles,
            "segments_after_drain": drained_segments,
            "load": load_average(),
        }
        marker_path.write_text(json.dumps(wanted | {"indexing": indexing}))

    print_indexing(indexing)
    if arrival_seconds > 0:
        print(f"New documents arriving for {arrival_seconds:g} s while they are drained and searched for ...")
        print_arrivals(arrivals(app, corpus, documents + SINGLE_DRAINS, arrival_seconds, ARRIVAL_RATE))

    with app.app_context():
        live = search_index.read_pointer(search_index.search_root())
    ix = whoosh_index.open_dir(str(live.path))
    searcher = ix.searcher()
    queries = choose_queries(searcher, corpus, documents, per_class, seed)
    raw = Raw(searcher, QueryParser("content", ix.schema))
    single_ix = whoosh_index.open_dir(str(raw_folder))
    raw_single = Raw(single_ix.searcher(), QueryParser("content", single_ix.schema))
    client = sign_in(app)

    # The first search in a process builds the per-segment columns (then cached): measured once, apart.
    first = run_service(app, queries["rare"][0])
    warm_ups = [q for kind in CLASSES for q in queries[kind][:WARM_UP_PER_CLASS]]
    measure_queries(app, client, raw, raw_single, warm_ups, 1)

    print()
    print(
        f"### Query latency: {per_class} queries per class, {repeat} round(s), page 1 of 20 "
        f"(service and http: relevance order, facets, total, snippets)"
    )
    print()
    print(f"First search in the process (builds the per-segment filter columns): {first.seconds * 1000:.0f} ms")
    print(f"Warmed up on {len(warm_ups)} other queries through every path")
    load_before = load_average()
    results: dict[str, dict[str, list[Sample]]] = {}
    began = time.perf_counter()
    for kind in CLASSES:
        results[kind] = measure_queries(app, client, raw, raw_single, queries[kind][WARM_UP_PER_CLASS:], repeat)
    seconds = time.perf_counter() - began
    print(f"{seconds:.0f} s for all queries; load average {load_before} before, {load_average()} after")
    print()
    print(
        "| class | queries | matches (mean) | service p50 | service p95 | http p50 | http p95 | raw p50 | raw p95 "
        "| service/raw p50 | service/raw p95 | targets |"
    )
    print("|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:--|")
    missed: list[str] = []
    for kind in CLASSES:
        by_path = results[kind]
        ms = {(p, w): quantile_ms(by_path[p], w) for p in PATHS for w in ("p50", "p95")}
        ratio50 = ms[("service", "p50")] / ms[("raw", "p50")]
        ratio95 = ms[("service", "p95")] / ms[("raw", "p95")]
        verdicts = []
        ok = ratio50 <= RATIO_TARGET and ratio95 <= RATIO_TARGET
        verdicts.append(f"ratio {'met' if ok else 'MISSED'}")
        if not ok:
            missed.append(kind)
        if kind in HTTP_TARGET_CLASSES:
            http_ok = ms[("http", "p95")] < HTTP_TARGET_MS
            verdicts.append(f"http p95 < {HTTP_TARGET_MS:.0f} ms {'met' if http_ok else 'MISSED'}")
            if not http_ok and kind not in missed:
                missed.append(kind)
        totals = [s.total for s in by_path["service"] if s.total is not None]
        print(
            f"| {kind} | {len(queries[kind]) - WARM_UP_PER_CLASS} | {statistics.fmean(totals):,.0f} "
            f"| {ms[('service', 'p50')]:.1f} | {ms[('service', 'p95')]:.1f} "
            f"| {ms[('http', 'p50')]:.1f} | {ms[('http', 'p95')]:.1f} "
            f"| {ms[('raw', 'p50')]:.1f} | {ms[('raw', 'p95')]:.1f} "
            f"| {ratio50:.2f} | {ratio95:.2f} | {'; '.join(verdicts)} |"
        )
    print()
    for kind in CLASSES:
        by_path = results[kind]
        incomplete = sum(s.incomplete for s in by_path["service"])
        mismatched = sum(
            a.total != b.total for a, b in zip(by_path["service"], by_path["http"], strict=True) if b.total is not None
        )
        empty = sum(1 for s in by_path["service"] if not s.total)
        frequencies = [q.frequency for q in queries[kind][WARM_UP_PER_CLASS:] if q.frequency]
        band = f"; word in {min(frequencies):,} to {max(frequencies):,} documents" if frequencies else ""
        examples = ", ".join(q.describe() for q in queries[kind][WARM_UP_PER_CLASS : WARM_UP_PER_CLASS + 3])
        print(
            f"{kind}: e.g. {examples}{band}; {incomplete} searches stopped by the 2 s budget, "
            f"{empty} found nothing, {mismatched} http totals differ from the service's"
        )
    print()
    segments = len(searcher.leaf_searchers())
    print(f"Raw on the live index ({segments} segments, as the drain left it) and on the raw one (1 segment):")
    print()
    print("| class | raw p50 | raw p95 | raw 1 segment p50 | raw 1 segment p95 | service / raw 1 segment p50 |")
    print("|:--|--:|--:|--:|--:|--:|")
    for kind in CLASSES:
        by_path = results[kind]
        single50 = quantile_ms(by_path["raw, one segment"], "p50")
        print(
            f"| {kind} | {quantile_ms(by_path['raw'], 'p50'):.1f} | {quantile_ms(by_path['raw'], 'p95'):.1f} "
            f"| {single50:.1f} | {quantile_ms(by_path['raw, one segment'], 'p95'):.1f} "
            f"| {quantile_ms(by_path['service'], 'p50') / single50:.2f} |"
        )
    print()
    print(
        "raw = QueryParser('content') + searcher.search(q, limit=20) (+ filter= for filtered) and the 20 ids;\n"
        "it searches only the text, and makes no total, facets, snippets, database check or deleted masking.\n"
        "http = Flask test client in this process (no gunicorn, no network), HX-Request fragment, signed in."
    )

    print()
    print("Where the service's time goes: mean ms per search, one more round through service.search with timers")
    print("around its functions; the last row is the mean http time minus the mean service time (same run above):")
    print()
    breakdowns = {kind: service_breakdown(app, queries[kind][WARM_UP_PER_CLASS:]) for kind in CLASSES}
    print("| part | " + " | ".join(CLASSES) + " |")
    print("|:--|" + "--:|" * len(CLASSES))
    for part in SERVICE_PARTS:
        print(f"| {part} | " + " | ".join(f"{breakdowns[kind][0][part]:.1f}" for kind in CLASSES) + " |")
    print("| **service.search, mean** | " + " | ".join(f"**{breakdowns[kind][1]:.1f}**" for kind in CLASSES) + " |")
    overhead = []
    for kind in CLASSES:
        mean = {p: statistics.fmean(s.seconds for s in results[kind][p]) * 1000 for p in ("service", "http", "raw")}
        overhead.append(f"{mean['http'] - mean['service']:.1f}")
    print("| http on top (the view: form and its 2 queries, session, template) | " + " | ".join(overhead) + " |")

    print()
    print("### The indexes on disk")
    print()
    print("| index | documents | segments | MB | KB per document |")
    print("|:--|--:|--:|--:|--:|")
    for name, path in (("live (drained through the outbox)", live.path), ("raw (one writer, one commit)", raw_folder)):
        count, segments = index_facts(path)
        mb = folder_mb(path)
        print(f"| {name} | {count:,} | {segments} | {mb:,.1f} | {mb * 1024 / count:.2f} |")
    database_mb = (root / "bench.db").stat().st_size / 1024 / 1024
    with app.app_context():
        text_mb = (db.session.scalar(select(func.sum(func.length(Document.text)))) or 0) / 1024 / 1024
        db.session.remove()
    print()
    print(f"For scale: the SQLite database is {database_mb:,.1f} MB, of which the documents' text ~{text_mb:,.1f} MB.")

    if profiling:
        for kind in CLASSES:
            print()
            print(f"### cProfile: service.search, {kind} queries")
            print(profile(lambda q: run_service(app, q), queries[kind][WARM_UP_PER_CLASS:], 30))
        for kind in HTTP_TARGET_CLASSES:
            print()
            print(f"### cProfile: GET /search (test client), {kind} queries")
            print(profile(lambda q: run_http(client, q), queries[kind][WARM_UP_PER_CLASS:], 30))
    elif missed:
        print()
        print(f"Targets missed for: {', '.join(missed)}; rerun with --profile (and --data-dir to reuse the index).")

    searcher.close()
    ix.close()
    raw_single.searcher.close()
    single_ix.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    print()
    print(f"Done in {time.perf_counter() - started:.0f} s; load average {load_average()}.")
    return 0


def print_indexing(indexing: dict) -> None:
    drain, raw = indexing["drain"], indexing["raw"]
    drain_rate = drain["documents"] / drain["seconds"]
    raw_rate = raw["documents"] / raw["seconds"]
    print()
    print("### Indexing")
    print()
    print("| path | documents | seconds | documents/s | / raw |")
    print("|:--|--:|--:|--:|--:|")
    print(
        f"| outbox: indexer.drain() (batches of 500, {drain['parts']['commits']} commits) | {drain['documents']:,} "
        f"| {drain['seconds']:.1f} | {drain_rate:,.0f} | {drain_rate / raw_rate:.2f} |"
    )
    print(
        f"| raw Whoosh: one writer, add_document, one commit | {raw['documents']:,} | {raw['seconds']:.1f} "
        f"| {raw_rate:,.0f} | 1.00 |"
    )
    print()
    print(
        f"Raw time is Whoosh's alone: add_document {raw['parts']['add_document']:.1f} s + commit "
        f"{raw['parts']['commit']:.1f} s. Reading the rows and making the fields for it took another "
        f"{indexing['raw_reading']:.1f} s (not counted)."
    )
    print()
    print("Where the drain's time went (timers around the app's and Whoosh's functions):")
    print()
    print("| part | seconds | share |")
    print("|:--|--:|--:|")
    for part, seconds in drain["parts"].items():
        if part == "commits":
            continue
        print(f"| {part} | {seconds:.1f} | {seconds / drain['seconds']:.0%} |")
    if "segments_after_drain" in indexing:
        print()
        print(f"The drain left {indexing['segments_after_drain']} segments (merging.bounded_merge); raw left 1.")
    singles = indexing["singles"]
    if singles:
        ms = [s * 1000 for s in singles]
        ordered = sorted(ms)
        p95 = statistics.quantiles(ordered, n=20, method="inclusive")[-1] if len(ms) > 1 else ms[0]
        print()
        print(
            f"Single-document drains on the full index ({len(ms)}: one new document, one drain, one commit): "
            f"p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ordered[-1]:,.0f} ms"
        )
        print(f"  in order, ms: {', '.join(f'{value:,.0f}' for value in ms)}")
    print(f"(load average at the end of indexing: {indexing['load']})")


if __name__ == "__main__":
    sys.exit(main())
