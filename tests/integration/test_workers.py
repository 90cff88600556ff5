"""Workers you can see: each consumer's heartbeat, periodic runs, task failures and the queue, on the System page.

The claims about consumers use real huey_consumer processes on Redis and on the SQLite queue (one
test per queue, two consumers each); everything else runs on the `app` fixture or in-process.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from huey import crontab
from sqlalchemy import func, select

from app import create_app
from app.auth import service as users
from app.auth.models import Role
from app.config import config_for_tests
from app.db_types import utcnow
from app.extensions import db
from app.ops import consumer, workers
from app.ops.models import PeriodicRun, TaskFailure, WorkerHeartbeat
from app.ops.service import worker_status
from app.ops.tasks import record_heartbeat
from app.queue import PeriodicRunEvent, describe_schedule, enqueued_at, huey, next_run
from app.queue_state import queue_stats
from tests.conftest import PASSWORD, Client
from tests.support import services
from tests.support.consumer import shared_setup

_WORKER_ROW = re.compile(r'<tr data-worker="([^"]+)" data-state="(\w+)" data-periodic="(\w+)">')


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll `check` every 0.1 s until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"waited {timeout} s for {what}")


def _sign_in_admin(app: Flask) -> Client:
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    with app.app_context():
        users.create_user(email, Role.ADMIN, PASSWORD, actor_id=None)
    app.test_client_class = Client
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


def _system(client: Client) -> str:
    response = client.get("/admin/system", htmx=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _workers_on_page(html: str) -> dict[int, tuple[str, str]]:
    """pid -> (running|stale, schedules periodic tasks yes|no), as the System page lists them."""
    return {int(name.rsplit(":", 2)[1]): (state, periodic) for name, state, periodic in _WORKER_ROW.findall(html)}


def _periodic_row(html: str, name: str) -> str:
    match = re.search(rf'<tr data-task="{re.escape(name)}" data-outcome="(\w+)">(.*?)</tr>', html, re.S)
    assert match, f"{name} is not on the page"
    return f"{match.group(1)} {match.group(2)}"


# ---------------------------------------------------------------- real consumers


@pytest.mark.parametrize("queue_kind", ["redis", "sqlite"])
def test_consumers_beat_schedule_fail_and_go_stale_on_the_system_page(tmp_path, postgres_url, queue_kind):
    """One scheduling consumer and one started with -n, then the -n one killed, then the other stopped."""
    env = {"QM_HEARTBEAT_SECONDS": "1"}
    if queue_kind == "sqlite":
        env["REDIS_URL"] = ""  # the consumers use the SQLite queue under the shared DATA_DIR
    with shared_setup(tmp_path, postgres_url, name=f"workers-{queue_kind}", env=env, HEARTBEAT_SECONDS=1) as pair:
        app_with, start_consumer = pair
        app = app_with(services.TEST_REDIS_URL if queue_kind == "redis" else None)
        client = _sign_in_admin(app)
        # On SQLite the scheduler uses process workers: still one row, under the pid an operator would signal.
        scheduler = start_consumer(
            workers=2, periodic=True, worker_type="process" if queue_kind == "sqlite" else "thread"
        )
        extra = start_consumer()

        expected = {scheduler.pid: ("running", "yes"), extra.pid: ("running", "no")}
        _wait_for(lambda: _workers_on_page(_system(client)) == expected, "both consumers to beat")
        assert 'data-testid="system-warning"' not in _system(client)  # exactly one schedules periodic tasks

        # Every-minute periodic tasks fire as the scheduling consumer starts: the run is recorded, the next is due.
        sweep = "app.documents.tasks.sweep_stuck_documents"
        row = _wait_for(
            lambda: (r := _periodic_row(_system(client), sweep)).startswith("ok ") and r, "a recorded periodic run"
        )
        assert "every minute" in row
        assert re.search(r"<time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d</time> <small>\(in \d+ s\)</small>", row)
        with app.app_context():
            run = db.session.get(PeriodicRun, sweep)
            assert run.runs >= 1
            assert run.last_outcome == "ok"
            assert run.duration_ms is not None

        # A task that raises shows under recent failures, with where it ran.
        with app.app_context():
            record_heartbeat("an argument it does not take")
        failures = _wait_for(
            lambda: 'data-task="app.ops.tasks.record_heartbeat"' in (html := _system(client)) and html,
            "the failure on the page",
        )
        assert "TypeError: record_heartbeat() takes 0 positional arguments but 1 was given" in failures

        # SIGKILL: no goodbye, so the row stays and goes stale after three missed beats.
        extra.kill()
        expected[extra.pid] = ("stale", "no")
        _wait_for(lambda: _workers_on_page(_system(client)) == expected, "the killed consumer to go stale", 15)
        readyz = client.get("/readyz")
        assert readyz.status_code == 200
        assert readyz.json["workers"] == {"running": 1, "stale": 1, "schedulers": 1}

        # SIGINT: a clean stop removes the consumer's row; with nobody left the page says so.
        scheduler.stop()
        assert scheduler.process.returncode == 0
        html = _system(client)
        assert _workers_on_page(html) == {extra.pid: ("stale", "no")}
        assert "No consumer is running" in html


def test_a_heartbeat_that_cannot_reach_the_database_is_retried_not_fatal(tmp_path, caplog):
    """The beat loop logs a failed write and tries again next interval; it never ends by itself."""
    app = create_app(
        config_for_tests(
            tmp_path,
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
            SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
        )
    )
    identity = workers.WorkerIdentity("host", 1, "q", True, 1, "thread", utcnow())
    stop = threading.Event()
    caplog.set_level(logging.WARNING, logger="app.ops.consumer")
    with app.app_context():  # the thread finds the app the way a consumer's does
        beating = threading.Thread(target=consumer.beat_forever, args=(identity, stop, 0.05), daemon=True)
        beating.start()
        _wait_for(lambda: sum("heartbeat not recorded" in r.message for r in caplog.records) >= 3, "three failures", 10)
        assert beating.is_alive()
        stop.set()
        beating.join(timeout=5)
    assert not beating.is_alive()
    with app.app_context():
        db.engine.dispose()


# ---------------------------------------------------------------- the queue without a consumer


@pytest.mark.parametrize("queue_kind", ["redis", "sqlite"])
def test_queue_depth_and_the_oldest_tasks_age_without_a_consumer(tmp_path, queue_kind):
    redis_url = services.TEST_REDIS_URL if queue_kind == "redis" else None
    app = create_app(
        config_for_tests(
            tmp_path / "data",
            f"sqlite:///{tmp_path / 'qm.db'}",
            REDIS_URL=redis_url,
            QUEUE_NAME=f"qm-depth-{uuid.uuid4().hex[:8]}",
        )
    )
    with app.app_context():
        db.create_all()
    client = _sign_in_admin(app)
    try:
        with app.app_context():
            assert queue_stats().depth == 0
            before = datetime.now(UTC)
            results = []
            for _ in range(3):
                results.append(record_heartbeat())
                time.sleep(0.01)
            stamps = [enqueued_at(result.id) for result in results]
            assert all(stamp is not None for stamp in stamps)
            assert stamps == sorted(stamps)
            assert len(set(stamps)) == 3
            stats = queue_stats()
            assert stats.depth == 3
            assert stats.oldest_since == stamps[0]  # the first enqueued, not the next or the newest
            assert before - timedelta(milliseconds=1) <= stats.oldest_since <= datetime.now(UTC)

        html = _system(client)
        assert re.search(r'data-testid="queue-depth">3<', html)
        assert re.search(r'data-testid="queue-oldest">\d+ s<', html)

        with app.app_context():
            # The stamped ids still work as Huey's ids: revoke one by id, run the queue by hand.
            huey.revoke_by_id(results[1].id)
            ran = [huey.execute(huey.dequeue()) for _ in range(3)]
            assert ran[1] is None  # revoked: not run
            assert results[0].get()["pid"] == results[2].get()["pid"]  # results found under the stamped ids
            assert results[1].get() is None
            assert queue_stats().depth == 0
            # Enqueued again (as a retry or a task coming due is), a task keeps its id and so its Result.
            again = huey.enqueue(results[0].task)
            assert again.id == results[0].id
    finally:
        with app.app_context():
            huey.flush()
            db.engine.dispose()


# ---------------------------------------------------------------- the page, /readyz and the status card


def _identity(pid: int, periodic: bool, queue: str | None = None) -> workers.WorkerIdentity:
    return workers.WorkerIdentity("box", pid, queue or huey.name, periodic, 2, "thread", utcnow())


def test_the_system_page_is_for_admins_and_refreshes_as_a_fragment(app, client, auth):
    auth.login_as("staff")
    assert client.get("/admin/system").status_code == 403
    assert client.get("/admin/system", htmx=True).status_code == 403
    auth.logout()
    auth.login_as("admin")
    page = client.get("/admin/system").get_data(as_text=True)
    assert "<h1>System</h1>" in page
    assert 'hx-trigger="every 10s"' in page
    fragment = client.get("/admin/system", htmx=True).get_data(as_text=True)
    assert "<html" not in fragment
    assert fragment.lstrip().startswith('<section id="system-status" hx-get="/admin/system"')
    assert "No consumer is running" in fragment
    assert 'href="/admin/system"' in client.get("/admin").get_data(as_text=True)


def test_who_schedules_periodic_tasks_is_checked(app, client, auth):
    auth.login_as("admin")
    with app.app_context():
        workers.write_heartbeat(_identity(101, periodic=False))
        workers.write_heartbeat(_identity(102, periodic=False))
    html = _system(client)
    assert "No running consumer schedules periodic tasks" in html
    assert "not scheduled: no consumer schedules periodic tasks" in html
    with app.app_context():
        workers.write_heartbeat(_identity(103, periodic=True))
        workers.write_heartbeat(_identity(104, periodic=True))
        workers.write_heartbeat(_identity(105, periodic=True, queue="another-app"))  # listed, not counted
    html = _system(client)
    assert "2 running consumers schedule periodic tasks: periodic tasks would run twice" in html
    assert "another-app <small>(not this app's queue" in html
    assert client.get("/readyz").json["workers"] == {"running": 4, "stale": 0, "schedulers": 2}
    card = client.get("/status", htmx=True).get_data(as_text=True)
    assert re.search(r"4 running, last seen \d+ s ago; 2 schedule periodic tasks, which would run twice", card)


def test_stale_workers_and_pruning(app, client, auth):
    auth.login_as("admin")
    now = utcnow()
    interval = app.config["HEARTBEAT_SECONDS"]
    with app.app_context():
        workers.write_heartbeat(_identity(201, periodic=True), now=now - timedelta(seconds=3 * interval + 1))
        workers.write_heartbeat(_identity(202, periodic=False), now=now - timedelta(days=1, minutes=1))
        workers.write_heartbeat(_identity(203, periodic=False), now=now - timedelta(seconds=interval))
        # The last write pruned the row a day old: nobody will look for that consumer again.
        assert db.session.scalar(select(func.count(WorkerHeartbeat.id))) == 2
    assert _workers_on_page(_system(client)) == {201: ("stale", "yes"), 203: ("running", "no")}
    response = client.get("/readyz")
    assert response.status_code == 200  # workers are reported, never a reason to be unready
    assert response.json["workers"] == {"running": 1, "stale": 1, "schedulers": 0}
    with app.app_context():
        status = worker_status()
    assert not status.ok
    assert re.fullmatch(r"1 running, last seen \d+ s ago, 1 stale; none schedules periodic tasks", status.text)


def test_periodic_runs_and_failures_are_recorded_and_listed(app, client, auth, monkeypatch):
    auth.login_as("admin")
    name = "app.documents.tasks.sweep_stuck_documents"
    started = utcnow() - timedelta(seconds=5)
    with app.app_context():
        workers.record_periodic_run(PeriodicRunEvent(name, started))
    assert "running (or stopped before it finished)" in _periodic_row(_system(client), name)
    with app.app_context():
        workers.record_periodic_run(PeriodicRunEvent(name, started, started + timedelta(seconds=2), None, 2000))
        workers.record_periodic_run(PeriodicRunEvent(name, started, utcnow(), "OperationalError: gone", 40))
        run = db.session.get(PeriodicRun, name)
        assert (run.runs, run.last_outcome, run.last_error, run.duration_ms) == (
            2,
            "error",
            "OperationalError: gone",
            40,
        )
    row = _periodic_row(_system(client), name)
    assert row.startswith("error ")
    assert "failed: OperationalError: gone" in row

    monkeypatch.setattr(workers, "KEEP_FAILURES", 25)  # 200 in production; fewer writes here
    with app.app_context():
        for number in range(30):
            workers.record_failure("app.x.tasks.flaky", f"id-{number}", "box", 7, f"ValueError: number {number}")
        kept = db.session.scalars(select(TaskFailure.task_id).order_by(TaskFailure.id)).all()
    assert len(kept) == 25
    assert kept[0] == "id-5"  # the oldest five made room
    html = _system(client)
    assert "Showing the newest 20 of 25 recorded failures" in html
    assert "ValueError: number 29</td>" in html
    assert "ValueError: number 9</td>" not in html


def test_every_periodic_task_is_listed_with_its_schedule_in_words(app, client, auth):
    auth.login_as("admin")
    html = _system(client)
    for name, words in [
        ("app.documents.tasks.sweep_stuck_documents", "every minute"),
        ("app.classify.tasks.scheduled_retrain", "every 10 minutes"),
        ("app.search.indexer.periodic_drain", "every minute"),
        ("app.search.merging.nightly_optimize", "daily at 03:10 UTC"),
    ]:
        row = _periodic_row(html, name)
        assert row.startswith("never ")
        assert words in row


# ---------------------------------------------------------------- schedules


def test_next_run_and_schedule_words_come_from_the_schedule_itself():
    at = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)
    assert next_run(crontab(minute="*/15"), at) == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert next_run(crontab(minute="0", hour="3"), at) == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
    assert next_run(crontab(month="2", day="30"), at) is None  # never: the search stops after eight days
    assert describe_schedule(crontab(minute="*/15"), at) == "every 15 minutes"
    assert describe_schedule(crontab(minute="5"), at) == "hourly at :05"
    assert describe_schedule(crontab(minute="30", hour="*/6"), at) == "every 6 hours at :30"
    assert describe_schedule(crontab(minute="0", hour="3"), at) == "daily at 03:00 UTC"
    assert describe_schedule(crontab(minute="0", hour="3,15,16"), at) == "3 times a day"
    assert describe_schedule(crontab(day_of_week="1", minute="0", hour="0"), at) == "less often than daily"


def test_a_schedule_that_reads_the_config_is_asked_inside_the_app(tmp_path: Path):
    """The alert check's schedule follows QM_ALERT_CHECK_MINUTES, read each time it is asked."""
    app = Flask(__name__)
    app.config["ALERT_CHECK_MINUTES"] = 15

    def every_configured_minutes(moment: datetime) -> bool:
        return moment.minute % current_app.config["ALERT_CHECK_MINUTES"] == 0

    at = datetime(2026, 3, 2, 10, 7, tzinfo=UTC)
    with app.app_context():
        assert next_run(every_configured_minutes, at) == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
        app.config["ALERT_CHECK_MINUTES"] = 10
        assert next_run(every_configured_minutes, at) == datetime(2026, 3, 2, 10, 10, tzinfo=UTC)
        assert describe_schedule(every_configured_minutes, at) == "every 10 minutes"
