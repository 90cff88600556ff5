"""The index under concurrency: threads and processes draining while others search, rebuilds during searches,
a writer killed mid-write, and a real Huey consumer applying the outbox."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import traceback
from pathlib import Path

from sqlalchemy import func, select

from app import create_app
from app.config import config_for_tests
from app.extensions import db
from app.search import index as search_index
from app.search import indexer, writer_lock
from app.search.models import SearchOutbox
from app.search.service import search
from tests.integration.test_search_index import indexed_ids, make_document, outbox_rows
from tests.support import services
from tests.support.consumer import shared_setup

SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections or locks


def _settings(app) -> tuple[str, str, str]:
    return str(app.config["DATA_DIR"]), app.config["SQLALCHEMY_DATABASE_URI"], app.config["QUEUE_NAME"]


def _child_app(data_dir: str, url: str, queue: str):
    """The app as another worker process builds it: same database, data dir and queue (SQLite queue storage)."""
    return create_app(config_for_tests(Path(data_dir), url, QUEUE_NAME=queue))


def _add_and_drain(data_dir: str, url: str, queue: str, worker: int, count: int, errors) -> None:
    """A process that keeps adding documents and draining, as web requests and worker tasks would."""
    try:
        app = _child_app(data_dir, url, queue)
        with app.app_context():
            for n in range(count):
                make_document(f"p{worker}-{n}.txt", f"process{worker} item{n} shared")
                indexer.drain(batch_size=3)
            db.engine.dispose()
    except BaseException:
        errors.put(f"worker {worker}: {traceback.format_exc()}")


def _hold_writer_then_die(data_dir: str, url: str, queue: str, ready) -> None:
    """Take both locks, start writing a document, and wait to be killed."""
    app = _child_app(data_dir, url, queue)
    with app.app_context():
        lock = writer_lock.WriterLock()
        assert lock.acquire()
        writer = search_index.open_current(for_writing=True).writer()
        writer.add_document(id="999999", filename="half.txt", content="never committed")
        ready.set()
        time.sleep(120)


def _drain_after_a_crash(data_dir: str, url: str, queue: str, result) -> None:
    app = _child_app(data_dir, url, queue)
    writer_lock.LOCK_STALE_AFTER = 1  # the dead holder went silent a moment ago
    time.sleep(1.5)
    with app.app_context():
        result.put(indexer.drain())
        db.engine.dispose()


class Searching:
    """A thread that searches until stopped, recording totals and any exception."""

    def __init__(self, app, query: str) -> None:
        self.app, self.query = app, query
        self.totals: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.app.app_context():
            while not self._stop.is_set():
                try:
                    self.totals.append(search(self.query).total)
                except Exception:
                    self.errors.append(traceback.format_exc())
                db.session.remove()
                time.sleep(0.005)

    def __enter__(self) -> Searching:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_threads_drain_and_search_at_once(app):
    with app.app_context():
        indexer.reindex()
    errors: list[str] = []
    made: list[int] = []

    def writer(number: int) -> None:
        with app.app_context():
            try:
                for n in range(12):
                    made.append(make_document(f"t{number}-{n}.txt", f"thread{number} item{n} shared"))
                    indexer.drain()
            except Exception:
                errors.append(traceback.format_exc())
            finally:
                db.session.remove()

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    with Searching(app, "shared") as first, Searching(app, "thread0 OR thread1") as second:
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=120)
    assert not errors, errors[0]
    assert not first.errors + second.errors, (first.errors + second.errors)[0]
    assert first.totals
    assert second.totals
    with app.app_context():
        indexer.drain()  # whatever a busy lock left behind
        assert outbox_rows() == 0
        assert indexed_ids() == set(made)
        assert len(made) == 24
        assert indexer.verify().clean
        assert search("shared").total == 24


def test_processes_drain_while_this_one_searches(app):
    with app.app_context():
        indexer.reindex()
    errors = SPAWN.Queue()
    workers = [SPAWN.Process(target=_add_and_drain, args=(*_settings(app), number, 8, errors)) for number in range(4)]
    with Searching(app, "shared") as searching:
        for process in workers:
            process.start()
        for process in workers:
            process.join(timeout=180)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, failures[0]
    assert all(process.exitcode == 0 for process in workers)
    assert not searching.errors, searching.errors[0]
    assert searching.totals == sorted(searching.totals)  # documents only ever appear, never vanish
    with app.app_context():
        indexer.drain()
        assert outbox_rows() == 0
        drift = indexer.verify()
        assert drift.clean
        assert drift.indexed == 32
        for worker in range(4):
            assert search(f"process{worker}").total == 8


def test_a_writer_killed_mid_write_blocks_nothing_for_long(app):
    with app.app_context():
        indexer.reindex()
        before = make_document("before.txt", "persimmon")
    ready = SPAWN.Event()
    dying = SPAWN.Process(target=_hold_writer_then_die, args=(*_settings(app), ready))
    dying.start()
    try:
        assert ready.wait(60), "the writer did not start"
    finally:
        os.kill(dying.pid, signal.SIGKILL)  # no cleanup at all: both locks are left behind
        dying.join(timeout=30)
    result = SPAWN.Queue()
    after = SPAWN.Process(target=_drain_after_a_crash, args=(*_settings(app), result))
    after.start()
    after.join(timeout=120)
    assert result.get(timeout=5) == 1  # the stale Huey lock was taken over; the kernel dropped Whoosh's
    with app.app_context():
        assert indexed_ids() == {before}  # the killed writer's document was never committed
        assert outbox_rows() == 0
        assert indexer.verify().clean


def test_reindex_swaps_atomically_while_searches_run(app):
    with app.app_context():
        for n in range(30):
            make_document(f"q{n}.txt", f"quince crate{n}")
        indexer.drain()
        first = search_index.read_pointer(search_index.search_root()).directory
    with Searching(app, "quince") as searching, app.app_context():
        for _ in range(3):
            assert indexer.reindex() == 30
            time.sleep(0.05)
    assert not searching.errors, searching.errors[0]
    assert len(searching.totals) > 3
    assert set(searching.totals) == {30}
    with app.app_context():
        root = search_index.search_root()
        assert read_dir_names(root) == 2  # the live index and the one before it
        assert search_index.read_pointer(root).directory != first
        assert indexer.verify().clean


def read_dir_names(root: Path) -> int:
    return sum(1 for path in root.iterdir() if path.is_dir())


# ---------------------------------------------------------------- a real consumer


def test_a_real_consumer_applies_the_outbox(tmp_path, postgres_url):
    with shared_setup(tmp_path, postgres_url, name="search") as (app_with, start_consumer):
        app = app_with(services.TEST_REDIS_URL)
        start_consumer(workers=2)
        with app.app_context():
            from app.search.outbox import request_drain

            ids = [make_document(f"w{n}.txt", f"tangerine box{n}") for n in range(5)]
            request_drain()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                db.session.rollback()
                if db.session.scalar(select(func.count(SearchOutbox.id))) == 0 and search("tangerine").total == 5:
                    break
                time.sleep(0.2)
            assert indexed_ids() == set(ids)
