"""Where the search index lives, how it is opened and replaced, and the searchers every request shares.

Layout under DATA_DIR/search/:

    index-<UTC time>-<random>/   a complete Whoosh index
    current                      {"directory": "index-…", "schema": N}, replaced with os.replace

A rebuild writes a new directory beside the live one and then replaces `current` in one
rename, so a search sees either the old index or the new one, never half of one. The
previous directory is kept until the next swap: a process that has just read the old
pointer can still open it. Nothing here writes documents into an index; that is
`app.search.indexer`, under its lock.

Searchers: a Whoosh searcher reads its posting files with seek-and-read on shared file
objects, so one searcher must not serve two threads at once. `shared_searcher()` lends a
searcher to one caller at a time from a small pool per process; a pooled searcher is replaced
when the index has a newer commit (a directory listing tells) or `current` points elsewhere
(a stat tells).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from whoosh import index as whoosh_index
from whoosh.index import FileIndex
from whoosh.searching import Searcher

from app.files import fsync_directory
from app.search.schema import SCHEMA_VERSION, build_schema

log = logging.getLogger(__name__)

POINTER = "current"
PREFIX = "index-"
MAX_IDLE_SEARCHERS = 8  # per process: gunicorn's threads, plus a few


class IndexUnavailable(RuntimeError):
    """There is no index to search or write yet (or it cannot be read); the worker builds one."""


class IndexMissing(IndexUnavailable):
    pass


class IndexOutdated(IndexUnavailable):
    """The index was written with another SCHEMA_VERSION: it can be searched, not written to."""


@dataclass(frozen=True)
class Location:
    """The index `current` points at."""

    root: Path
    directory: str
    schema_version: int

    @property
    def path(self) -> Path:
        return self.root / self.directory

    @property
    def outdated(self) -> bool:
        return self.schema_version != SCHEMA_VERSION


def search_root() -> Path:
    """DATA_DIR/search for the current app."""
    return Path(current_app.config["DATA_DIR"]) / "search"


def read_pointer(root: Path) -> Location | None:
    """Where `current` points, or None when there is no (readable) index yet."""
    try:
        data = json.loads((root / POINTER).read_text(encoding="utf-8"))
        directory = str(data["directory"])
        version = int(data["schema"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("search index pointer %s is unreadable; the index will be rebuilt", root / POINTER)
        return None
    if "/" in directory or not directory.startswith(PREFIX) or not (root / directory).is_dir():
        log.warning("search index pointer names %r, which is not an index directory", directory)
        return None
    return Location(root, directory, version)


def open_current(root: Path | None = None, *, for_writing: bool = False) -> FileIndex:
    """The live index; raises IndexMissing, or IndexOutdated when opened for writing with an old schema."""
    root = root or search_root()
    location = read_pointer(root)
    if location is None:
        raise IndexMissing("the search index has not been built yet")
    if for_writing and location.outdated:
        raise IndexOutdated(
            f"the search index was built with schema {location.schema_version}; this code writes {SCHEMA_VERSION}"
        )
    try:
        return whoosh_index.open_dir(str(location.path))
    except Exception as error:  # an index Whoosh cannot open is as good as none: the worker rebuilds it
        raise IndexMissing(f"the search index cannot be opened ({type(error).__name__}: {error})") from error


def new_index(root: Path | None = None) -> tuple[Path, FileIndex]:
    """An empty index in a new directory beside the live one (not live until `swap_to`)."""
    root = root or search_root()
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = root / f"{PREFIX}{stamp}-{secrets.token_hex(4)}"
    path.mkdir()
    return path, whoosh_index.create_in(str(path), build_schema())


def swap_to(path: Path) -> None:
    """Make the index in `path` the live one in a single rename, then remove the ones before the previous."""
    root = path.parent
    previous = read_pointer(root)
    temporary = root / f".{POINTER}-{secrets.token_hex(4)}"
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump({"directory": path.name, "schema": SCHEMA_VERSION}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, root / POINTER)
    fsync_directory(root)
    keep = {path.name} | ({previous.directory} if previous else set())
    for child in root.iterdir():
        # Swaps happen under the writer lock, so any other directory is an older index or an abandoned rebuild.
        if child.is_dir() and child.name.startswith(PREFIX) and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(f".{POINTER}-"):
            child.unlink(missing_ok=True)


def discard(path: Path) -> None:
    """Remove an index directory that never went live (a rebuild that failed)."""
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- shared searchers


class _SearcherPool:
    """Searchers for one index root, each lent to one caller at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._pointer_stamp: tuple[int, int, int] | None = None
        self._location: Location | None = None
        self._index: FileIndex | None = None
        self._idle: list[tuple[Location, Searcher]] = []

    def _current(self) -> tuple[Location, FileIndex]:
        try:
            stat = os.stat(self.root / POINTER)
        except FileNotFoundError:
            raise IndexMissing("the search index has not been built yet") from None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._pointer_stamp or self._index is None or self._location is None:
                location = read_pointer(self.root)
                if location is None:
                    raise IndexMissing("the search index has not been built yet")
                index = whoosh_index.open_dir(str(location.path))
                stale, self._idle = self._idle, []
                self._pointer_stamp, self._location, self._index = stamp, location, index
                for _, searcher in stale:
                    searcher.close()
            return self._location, self._index

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        location, index = self._current()
        generation = index.latest_generation()
        searcher = None
        with self._lock:
            while self._idle and searcher is None:
                idle_location, candidate = self._idle.pop()
                if idle_location == location:
                    searcher = candidate
                else:
                    candidate.close()
        if searcher is not None and searcher.reader().generation() != generation:
            # Not searcher.refresh(): Whoosh 2.7.5 reuses the old segment readers with their old
            # deletions, so a replaced document would show twice. Opening anew costs a few ms per commit.
            searcher.close()
            searcher = None
        if searcher is None:
            searcher = index.searcher()
        try:
            yield searcher
        finally:
            with self._lock:
                if self._location == location and len(self._idle) < MAX_IDLE_SEARCHERS:
                    self._idle.append((location, searcher))
                    searcher = None
            if searcher is not None:
                searcher.close()


_pools: dict[Path, _SearcherPool] = {}
_pools_lock = threading.Lock()


def _pool(root: Path) -> _SearcherPool:
    with _pools_lock:
        pool = _pools.get(root)
        if pool is None:
            pool = _pools[root] = _SearcherPool(root)
        return pool


@contextmanager
def shared_searcher(root: Path | None = None) -> Iterator[Searcher]:
    """A searcher on the live index, up to date with its latest commit, for this caller alone until the block ends.

    Raises IndexMissing when there is no index yet.
    """
    with _pool(root or search_root()).searcher() as searcher:
        yield searcher
