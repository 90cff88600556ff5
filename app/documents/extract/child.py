"""Reading a file in a child process, so that a time limit really stops the work.

A thread cannot be stopped from outside, and pdfium, onnxruntime and lxml spend their time in C
where no check of ours runs. So each thread that reads files hands them to its own child process
and waits at most until the caller's deadline; past it the child is killed (SIGKILL) and the next
file gets a fresh child. A child lives on between files, so the OCR engine is loaded once per
child, not once per file. A child that dies (a crash inside a C library, the kernel's OOM killer)
costs the document one attempt instead of taking the whole consumer down.

Children are new interpreters (subprocess), never forks: the consumer runs threads (heartbeat,
workers), and a fork of a process with threads can copy a lock that some other thread holds.
Requests and answers are pickled over a socket pair (multiprocessing's Connection).
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .errors import ChildError, ExtractionError, ReaderStopped, TimeLimitReached

log = logging.getLogger(__name__)

_ROOT = str(Path(__file__).resolve().parents[3])  # the project folder, where `app` is imported from
# A fresh interpreter that imports only what reading needs: never the parent's main module (as
# multiprocessing's "spawn" would re-run it), and nothing forked from a process that runs threads.
_CHILD_MAIN = "import sys; from app.documents.extract.child import serve; serve(int(sys.argv[1]), int(sys.argv[2]))"
_local = threading.local()
_readers: weakref.WeakSet[_Reader] = weakref.WeakSet()


def call(operation: str, *args: Any, deadline: float | None, limit: float) -> Any:
    """Run `operation` on this thread's child and return its result, or raise what it raised.

    `deadline` is a time.monotonic() value (None: wait as long as it takes); `limit` is the whole
    task's time limit in seconds, for the message when it is reached.
    """
    reader: _Reader | None = getattr(_local, "reader", None)
    if reader is None or reader.owner != os.getpid():  # a forked worker process must not share its parent's child
        reader = _local.reader = _Reader()
    return reader.call(operation, args, deadline, limit)


class _Reader:
    """One child process and the socket to it, used by one thread at a time.

    A thread that ends drops its reader, and the reader's child goes with it (`__del__`); the ones
    still held when the process exits are stopped then (`_stop_all`), so no child outlives us idle.
    """

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.process: subprocess.Popen[bytes] | None = None
        self.connection: Connection | None = None
        _readers.add(self)

    def __del__(self) -> None:
        if self.owner == os.getpid():
            self.close()

    def _start(self) -> Connection:
        if self.process is not None and self.process.poll() is None and self.connection is not None:
            return self.connection
        self.close()
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and code, no user input)
                [sys.executable, "-c", _CHILD_MAIN, str(theirs.fileno()), str(os.getpid())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))},
                cwd=_ROOT,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # only the child holds its end now: when the child dies, our recv() sees EOF
        self.connection = Connection(ours.detach())
        return self.connection

    def call(self, operation: str, args: tuple[Any, ...], deadline: float | None, limit: float) -> Any:
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeLimitReached(limit)
        connection = self._start()
        try:
            connection.send((operation, args))
            ready = connection.poll(None if deadline is None else max(deadline - time.monotonic(), 0))
        except (OSError, EOFError) as error:
            self.close()
            raise ReaderStopped(
                "The program reading the file stopped unexpectedly. It will be tried again later."
            ) from error
        if not ready:
            log.warning("reading a file passed the time limit; its reader process is killed", extra={"limit_s": limit})
            self.close()
            raise TimeLimitReached(limit)
        try:
            status, value, details = connection.recv()
        except (OSError, EOFError) as error:
            code = self.process.poll() if self.process is not None else None
            self.close()
            log.error("the reader process died", extra={"exit_code": code})
            raise ReaderStopped(
                "The program reading the file stopped unexpectedly (it may have run out of memory). "
                "It will be tried again later."
            ) from error
        if status == "ok":
            return value
        if details and isinstance(value, BaseException) and not isinstance(value, ExtractionError):
            value.add_note(f"In the reader process:\n{details}")
        raise value

    def close(self) -> None:
        """Kill the child (it may be deep inside a C library, where nothing else reaches it) and forget it."""
        process, connection = self.process, self.connection
        self.process = self.connection = None
        if connection is not None:
            connection.close()
        if process is not None:
            if process.poll() is None:
                process.kill()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.error("the reader process did not end after SIGKILL", extra={"pid": process.pid})


@atexit.register
def _stop_all() -> None:
    """At exit, stop every child this process started (one busy reading would otherwise finish its file first)."""
    for reader in list(_readers):
        if reader.owner == os.getpid():
            reader.close()


def _exit_when_orphaned(parent: int) -> None:
    """Stop at once when the parent is gone (killed mid-file): nobody is waiting for this file any more."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def serve(fd: int, parent: int) -> None:
    """The child's main loop on the socket `fd`: read requests until the parent goes away.

    Every answer is ("ok" | "error", value, details); details is the traceback of an unexpected error.
    """
    connection = Connection(fd)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="qm-orphan-watch", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides when we stop
    from . import extract, thumbnail  # the readers (and whatever they import) load in the child only
    from .detect import DetectedType
    from .ocr import configure_ocr

    while True:
        try:
            operation, args = connection.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe or died
        try:
            if operation == "extract":
                path, mime, kind, max_pages, max_pixels, ocr_threads = args
                configure_ocr(ocr_threads)
                value = extract(
                    Path(path), DetectedType(mime=mime, kind=kind), max_pages=max_pages, max_pixels=max_pixels
                )
            elif operation == "thumbnail":
                path, mime, kind, size, max_pixels = args
                value = thumbnail(Path(path), DetectedType(mime=mime, kind=kind), size, max_pixels=max_pixels)
            else:
                raise ValueError(f"unknown operation {operation!r}")
            answer: tuple[str, Any, str | None] = ("ok", value, None)
        except Exception as error:
            details = None if isinstance(error, ExtractionError) else traceback.format_exc()
            answer = ("error", error, details)
        try:
            connection.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError):
            kind, text = type(answer[1]).__name__, str(answer[1])
            connection.send(("error", ChildError(kind, text), answer[2]))
        except (EOFError, OSError):
            return
