"""gunicorn settings: bind address from PORT, JSON logs like the app's own, one metrics folder for all workers."""

import glob
import os
import re
from pathlib import Path

# prometheus-client's multiprocess mode: every worker writes its counters to files in this folder and
# /metrics adds them up. It must be set before any worker imports the app (this file is read first).
# A Huey consumer on the same machine may share the folder (same variable in its environment).
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(os.environ.get("DATA_DIR") or "var").resolve() / "prometheus"),
)
_METRICS_FILE = re.compile(r"_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server):
    """Start the metrics afresh: remove what earlier processes left, except files of processes still running."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for name in glob.glob(str(folder / "*.db")):
        match = _METRICS_FILE.search(name)
        # A consumer already running on this machine keeps its files (they are open and mapped).
        if match is None or not _alive(int(match.group(1))):
            Path(name).unlink(missing_ok=True)


def child_exit(server, worker):
    """A worker exited: drop its live gauges (its counters stay in the sum, as Prometheus expects)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads: a sync worker cannot report to the master while it streams a long
# CSV export or receives a large upload, and would be killed after `timeout`.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 20
# The control socket defaults to one path per user: two instances on one machine would fight over it.
control_socket_disable = True
# The app writes one JSON access line per request itself (with the request id).
accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    # The app attaches its own JSON handler (with request ids) to the root logger.
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}
