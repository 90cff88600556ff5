"""The lock every writer of the search index takes first, so that Whoosh's one-writer rule holds across machines.

It is Huey's lock "search-writer" (in Redis or the SQLite queue), whose value says when its
holder last showed signs of life (after each drain batch, every 30 s of a rebuild). A holder
silent for LOCK_STALE_AFTER (killed with SIGKILL, say) loses it, so a crash cannot stop
indexing for good.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from app.queue import huey

log = logging.getLogger(__name__)

LOCK_NAME = "search-writer"
LOCK_STALE_AFTER = 10 * 60  # seconds without a sign of life from the holder (it refreshes every batch)


class WriterLock:
    """Huey's "search-writer" lock, with a heartbeat so a dead holder's lock can be taken over.

    Same key as `huey.lock_task("search-writer")` (so `huey_consumer --flush-locks` clears it);
    the stored value is {"owner", "at"} instead of "1".
    """

    def __init__(self) -> None:
        huey.lock_task(LOCK_NAME)  # registers the key with Huey
        self.key = f"{huey.name}.lock.{LOCK_NAME}"
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False

    def _value(self) -> dict[str, object]:
        return {"owner": self.owner, "at": time.time()}

    def acquire(self, wait: float = 0.0) -> bool:
        """Take the lock, waiting up to `wait` seconds; False when someone else keeps it."""
        deadline = time.monotonic() + wait
        while True:
            if huey.put_if_empty(self.key, self._value()):
                self.held = True
                return True
            holder = huey.get(self.key, peek=True)
            if isinstance(holder, dict) and time.time() - float(holder.get("at", 0)) > LOCK_STALE_AFTER:
                log.warning("taking over the search writer lock from a silent holder", extra={"holder": holder})
                huey.delete(self.key)
                continue
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.25)

    def refresh(self) -> None:
        """Show the lock's holder is alive (call at least every few minutes while holding it)."""
        holder = huey.get(self.key, peek=True)
        if isinstance(holder, dict) and holder.get("owner") == self.owner:
            huey.put(self.key, self._value())
        else:
            log.warning("the search writer lock was taken over while held", extra={"holder": holder})

    @contextmanager
    def kept_alive(self, every: float = 30.0) -> Iterator[None]:
        """Refresh the lock from a background thread during a long step (a rebuild's final commit can take minutes)."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                self.refresh()

        thread = threading.Thread(target=beat, name="search-writer-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        holder = huey.get(self.key, peek=True)
        if isinstance(holder, dict) and holder.get("owner") == self.owner:
            huey.delete(self.key)
