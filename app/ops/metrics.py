"""Prometheus metrics: what web and worker processes count, what the database says at scrape time, who may read it.

Two kinds of figures end up in one `/metrics` answer:

- counters and histograms the processes record as things happen (requests by endpoint and
  status, sign-in failures, the time and errors of each pipeline step). Under gunicorn every
  worker process has its own memory, so prometheus-client's multiprocess mode is used when
  PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py sets it): each process writes its values to
  files in that folder and a scrape adds them up. A Huey consumer started with the same
  variable on the same machine writes its pipeline figures into the same folder.
- gauges worked out when Prometheus asks (`app.ops.gauges`): documents by state, queue depth
  and oldest task age, the search outbox backlog, open low-stock alerts, worker heartbeats.
  They come from the database and the queue, so every web process answers the same, and
  nothing has to be kept up to date between scrapes. They live in a module of their own
  because they read every domain, while the domains import this one to count.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from typing import Any

from flask import Flask, Request, current_app, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "quartermaster"

if os.environ.get(MULTIPROC_ENV):
    # Each process opens its files there as it creates its first metric (below, at import): the folder must exist.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

# The metrics this code records. They live in a registry of our own (not prometheus-client's
# global one), so a scrape shows exactly these plus the database gauges.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STEP_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status code.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from the start of a request to its response, by Flask endpoint.",
    ["endpoint"],
    buckets=REQUEST_BUCKETS,
    registry=REGISTRY,
)
LOGIN_FAILURES = Counter(
    f"{PREFIX}_login_failures",
    "Sign-ins refused: unknown email, wrong password or deactivated account.",
    registry=REGISTRY,
)
PIPELINE_STEP_DURATION = Histogram(
    f"{PREFIX}_pipeline_step_duration_seconds",
    "Time a worker spent on one pipeline step of one document (extract = text layer/OCR, classify = the model).",
    ["step"],
    buckets=STEP_BUCKETS,
    registry=REGISTRY,
)
PIPELINE_STEP_ERRORS = Counter(
    f"{PREFIX}_pipeline_step_errors",
    "Pipeline steps that raised, by step and error type.",
    ["step", "error"],
    registry=REGISTRY,
)
DOCUMENTS_PROCESSED = Counter(
    f"{PREFIX}_documents_processed",
    "Documents a worker finished a run on, by outcome (processed, failed, retry).",
    ["outcome"],
    registry=REGISTRY,
)
SEARCH_DRIFT_FOUND = Counter(
    f"{PREFIX}_search_drift_found",
    "Search index entries a check found drifted from the database, by kind (missing, extra, stale).",
    ["kind"],
    registry=REGISTRY,
)
SEARCH_DRIFT_REPAIRED = Counter(
    f"{PREFIX}_search_drift_repaired",
    "Drifted search index entries a check put right (through the outbox).",
    registry=REGISTRY,
)

# Error type names are a bounded label only if we bound them.
_KNOWN_ERRORS = 40
_seen_errors: set[str] = set()


def multiprocess_dir() -> str | None:
    """The folder processes share their figures through, or None in a single process (tests, flask run)."""
    return os.environ.get(MULTIPROC_ENV) or None


# ---------------------------------------------------------------- recording


def endpoint_label() -> str:
    """The request's Flask endpoint (a bounded set), never the raw path; 'unmatched' when no route matched."""
    return request.endpoint or "unmatched"


def observe_step(step: str, seconds: float) -> None:
    PIPELINE_STEP_DURATION.labels(step=step).observe(seconds)


def count_step_error(step: str, error: BaseException) -> None:
    name = type(error).__name__
    if name not in _seen_errors:
        if len(_seen_errors) >= _KNOWN_ERRORS:
            name = "other"
        else:
            _seen_errors.add(name)
    PIPELINE_STEP_ERRORS.labels(step=step, error=name).inc()


def count_document(outcome: str) -> None:
    DOCUMENTS_PROCESSED.labels(outcome=outcome).inc()


def count_search_drift(found: dict[str, int], *, repaired: int) -> None:
    """One check of the search index: how many entries of each kind drifted, and how many were put right."""
    for kind, count in found.items():
        SEARCH_DRIFT_FOUND.labels(kind=kind).inc(count)
    SEARCH_DRIFT_REPAIRED.inc(repaired)


def count_login_failure() -> None:
    LOGIN_FAILURES.inc()


def init_app(app: Flask) -> None:
    """Time and count every request by endpoint and status."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Any) -> Any:
        started = g.pop("metrics_started", None)
        if started is not None:
            endpoint = endpoint_label()
            HTTP_REQUESTS.labels(endpoint=endpoint, method=request.method, status=str(response.status_code)).inc()
            HTTP_DURATION.labels(endpoint=endpoint).observe(time.perf_counter() - started)
        return response


def recorded() -> CollectorRegistry:
    """What this machine's processes recorded: summed over the multiprocess folder, else this process's own."""
    path = multiprocess_dir()
    if not path:
        return REGISTRY
    recorded = CollectorRegistry()
    MultiProcessCollector(recorded, path=path)
    return recorded


def serve_worker_metrics(port: int, address: str = "0.0.0.0") -> None:  # noqa: S104 -- a container's internal network
    """A consumer's own scrape target: its pipeline figures over plain HTTP on `port`, from a daemon thread.

    For consumers that cannot share gunicorn's metrics folder (another container or machine):
    Prometheus scrapes each of them beside the web. Only the recorded figures: the database
    gauges come from the web's /metrics. Call it in the consumer's main process, before its
    workers start; with `--worker-type process` they must share PROMETHEUS_MULTIPROC_DIR with it.
    """
    start_http_server(port, addr=address, registry=recorded())
    log.info("worker metrics served", extra={"port": port})


# ---------------------------------------------------------------- who may read it

_FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


# Loopback and the private ranges a deployment's internal network uses (RFC 1918, IPv6 unique local).
# Not ipaddress's `is_private`: that also counts documentation and other reserved ranges.
INSIDE_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def _inside_address(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in INSIDE_NETWORKS)


def may_read(req: Request, token: str | None = None) -> bool:
    """A bearer token when one is set, or a direct request (no proxy headers) from inside the deployment."""
    token = current_app.config.get("METRICS_TOKEN") if token is None else token
    if token:
        scheme, _, given = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if any(header in req.headers for header in _FORWARDING_HEADERS):
        return False  # came through a proxy: from outside, whatever address the proxy connected from
    return _inside_address(req.remote_addr)
