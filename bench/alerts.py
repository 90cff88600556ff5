"""How long a low-stock crossing takes to reach people, by each path, measured with real parts.

    .venv/bin/python bench/alerts.py [--crossings 30] [--products 5000] [--quick]

Starts a fresh PostgreSQL database (BENCH_DATABASE_URL's server), a real SMTP server
(aiosmtpd) and a real huey_consumer on Redis, then measures:

- the event path: a `remove_stock` that crosses its threshold, from the call to its commit
  (what the person waits for), to the in-app notice existing, to the email arriving at the
  SMTP server (p50/p95/max over --crossings crossings);
- what the crossing costs the stock change itself: the same `remove_stock` without a crossing;
- the periodic path: products made low behind the service's back (plain SQL), found by
  `alerts.check()`, with the time of the check and of the email; the worst case adds the
  wait for the next check (QM_ALERT_CHECK_MINUTES);
- the check with nothing to do over --products products, against the same question asked
  with one raw SQL statement on the same connection pool (ratio).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import config_for_tests  # noqa: E402
from app.extensions import db  # noqa: E402
from app.notify.models import Notification  # noqa: E402
from app.stock import alerts, ledger, products  # noqa: E402
from bench.machine import library_versions, load_average  # noqa: E402

DEFAULT_SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class Inbox:
    """Records when each email arrived, by the alert SKUs in it."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this by name
        with self.lock:
            self.arrivals.append((time.perf_counter(), envelope.content.decode(errors="replace")))
        return "250 OK"

    def wait_for(self, needle: str, timeout: float = 30) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for at, content in self.arrivals:
                    if needle in content:
                        return at
            time.sleep(0.002)
        return None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median, top = statistics.median(ordered) * 1000, ordered[-1] * 1000
    return f"p50 {median:7.1f} ms  p95 {p95 * 1000:7.1f} ms  max {top:7.1f} ms"


def wait_for_notice(dedupe_key: str, timeout: float = 30) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        if db.session.scalar(select(func.count(Notification.id)).where(Notification.dedupe_key == dedupe_key)):
            return time.perf_counter()
        time.sleep(0.002)
    return None


