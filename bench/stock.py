"""Stock benchmarks: how fast stock moves, and how a big ledger streams out as CSV.

What it measures, on a PostgreSQL server you point it at:

1. `app.stock.ledger.add_stock` operations per second with 1, 8 and 32
   concurrent clients (threads, each with its own app context and session),
   once spread over 1,000 products (each client picks at random) and once on a
   single hot product. In the same run, on the same engine and pool, the same
   work done as raw SQL: the conditional `UPDATE products ... RETURNING on_hand`
   and the ledger `INSERT`, one transaction per operation. The ratio
   service / raw is what the service layer (ORM, validation, session) costs.
   Within each cell the two paths take turns in 0.5 s slices, so background
   load on the machine weighs on both alike. Afterwards `verify_ledger()`
   must be empty.
2. The ledger CSV export of 1,000,000 movements (100,000 with --quick),
   streamed the way the app's export does it: `iter_csv` over
   `ledger_query(LedgerFilter())` with `yield_per=1000`. Reports rows/s, the
   growth of the process's resident memory while streaming, and the Python
   heap peak (tracemalloc, in a second pass).

It creates its own database (`qm_bench` unless --database-name says otherwise)
on the server of --database-url, drops it first if it exists, and drops it at
the end. It never touches any other database.

Run from the project root:

    .venv/bin/python bench/stock.py            # full run, a few minutes
    .venv/bin/python bench/stock.py --quick    # a short run

The server defaults to $BENCH_DATABASE_URL, else
postgresql://postgres@127.0.0.1:5432/postgres (only used to connect and create
the benchmark database).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app import create_app
from app.auth.models import User
from app.config import config_for_tests
from app.csvio import iter_csv
from app.db_types import utcnow
from app.extensions import db
from app.stock import ledger
from app.stock.models import Product, Reason
from app.stock.queries import LedgerFilter, ledger_query
from bench.machine import load_average

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PRODUCTS = 1_000
CLIENTS = (1, 8, 32)
SLICE = 0.5  # seconds: service and raw SQL alternate in slices this long within a cell
POOL = {"pool_size": 40, "max_overflow": 0, "pool_pre_ping": True}
# The columns of the ledger export (app.stock.queries.LEDGER_COLUMNS).
LEDGER_HEADER = ("time", "sku", "product", "change", "reason", "balance_after", "note", "user", "order")

# The raw equivalent of `ledger.apply_movement` for an increase (active products only).
RAW_UPDATE = text(
    "UPDATE products SET on_hand = on_hand + :delta, updated_at = :now "
    "WHERE products.id = :id AND products.on_hand + :delta >= 0 AND products.active IS true "
    "RETURNING products.on_hand"
)
RAW_INSERT = text(
    "INSERT INTO stock_movements "
    "(product_id, delta, reason, note, user_id, order_id, at, balance_after, idempotency_key) "
    "VALUES (:product_id, :delta, :reason, :note, :user_id, NULL, :at, :balance, NULL) RETURNING id"
)


# ---------------------------------------------------------------- the database


def server_connection(url: str) -> psycopg.Connection:
    """An autocommit connection to the server's maintenance database given in `url`."""
    plain = make_url(url).set(drivername="postgresql")
    return psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True)


def recreate_database(url: str, name: str) -> str:
    """Drop and create `name` on the server of `url`; the SQLAlchemy URL of the new database."""
    with server_connection(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    with server_connection(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_facts(url: str) -> dict[str, str]:
    with server_connection(url) as conn:
        facts = {"version": conn.execute("SHOW server_version").fetchone()[0]}
        for setting in ("synchronous_commit", "fsync", "shared_buffers", "max_connections"):
            facts[setting] = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting))).fetchone()[0]
    return facts


# ---------------------------------------------------------------- memory


