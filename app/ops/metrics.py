"""Prometheus metrics: what web and worker processes count, what the database says at scrape time, who may read it.

Two kinds of figures end up in one `/metrics` answer:

- counters and histograms the processes record as things happen (requests by endpoint and
  status, sign-in failures, the time and errors of each pipeline step). Under gunicorn every
  worker process has its own memory, so prometheus-client's multiprocess mode is used when
  PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py sets it): each process writes its values to
  files in that folder and a scrape adds them up. A Huey consumer started with the same
  variable on the same machine writes its pipeline figures into the same folder.
- gauges worked out when Prometheus asks (`StateCollector`): documents by state, queue depth
  and oldest task age, the search outbox backlog, open low-stock alerts, worker heartbeats.
  They come from the database and the queue, so every web process answers the same, and
  nothing has to be kept up to date between scrapes.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

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


# ---------------------------------------------------------------- figures read at scrape time


def _age_seconds(since: Any, now: Any) -> float | None:
    if since is None:
        return None
    return max(0.0, (now - since).total_seconds())


class StateCollector(Collector):
    """Gauges read from the database and the queue when Prometheus scrapes (needs an app context)."""

    def describe(self) -> list[Metric]:
        return []  # worked out at scrape time; nothing to check for duplicates up front

    def collect(self) -> Iterator[Metric]:
        from app.db_types import utcnow

        now = utcnow()
        up = GaugeMetricFamily(
            f"{PREFIX}_metrics_source_up",
            "1 when this scrape could read the source (database, queue, search outbox), 0 when it failed.",
            labels=["source"],
        )
        for source, reader in (
            ("database", self._database),
            ("queue", self._queue),
            ("search_outbox", self._outbox),
        ):
            try:
                families = list(reader(now))
            except Exception as error:  # one source down must not blank the whole scrape
                log.warning("metrics source unavailable", extra={"source": source, "error": type(error).__name__})
                self._rollback()
                up.add_metric([source], 0)
            else:
                up.add_metric([source], 1)
                yield from families
        yield up

    @staticmethod
    def _rollback() -> None:
        from app.extensions import db

        with contextlib.suppress(Exception):  # the connection is gone; the next request gets a fresh one
            db.session.rollback()

    @staticmethod
    def _database(now: Any) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from app.documents.models import Document, DocumentState
        from app.extensions import db
        from app.ops import workers
        from app.stock.alerts import open_alert_count

        counts = {state.value: 0 for state in DocumentState}
        rows = db.session.execute(
            select(Document.state, func.count(Document.id))
            .where(Document.deleted_at.is_(None))
            .group_by(Document.state)
        )
        for state, count in rows:
            counts[state] = int(count)
        documents = GaugeMetricFamily(
            f"{PREFIX}_documents", "Documents not in the trash, by processing state.", labels=["state"]
        )
        for state, count in sorted(counts.items()):
            documents.add_metric([state], count)
        yield documents

        yield GaugeMetricFamily(
            f"{PREFIX}_stock_alerts_open",
            "Low-stock alerts open now (products at or below their threshold).",
            value=open_alert_count(),
        )

        summary = workers.worker_summary(now)
        consumers = GaugeMetricFamily(
            f"{PREFIX}_workers",
            "This queue's consumers by heartbeat: running (beat within three intervals) or stale.",
            labels=["state"],
        )
        consumers.add_metric(["running"], summary.running)
        consumers.add_metric(["stale"], summary.stale)
        yield consumers
        if summary.last_seen_seconds is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_worker_heartbeat_age_seconds",
                "Seconds since the most recent heartbeat of any consumer of this queue (absent when none beat today).",
                value=summary.last_seen_seconds,
            )

    @staticmethod
    def _queue(now: Any) -> Iterator[Metric]:
        from app.queue import queue_stats

        stats = queue_stats()
        yield GaugeMetricFamily(f"{PREFIX}_queue_depth", "Tasks waiting in the queue now.", value=stats.depth)
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_scheduled", "Tasks scheduled for later (retries, delays).", value=stats.scheduled
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_oldest_task_age_seconds",
            "How long the oldest waiting task has waited (0 when the queue is empty).",
            value=_age_seconds(stats.oldest_since, now) or 0.0,
        )

    @staticmethod
    def _outbox(now: Any) -> Iterator[Metric]:
        from app.search.indexer import outbox_backlog

        count, oldest = outbox_backlog()
        yield GaugeMetricFamily(
            f"{PREFIX}_search_outbox_backlog", "Changes waiting to reach the search index.", value=count
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_search_outbox_oldest_age_seconds",
            "How long the oldest change has waited for the search index (0 when none waits).",
            value=_age_seconds(oldest, now) or 0.0,
        )


def _recorded() -> CollectorRegistry:
    """What this machine's processes recorded: summed over the multiprocess folder, else this process's own."""
    path = multiprocess_dir()
    if not path:
        return REGISTRY
    recorded = CollectorRegistry()
    MultiProcessCollector(recorded, path=path)
    return recorded


def render() -> tuple[bytes, str]:
    """The scrape: recorded figures (summed over processes when multiprocess) and the database gauges."""
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return generate_latest(_recorded()) + generate_latest(state), CONTENT_TYPE_LATEST


def serve_worker_metrics(port: int, address: str = "0.0.0.0") -> None:  # noqa: S104 -- a container's internal network
    """A consumer's own scrape target: its pipeline figures over plain HTTP on `port`, from a daemon thread.

    For consumers that cannot share gunicorn's metrics folder (another container or machine):
    Prometheus scrapes each of them beside the web. Only the recorded figures: the database
    gauges come from the web's /metrics. Call it in the consumer's main process, before its
    workers start; with `--worker-type process` they must share PROMETHEUS_MULTIPROC_DIR with it.
    """
    start_http_server(port, addr=address, registry=_recorded())
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