def product(sku: str, *, on_hand: int, threshold: int) -> int:
    created = products.create_product(products.ProductData.clean(sku=sku, name=f"Bench {sku}"), user_id=None)
    ledger.add_stock(created.id, on_hand, user_id=None)
    data = products.ProductData.clean(sku=sku, name=f"Bench {sku}", low_stock_threshold=threshold)
    products.update_product(created.id, data, user_id=None)
    return created.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crossings", type=int, default=30)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="10 crossings, 1,000 products")
    args = parser.parse_args()
    if args.quick:
        args.crossings, args.products = 10, 1000

    name = f"bench_qm_alerts_{uuid.uuid4().hex[:6]}"
    database_url = fresh_database(DEFAULT_SERVER, name)
    data_dir = Path(tempfile.mkdtemp(prefix="qm-bench-alerts-"))
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    queue = f"qm-bench-alerts-{uuid.uuid4().hex[:6]}"
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port, "ALERT_RECIPIENTS": ["bench@example.com"]}
    app = create_app(config_for_tests(data_dir, database_url, REDIS_URL=REDIS_URL, QUEUE_NAME=queue, **mail))
    consumer = None
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(ROOT / "migrations"))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("QM_", "DATABASE_URL", "REDIS_URL", "MAIL_"))},
            "QM_ENV": "testing",
            "SECRET_KEY": "bench",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "QM_QUEUE_NAME": queue,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "ALERT_RECIPIENTS": "bench@example.com",
        }
        consumer = subprocess.Popen(
            [str(Path(sys.executable).parent / "huey_consumer"), "worker.huey", "-w", "2", "-k", "thread", "-n", "-q"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        with app.app_context():
            from app.auth import service as users

            users.create_user("staff@example.com", "staff", "bench-password-long", actor_id=None)  # gets the notices
            # Warm up: the consumer's imports, the pools, the first email.
            warm = product("WARM-0", on_hand=10, threshold=5)
            ledger.remove_stock(warm, 6, user_id=None)
            if inbox.wait_for("WARM-0", timeout=60) is None:
                raise SystemExit("the consumer did not send the warm-up email within 60 s")

            commits, notices, emails, plain = [], [], [], []
            for n in range(args.crossings):
                sku = f"CROSS-{n:04d}"
                product_id = product(sku, on_hand=20, threshold=5)
                started = time.perf_counter()
                ledger.remove_stock(product_id, 3, user_id=None)  # 20 -> 17: no crossing
                plain.append(time.perf_counter() - started)
                started = time.perf_counter()
                ledger.remove_stock(product_id, 13, user_id=None)  # 17 -> 4: crosses
                committed = time.perf_counter()
                alert_id = db.session.scalar(
                    select(alerts.StockAlert.id).where(alerts.StockAlert.product_id == product_id)
                )
                noticed = wait_for_notice(f"stock_alert:{alert_id}")
                arrived = inbox.wait_for(sku)
                if noticed is None or arrived is None:
                    raise SystemExit(f"{sku}: no notice or no email within 30 s")
                commits.append(committed - started)
                notices.append(noticed - started)
                emails.append(arrived - started)

            # The periodic path: 50 products low behind the service's back, one check finds them all.
            low_ids = [product(f"SQL-{n:03d}", on_hand=50, threshold=5) for n in range(50)]
            filler = [
                {"sku": f"FILL-{n:06d}", "name": f"Filler {n}", "threshold": 5}
                for n in range(max(args.products - len(low_ids) - args.crossings - 1, 0))
            ]
            if filler:
                db.session.execute(
                    text(
                        "INSERT INTO products (sku, name, unit, low_stock_threshold, reorder_quantity, active, "
                        "on_hand, created_at, updated_at) "
                        "VALUES (:sku, :name, 'pcs', :threshold, 0, true, 100, now(), now())"
                    ),
                    filler,
                )
            db.session.execute(text("UPDATE products SET on_hand = 1 WHERE id = ANY(:ids)"), {"ids": low_ids})
            db.session.commit()
            started = time.perf_counter()
            result = alerts.check()
            checked = time.perf_counter()
            arrived = inbox.wait_for("SQL-049")
            assert len(result.opened) == len(low_ids), result
            periodic_check, periodic_email = checked - started, (arrived or float("nan")) - started

            # The check with nothing to do, against the same question in one raw statement.
            total = db.session.scalar(select(func.count()).select_from(alerts.Product))
            idle, raw = [], []
            raw_sql = text(
                "SELECT p.id FROM products p WHERE p.active AND p.low_stock_threshold > 0 "
                "AND p.on_hand <= p.low_stock_threshold AND NOT EXISTS (SELECT 1 FROM stock_alerts a "
                "WHERE a.product_id = p.id AND a.closed_at IS NULL) "
                "UNION ALL SELECT a.product_id FROM stock_alerts a JOIN products p ON p.id = a.product_id "
                "WHERE a.closed_at IS NULL AND NOT (p.active AND p.low_stock_threshold > 0 "
                "AND p.on_hand <= p.low_stock_threshold)"
            )
            for _ in range(20):
                started = time.perf_counter()
                alerts.check()
                idle.append(time.perf_counter() - started)
                started = time.perf_counter()
                db.session.execute(raw_sql).all()
                db.session.rollback()
                raw.append(time.perf_counter() - started)
            minutes = app.config["ALERT_CHECK_MINUTES"]

        print("Low-stock alert latency — PostgreSQL + Redis + huey_consumer (-w 2 thread) + aiosmtpd on loopback")
        print(f"load average {load_average()}; {library_versions(['huey', 'Flask-Mailman', 'SQLAlchemy', 'psycopg'])}")
        print(f"\nEvent path, {args.crossings} crossings (from the remove_stock call):")
        print(f"  remove_stock without a crossing  {percentiles(plain)}")
        print(f"  remove_stock with a crossing     {percentiles(commits)}   (returns after the commit)")
        print(f"  in-app notice exists             {percentiles(notices)}")
        print(f"  email at the SMTP server         {percentiles(emails)}")
        print(f"\nPeriodic path, {len(low_ids)} products made low with plain SQL among {total} products:")
        print(f"  alerts.check() opened {len(result.opened)} and queued 1 email in {periodic_check * 1000:.1f} ms;")
        print(f"  the email arrived {periodic_email * 1000:.1f} ms after the check began")
        print(f"  worst case for such a change: the wait for the next check ({minutes} min) plus that")
        print(f"\nCheck with nothing to do over {total} products (20 runs):")
        print(f"  alerts.check()  {percentiles(idle)}")
        print(f"  raw SQL         {percentiles(raw)}")
        print(f"  ratio (median)  {statistics.median(idle) / statistics.median(raw):.2f}")
    finally:
        if consumer is not None:
            os.killpg(consumer.pid, signal.SIGINT)
            try:
                consumer.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(consumer.pid, signal.SIGKILL)
        with app.app_context():
            db.engine.dispose()
        smtp.stop()
        drop_database(DEFAULT_SERVER, name)


if __name__ == "__main__":
    main()