def rss_bytes() -> int:
    """The process's resident set size now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples RSS in a background thread; `peak` is the highest value seen."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start_rss = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.start_rss = self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


# ---------------------------------------------------------------- throughput


@dataclass
class CellResult:
    ops: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: CellResult) -> None:
        self.ops += other.ops
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies.extend(other.latencies)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def p95_ms(self) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=20)[-1] * 1000


def service_op(product_id: int) -> None:
    ledger.add_stock(product_id, 1, user_id=None, reason=Reason.RECEIVED, note="bench")


def raw_op(engine: Engine, product_id: int) -> None:
    """The same UPDATE ... RETURNING and INSERT as the service, in one transaction."""
    now = utcnow()
    with engine.connect() as conn:
        balance = conn.execute(RAW_UPDATE, {"delta": 1, "now": now, "id": product_id}).scalar_one_or_none()
        if balance is None:
            raise RuntimeError(f"product {product_id} refused the change")
        conn.execute(
            RAW_INSERT,
            {
                "product_id": product_id,
                "delta": 1,
                "reason": Reason.RECEIVED.value,
                "note": "bench",
                "user_id": None,
                "at": now,
                "balance": balance,
            },
        ).scalar_one()
        conn.commit()


def run_cell(app, clients: int, pick: Callable[[random.Random], int], mode: str, duration: float) -> CellResult:
    """`clients` threads doing `mode` operations as fast as they can for `duration` seconds."""
    result = CellResult()
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        ops = errors = 0
        latencies: list[float] = []
        with app.app_context():
            engine = db.engine
            ready.wait()
            while not stop.is_set():
                product_id = pick(rng)
                began = time.perf_counter()
                try:
                    if mode == "service":
                        service_op(product_id)
                    else:
                        raw_op(engine, product_id)
                except Exception as error:  # counted and reported, never hidden
                    errors += 1
                    if errors == 1:
                        print(f"    {mode} error: {error!r}", file=sys.stderr)
                    continue
                latencies.append(time.perf_counter() - began)
                ops += 1
            db.session.remove()
        with lock:
            result.ops += ops
            result.errors += errors
            result.latencies.extend(latencies)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join()
    # Operations finishing after `stop` are counted, so count their time too.
    result.seconds = time.perf_counter() - began
    return result


def warm_pool(app, size: int) -> None:
    """Open `size` connections up front, so no timed cell pays for connecting."""
    with app.app_context():
        connections = [db.engine.connect() for _ in range(size)]
        for conn in connections:
            conn.close()


def throughput(app, duration: float, spread_ids: list[int], hot_id: int) -> list[tuple]:
    targets = {
        "spread": lambda rng: rng.choice(spread_ids),
        "hot": lambda rng: hot_id,
    }
    rows = []
    for clients in CLIENTS:
        for target, pick in targets.items():
            # A short untimed warm-up of both paths (statement caches, code paths).
            run_cell(app, clients, pick, "service", min(0.3, duration))
            run_cell(app, clients, pick, "raw", min(0.3, duration))
            # The two paths take turns in short slices (service, raw, raw, service, ...), so a
            # change in the machine's load during the cell weighs on both alike.
            slices = max(1, round(duration / SLICE))
            svc, raw = CellResult(), CellResult()
            for n in range(2 * slices):
                mode = "service" if n % 4 in (0, 3) else "raw"
                part = run_cell(app, clients, pick, mode, duration / slices)
                (svc if mode == "service" else raw).add(part)
            ratio = svc.rate / raw.rate if raw.rate else float("nan")
            row = (clients, target, svc, raw, ratio)
            rows.append(row)
            print(
                f"  {clients:>3} clients {target:<6} service {svc.rate:8.0f} ops/s   raw {raw.rate:8.0f} ops/s"
                f"   ratio {ratio:.2f}   errors {svc.errors}/{raw.errors}",
                flush=True,
            )
    return rows


def print_throughput(rows: list[tuple], duration: float) -> None:
    print()
    print(f"add_stock throughput ({duration:g} s per path and cell, 1 unit per operation, {PRODUCTS} spread products)")
    print()
    print("| clients | target | service ops/s | raw SQL ops/s | ratio | service p95 ms | raw p95 ms | errors |")
    print("|--------:|:-------|--------------:|--------------:|------:|---------------:|-----------:|-------:|")
    for clients, target, svc, raw, ratio in rows:
        print(
            f"| {clients} | {target} | {svc.rate:,.0f} | {raw.rate:,.0f} | {ratio:.2f} "
            f"| {svc.p95_ms():.1f} | {raw.p95_ms():.1f} | {svc.errors + raw.errors} |"
        )


# ---------------------------------------------------------------- the ledger export


def fill_ledger(rows: int, user_id: int) -> float:
    """Replace the ledger by `rows` movements spread over the products, on-hand kept equal to the sums."""
    began = time.perf_counter()
    db.session.execute(text("TRUNCATE stock_movements RESTART IDENTITY"))
    db.session.execute(text("UPDATE products SET on_hand = 0"))
    # Product p gets every PRODUCTS-th row; delta 1..9; balance_after is the running sum per product.
    # Every third movement has a user, every fifth a note that a spreadsheet would read as a formula.
    db.session.execute(
        text(
            """
            INSERT INTO stock_movements (product_id, delta, reason, note, user_id, at, balance_after)
            SELECT p.id, g.delta, 'received',
                   CASE WHEN g.n % 5 = 0 THEN '=delivery ' || g.n END,
                   CASE WHEN g.n % 3 = 0 THEN :user_id END,
                   timestamptz '2024-01-01 00:00:00+00' + g.n * interval '1 second',
                   sum(g.delta) OVER (PARTITION BY p.id ORDER BY g.n)
            FROM (SELECT n, 1 + n % 9 AS delta, n % :products AS slot FROM generate_series(1, :rows) AS n) AS g
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS slot FROM products) AS p ON p.slot = g.slot
            """
        ),
        {"rows": rows, "products": db.session.scalar(text("SELECT count(*) FROM products")), "user_id": user_id},
    )
    db.session.execute(
        text(
            "UPDATE products SET on_hand = t.total FROM "
            "(SELECT product_id, sum(delta) AS total FROM stock_movements GROUP BY product_id) AS t "
            "WHERE products.id = t.product_id"
        )
    )
    db.session.commit()
    db.session.execute(text("ANALYZE stock_movements"))
    db.session.commit()
    return time.perf_counter() - began


def ledger_rows():
    """What the ledger export writes for each movement, in the page's order."""
    movements = db.session.scalars(ledger_query(LedgerFilter()).execution_options(yield_per=1000))
    for m in movements:
        user = m.user.email if m.user else "system"
        yield (m.at, m.product.sku, m.product.name, m.delta, m.reason, m.balance_after, m.note, user, m.order_id)


