"""The gauges of /metrics, worked out when Prometheus asks: documents by state, open low-stock alerts,
workers, the queue, the search outbox and the search index's last checks, read from the database and the queue.

They read every domain, so they live apart from `app.ops.metrics`, which the domains import to
count things; only the /metrics view imports this module.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.db_types import utcnow
from app.documents.models import Document, DocumentState
from app.extensions import db
from app.ops import workers
from app.ops.metrics import PREFIX, recorded
from app.queue_state import queue_stats
from app.search import checks
from app.search.indexer import outbox_backlog
from app.stock.alerts import open_alert_count

log = logging.getLogger(__name__)


def _age_seconds(since: Any, now: Any) -> float | None:
    if since is None:
        return None
    return max(0.0, (now - since).total_seconds())


class StateCollector(Collector):
    """Gauges read from the database and the queue when Prometheus scrapes (needs an app context)."""

    def describe(self) -> list[Metric]:
        return []  # worked out at scrape time; nothing to check for duplicates up front

    def collect(self) -> Iterator[Metric]:
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
            ("search_checks", self._search_checks),
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
        with contextlib.suppress(Exception):  # the connection is gone; the next request gets a fresh one
            db.session.rollback()

    @staticmethod
    def _database(now: Any) -> Iterator[Metric]:
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
        count, oldest = outbox_backlog()
        yield GaugeMetricFamily(
            f"{PREFIX}_search_outbox_backlog", "Changes waiting to reach the search index.", value=count
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_search_outbox_oldest_age_seconds",
            "How long the oldest change has waited for the search index (0 when none waits).",
            value=_age_seconds(oldest, now) or 0.0,
        )

    @staticmethod
    def _search_checks(now: Any) -> Iterator[Metric]:
        """The last check of each scope, and what the newest one found and left (counts of all checks: metrics.py)."""
        last_at = GaugeMetricFamily(
            f"{PREFIX}_search_drift_last_check_timestamp_seconds",
            "When the search index was last checked against the database (Unix time), by scope (sample, full).",
            labels=["scope"],
        )
        for scope in ("sample", "full"):
            check = checks.latest_check(scope)
            if check is not None:
                last_at.add_metric([scope], check.started_at.timestamp())
        yield last_at
        last = checks.latest_check()
        found = GaugeMetricFamily(
            f"{PREFIX}_search_drift_last_check_found",
            "Drifted search index entries the newest check found, by kind (missing, extra, stale).",
            labels=["kind"],
        )
        for kind in ("missing", "extra", "stale"):
            found.add_metric([kind], getattr(last, kind) if last is not None else 0)
        yield found
        yield GaugeMetricFamily(
            f"{PREFIX}_search_drift_unrepaired",
            "Drifted entries the newest check could not repair (0 when none, or when no check has run).",
            value=(last.unrepaired if last is not None else 0),
        )


def render() -> tuple[bytes, str]:
    """The scrape: recorded figures (summed over processes when multiprocess) and the database gauges."""
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return generate_latest(recorded()) + generate_latest(state), CONTENT_TYPE_LATEST
