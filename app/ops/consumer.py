"""The consumer side of "workers you can see": heartbeats, failed tasks and periodic runs.

Importing this module (app.ops.tasks does, so every consumer does) hooks into
the one Huey instance:

- on consumer start-up each process starts one daemon thread that writes its
  consumer's heartbeat row every HEARTBEAT_SECONDS. Huey calls start-up hooks
  once per worker (thread or process), so a per-process count makes sure a
  process has exactly one such thread. A `-k process` consumer's children beat
  for their parent (one row per consumer, with the pid an operator would
  signal); the parent itself runs no hooks. A failed beat (database down) is
  logged and retried at the next interval; it never stops the consumer.
- a clean stop (SIGINT) deletes the row; a killed consumer's row goes stale.
- every task error or timeout is recorded (SIGNAL_ERROR, SIGNAL_TIMEOUT).
- every periodic run's start and end are recorded (app.queue.on_periodic_run).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from dataclasses import dataclass, field

from huey.signals import SIGNAL_ERROR, SIGNAL_TIMEOUT

from app.db_types import utcnow
from app.extensions import db
from app.ops import workers
from app.queue import app_context, huey, on_periodic_run, one_line
from app.queue_state import consumer_settings

log = logging.getLogger(__name__)
HOOK_NAME = "quartermaster-heartbeat"


@dataclass
class _ProcessState:
    """This process's heartbeat: how many workers in it are running, and the one thread that beats."""

    pid: int = 0
    active: int = 0
    identity: workers.WorkerIdentity | None = None
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)


_lock = threading.Lock()
_state = _ProcessState()


def current_identity() -> workers.WorkerIdentity | None:
    """The consumer this process belongs to, once it has started (None in web processes)."""
    return _state.identity if _state.pid == os.getpid() else None


def _identity() -> workers.WorkerIdentity:
    settings = consumer_settings()
    # A process worker is a child of the consumer: the consumer's pid is the one to show and to signal.
    pid = os.getppid() if settings.worker_type == "process" else os.getpid()
    return workers.WorkerIdentity(
        host=socket.gethostname(),
        pid=pid,
        queue=huey.name,
        periodic=settings.periodic,
        workers=settings.workers,
        worker_type=settings.worker_type,
        started_at=utcnow(),
    )


def beat_once(identity: workers.WorkerIdentity) -> None:
    """Write one heartbeat in a fresh app context (raises what the database raises)."""
    with app_context():
        workers.write_heartbeat(identity)


def beat_forever(identity: workers.WorkerIdentity, stop: threading.Event, interval: float) -> None:
    """Beat now and every `interval` seconds until `stop` is set; survive any failure to write."""
    failures = 0
    while True:
        if identity.worker_type == "process" and os.getppid() != identity.pid:
            # The consumer was killed and left this worker behind: let its row go stale, so someone looks.
            log.error(
                "the consumer process is gone; this worker stops its heartbeat", extra={"consumer": identity.name}
            )
            return
        try:
            beat_once(identity)
        except Exception as error:  # a heartbeat must never take the consumer down: log, retry next time
            failures += 1
            log.warning(
                "heartbeat not recorded; retrying in %s s",
                interval,
                extra={"consumer": identity.name, "error": one_line(error), "failures": failures},
            )
        else:
            if failures:
                log.info("heartbeat recorded again", extra={"consumer": identity.name, "after_failures": failures})
            failures = 0
        if stop.wait(interval):
            return


def _interval() -> float:
    with app_context() as context:
        return float(context.app.config["HEARTBEAT_SECONDS"])


@huey.on_startup(HOOK_NAME)
def worker_started() -> None:
    """A worker started: the first in this process starts the heartbeat thread."""
    global _state
    with _lock:
        if _state.pid != os.getpid():  # first worker of this process (or a fresh fork): start afresh
            forked = _state.pid != 0 or consumer_settings().worker_type == "process"
            _state = _ProcessState(pid=os.getpid())
            if forked:
                with app_context():
                    db.engine.dispose(close=False)  # never share the parent's pooled connections
        _state.active += 1
        if _state.thread is not None and _state.thread.is_alive():
            return
        _state.identity = _identity()
        _state.stop = threading.Event()
        _state.thread = threading.Thread(
            target=beat_forever,
            args=(_state.identity, _state.stop, _interval()),
            name="qm-heartbeat",
            daemon=True,
        )
        _state.thread.start()


@huey.on_shutdown(HOOK_NAME)
def worker_stopped() -> None:
    """A worker stopped: the last in this process stops the heartbeat and removes the row."""
    with _lock:
        if _state.pid != os.getpid() or _state.active == 0:
            return
        _state.active -= 1
        beating = None if _state.active else _detach()
    _finish(beating)


def _detach() -> tuple[threading.Thread, workers.WorkerIdentity | None] | None:
    """Tell this process's heartbeat thread to stop and forget it (call with the lock held)."""
    if _state.pid != os.getpid() or _state.thread is None:
        return None
    _state.stop.set()
    beating = (_state.thread, _state.identity)
    _state.thread = None
    _state.active = 0
    return beating


def _finish(beating: tuple[threading.Thread, workers.WorkerIdentity | None] | None) -> None:
    """Wait for a detached heartbeat thread, then remove its consumer's row (a clean stop)."""
    if beating is None:
        return
    thread, identity = beating
    thread.join(timeout=10)
    if identity is None:
        return
    try:
        with app_context():
            workers.remove_heartbeat(identity.name)
    except Exception as error:  # the row goes stale instead
        log.warning("could not remove the heartbeat", extra={"consumer": identity.name, "error": one_line(error)})


def _at_exit() -> None:
    with _lock:
        beating = _detach()
    _finish(beating)


# Worker threads are daemons: when the consumer is stopped hard (SIGTERM, or SIGINT followed by
# SIGTERM as honcho does on Ctrl-C) the process exits without Huey's shutdown hooks. Its exit
# still runs atexit, so the row goes then; only a killed process (SIGKILL, a crash) leaves it stale.
atexit.register(_at_exit)


@huey.signal(SIGNAL_ERROR, SIGNAL_TIMEOUT)
def task_failed(signal: str, task: object, error: BaseException | None = None) -> None:
    """Record a task that raised or timed out, for the System page."""
    if huey.immediate:
        # Tests run tasks inline, where the caller sees the error itself; writing here from a second
        # session could wait on the caller's own SQLite write lock.
        return
    name = f"{type(task).__module__}.{getattr(task, 'name', type(task).__name__)}"
    text = one_line(error) if error is not None else f"timed out after {getattr(task, 'timeout', '?')} s"
    retries = getattr(task, "retries", 0) or 0
    if retries:
        text = f"{text} (will retry; {retries} {'retry' if retries == 1 else 'retries'} left)"
    try:
        with app_context():
            workers.record_failure(name, getattr(task, "id", None), socket.gethostname(), os.getpid(), text)
    except Exception as failure:  # the task's own error is logged by Huey; this only loses the record
        log.warning("could not record a task failure", extra={"task": name, "error": one_line(failure)})


on_periodic_run(workers.record_periodic_run)