@dataclass
class ExportResult:
    rows: int
    nbytes: int
    seconds: float
    first_row_seconds: float
    rss_start: int = 0
    rss_peak: int = 0
    heap_peak: int = 0


def export_once() -> ExportResult:
    """Consume the CSV generator completely, counting rows and UTF-8 bytes."""
    db.session.remove()
    began = time.perf_counter()
    first = 0.0
    nbytes = lines = 0
    # iter_csv yields chunks of about 64 KB; the bench's notes hold no line breaks, so lines are rows.
    for chunk in iter_csv(LEDGER_HEADER, ledger_rows()):
        if not first:
            first = time.perf_counter() - began
        nbytes += len(chunk.encode())
        lines += chunk.count("\r\n")
    seconds = time.perf_counter() - began
    db.session.remove()
    return ExportResult(rows=lines - 1, nbytes=nbytes, seconds=seconds, first_row_seconds=first)


def export_benchmark(rows: int) -> tuple[ExportResult, ExportResult]:
    gc.collect()
    with RssSampler() as sampler:
        timed = export_once()
    timed.rss_start, timed.rss_peak = sampler.start_rss, sampler.peak

    gc.collect()
    tracemalloc.start()
    traced = export_once()
    traced.heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return timed, traced


def explain_export() -> str:
    statement = ledger_query(LedgerFilter())
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    # A server-side cursor is planned for the first rows (cursor_tuple_fraction); show that plan.
    plan = db.session.execute(text(f"EXPLAIN DECLARE c CURSOR FOR {compiled}")).scalars().all()
    db.session.rollback()
    return "\n".join(f"    {line}" for line in plan)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short cells and a 100,000-row export")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_SERVER,
        help="a PostgreSQL server to create the benchmark database on (default: $BENCH_DATABASE_URL or %(default)s)",
    )
    parser.add_argument("--database-name", default="qm_bench", help="the database to create and drop (qm_bench)")
    parser.add_argument("--seconds", type=float, help="seconds per path in each throughput cell (3, or 1 with --quick)")
    parser.add_argument("--rows", type=int, help="ledger rows to export (1,000,000, or 100,000 with --quick)")
    args = parser.parse_args()
    duration = args.seconds or (1.0 if args.quick else 3.0)
    export_rows = args.rows or (100_000 if args.quick else 1_000_000)

    if make_url(args.database_url).database == args.database_name:
        parser.error("--database-url must name another database than --database-name: that one is dropped")
    facts = server_facts(args.database_url)
    print("Quartermaster stock benchmark")
    print(f"  machine    {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"  python     {platform.python_implementation()} {platform.python_version()}")
    print(
        f"  postgresql {facts['version']} (synchronous_commit={facts['synchronous_commit']}, "
        f"fsync={facts['fsync']}, shared_buffers={facts['shared_buffers']}, "
        f"max_connections={facts['max_connections']})"
    )
    print(f"  load       {load_average()} (1, 5, 15 min averages; other work on the machine skews the figures)")
    print(f"  database   {args.database_name} (created now, dropped at the end)")
    print()

    url = recreate_database(args.database_url, args.database_name)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="qm-bench-") as tmpdir:
            app = create_app(config_for_tests(Path(tmpdir), url, SQLALCHEMY_ENGINE_OPTIONS=POOL))
            with app.app_context():
                db.create_all()
                db.session.add_all(
                    Product(sku=f"SKU-{n:05d}", name=f"Product {n}", on_hand=0) for n in range(1, PRODUCTS + 1)
                )
                hot = Product(sku="HOT-1", name="The hot product", on_hand=0)
                user = User(email="bench@example.com", password_hash="not-a-real-hash", role="staff")  # noqa: S106
                db.session.add_all([hot, user])
                db.session.commit()
                spread_ids = list(db.session.scalars(db.select(Product.id).where(Product.sku.like("SKU-%"))))
                hot_id, user_id = hot.id, user.id
                db.session.remove()

            warm_pool(app, max(CLIENTS) + 1)
            print(f"Stock: add_stock vs raw SQL ({len(CLIENTS) * 2} cells x 2 paths x {duration:g} s)")
            rows = throughput(app, duration, spread_ids, hot_id)
            print_throughput(rows, duration)
            print(f"load average after the throughput run: {load_average()}")

            with app.app_context():
                mismatches = ledger.verify_ledger()
                movements = db.session.scalar(text("SELECT count(*) FROM stock_movements"))
                print()
                print(f"verify_ledger() after the throughput run: {mismatches} ({movements:,} movements)")
                if mismatches:
                    return 1

                print()
                print(f"Stock: ledger CSV export of {export_rows:,} movements")
                fill_seconds = fill_ledger(export_rows, user_id)
                print(f"  filled the ledger in {fill_seconds:.1f} s (INSERT ... SELECT generate_series)")
                began = time.perf_counter()
                mismatches = ledger.verify_ledger()
                print(f"  verify_ledger(): {mismatches} in {time.perf_counter() - began:.2f} s")
                if mismatches:
                    return 1
                print("  plan of the export query (as a server-side cursor):")
                print(explain_export())

                timed, traced = export_benchmark(export_rows)
                if timed.rows != export_rows or traced.rows != export_rows:
                    print(f"  exported {timed.rows} / {traced.rows} rows, expected {export_rows}")
                    return 1
                print()
                print("| rows | CSV size | time | rows/s | first 64 KB after | RSS before | RSS growth | heap peak |")
                print("|-----:|---------:|-----:|-------:|----------------:|-----------:|-----------:|----------:|")
                print(
                    f"| {timed.rows:,} | {mb(timed.nbytes)} | {timed.seconds:.1f} s | {timed.rows / timed.seconds:,.0f}"
                    f" | {timed.first_row_seconds * 1000:.0f} ms | {mb(timed.rss_start)}"
                    f" | {mb(timed.rss_peak - timed.rss_start)} | {mb(traced.heap_peak)} |"
                )
                print()
                print(f"  load average after the export: {load_average()}")
                print(
                    f"  RSS growth: highest resident memory while streaming minus before (sampled every 5 ms);"
                    f"\n  heap peak: tracemalloc's peak in a second pass ({traced.seconds:.1f} s with tracing on)."
                )
                db.session.remove()
                db.engine.dispose()
    finally:
        drop_database(args.database_url, args.database_name)
    print()
    print(f"Done in {time.perf_counter() - started:.0f} s; dropped {args.database_name}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
