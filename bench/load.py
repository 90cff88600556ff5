"""The load benchmark: locust through nginx TLS against the production shape, on this machine.

    make load                                   # or: .venv/bin/python bench/load.py
    .venv/bin/python bench/load.py --quick      # shorter phases, for a first look
    .venv/bin/python bench/load.py --users 20 --mix-seconds 60 --workers 2

Starts the stack `make stack` starts (tools/stack.py: nginx with TLS, gunicorn with
gunicorn.conf.py, two Huey consumers) on free loopback ports against a fresh PostgreSQL
database on BENCH_DATABASE_URL's server and Redis, fills it (products with stock, documents
processed by the consumers, a trained model), signs one staff member in, then runs locust
(headless, from .venv-bench) three times through https://127.0.0.1:<port>:

1. the ceiling: one static file served by the same nginx, without pauses;
2. the light pages (start page, stock, documents, orders, alerts), without pauses;
3. the working mix at --users people with pauses: list pages, search as you type, review
   decisions, add stock, uploads and CSV exports.

It prints requests/s and p50/p95/p99 per endpoint for each run, the light pages' rate
against the ceiling, and the targets of issue 11 met or not. Locust runs on the same cores as
the server: the figures are what this one machine does with both, stated with its load.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
import urllib3
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.auth.models import Role  # noqa: E402
from app.auth.service import create_user  # noqa: E402
from app.config import Settings  # noqa: E402
from app.documents.models import ACTIVE_STATES, Document  # noqa: E402
from app.extensions import db  # noqa: E402
from app.stock import ledger  # noqa: E402
from app.stock import products as stock_products  # noqa: E402
from bench.machine import library_versions, load_average  # noqa: E402
from bench.search_corpus import Corpus  # noqa: E402
from tools.stack import Stack, free_port  # noqa: E402

DEFAULT_SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LOCUST = ROOT / ".venv-bench" / "bin" / "locust"
EMAIL = "load@example.com"
PASSWORD = secrets.token_urlsafe(18)
LIGHT_PAGES = ("/", "/stock", "/documents", "/orders", "/alerts")
PAGE_P95_MS = 200
SEARCH_P95_MS = 100
LIGHT_RATIO = 0.3


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server of `server_url`; return its URL."""
    libpq = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(libpq)._replace(path=f"/{name}"))


def drop_database(server_url: str, name: str) -> None:
    libpq = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(stack: Stack, products: int, documents: int) -> list[int]:
    """The data a small office has after some weeks; returns the product ids."""
    stack.flask("categories", "seed")
    print("Training the first model (flask model train --if-missing)...", flush=True)
    stack.flask("model", "train", "--if-missing")
    app = create_app(Settings.from_env(stack.child_env()).flask_config())
    with app.app_context():
        staff = create_user(EMAIL, Role.STAFF, PASSWORD, actor_id=None).id
        ids = []
        for n in range(products):
            data = stock_products.ProductData.clean(
                sku=f"LOAD-{n:04d}", name=f"Load test product {n}", low_stock_threshold=str(5 + n % 10)
            )
            product = stock_products.create_product(data, user_id=staff)
            ledger.add_stock(product.id, 40 + n % 60, user_id=staff)
            ids.append(product.id)
    folder = Path(tempfile.mkdtemp(prefix="qm-load-docs-"))
    corpus = Corpus(seed=11)
    for item in corpus.documents(documents):
        (folder / f"{Path(item.filename).stem}.txt").write_text(item.text)
    print(f"Importing {documents} documents; the consumers read and classify them...", flush=True)
    stack.flask("documents", "import", str(folder))
    with app.app_context():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            db.session.rollback()
            waiting = db.session.scalar(select(func.count()).where(Document.state.in_(ACTIVE_STATES)))
            if not waiting:
                break
            time.sleep(1)
        else:
            raise SystemExit(f"{waiting} documents still not processed after 10 minutes:\n{stack.logs()}")
    return ids


def sign_in(stack: Stack) -> tuple[str, str, str]:
    """One staff session through TLS: the session cookie, the CSRF token its pages carry, the versioned CSS."""
    session = requests.Session()
    session.verify = False  # the development certificate is self-signed
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment would turn verifying back on
    page = session.get(f"{stack.url}/login", timeout=10)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{stack.url}/login",
        data={"csrf_token": token, "email": EMAIL, "password": PASSWORD},
        headers={"Referer": f"{stack.url}/login"},  # over HTTPS, Flask-WTF checks the form came from us
        timeout=10,
    )
    answer.raise_for_status()
    home = session.get(f"{stack.url}/", timeout=10, allow_redirects=False)
    if home.status_code != 200:
        raise SystemExit(f"signing in did not work: GET / answered {home.status_code}")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)
    static = re.search(r'href="(/static/css/app\.css\?v=\w+)"', home.text).group(1)
    return session.cookies["qm_session"], csrf, static


def run_locust(
    stack: Stack, user_class: str, users: int, seconds: int, out: Path, env: dict[str, str]
) -> list[dict[str, str]]:
    """One headless locust run; the rows of its stats CSV."""
    prefix = out / user_class
    command = [
        str(LOCUST),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        stack.url,
        "--users",
        str(users),
        # People arrive over five seconds, and the figures start once all are there (--reset-stats):
        # the steady state, not twenty first requests to land in the same millisecond.
        "--spawn-rate",
        str(max(1, users // 5)),
        "--reset-stats",
        "--run-time",
        f"{seconds + 5}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        user_class,
    ]
    print(f"\nlocust: {user_class}, {users} users, {seconds} s ...", flush=True)
    result = subprocess.run(
        command, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120
    )
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise SystemExit(f"locust wrote no statistics (exit {result.returncode}):\n{result.stderr[-3000:]}")
    failures = Path(f"{prefix}_failures.csv")
    if failures.exists():
        rows = list(csv.DictReader(failures.open()))
        for row in rows[:10]:
            print(f"  failure: {row['Method']} {row['Name']}: {row['Occurrences']}x {row['Error'][:160]}")
    return list(csv.DictReader(stats.open()))


# ---------------------------------------------------------------- where the CPU went

TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process: pid -> (parent pid, command name, CPU seconds so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def cpu_by_part(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack (with its children), PostgreSQL and locust."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)

    def tree(pid: int) -> float:
        return table.get(pid, (0, "", 0.0))[2] + sum(tree(child) for child in children.get(pid, []))

    parts = {name: tree(process.pid) for name, process in stack.processes.items()}
    parts["postgres"] = sum(cpu for _, name, cpu in table.values() if name == "postgres")
    finished = os.times()
    parts["locust"] = finished.children_user + finished.children_system  # the runs this script waited for
    return parts


def print_cpu(before: dict[str, float], after: dict[str, float], seconds: float) -> None:
    used = {name: after[name] - before.get(name, 0.0) for name in after}
    total = sum(used.values())
    print(f"  CPU over {seconds:.0f} s (of {os.cpu_count()} cores = {seconds * (os.cpu_count() or 1):.0f} core-s):")
    print("   " + ", ".join(f"{name} {value:.0f} s" for name, value in sorted(used.items(), key=lambda x: -x[1])))
    print(f"   total {total:.0f} core-s = {total / seconds:.2f} cores busy")


# ---------------------------------------------------------------- the app's own view: server time per endpoint


def server_times(stack: Stack) -> dict[str, tuple[float, float, dict[float, float]]]:
    """From gunicorn's /metrics: endpoint -> (count, seconds, {bucket bound: count at or below})."""
    with requests.get(f"{stack.web_url}/metrics", timeout=10) as answer:
        text = answer.text
    found: dict[str, tuple[float, float, dict[float, float]]] = {}
    for line in text.splitlines():
        match = re.match(r"quartermaster_http_request_duration_seconds_(bucket|count|sum)\{(.*)\} (\S+)$", line)
        if not match:
            continue
        kind, labels, value = (
            match.group(1),
            dict(re.findall(r'(\w+)="([^"]*)"', match.group(2))),
            float(match.group(3)),
        )
        count, total, buckets = found.get(labels["endpoint"], (0.0, 0.0, {}))
        if kind == "count":
            count = value
        elif kind == "sum":
            total = value
        else:
            buckets[float(labels["le"])] = value
        found[labels["endpoint"]] = (count, total, buckets)
    return found


def print_server_times(before: dict, after: dict) -> None:
    """Mean and 95th percentile (the histogram bucket it falls in) of the time gunicorn spent, per endpoint."""
    print("  Server time per request (the app's own histogram, gunicorn's view without nginx or locust):")
    print(f"   {'endpoint':<30} {'requests':>8} {'mean ms':>8} {'p95 <= ms':>9}")
    for endpoint, (count, total, buckets) in sorted(after.items()):
        old_count, old_total, old_buckets = before.get(endpoint, (0.0, 0.0, {}))
        n = count - old_count
        if n <= 0 or endpoint in ("ops.metrics", "ops.readyz"):
            continue
        bound = next((le for le in sorted(buckets) if buckets[le] - old_buckets.get(le, 0.0) >= 0.95 * n), float("inf"))
        print(f"   {endpoint:<30} {int(n):>8} {(total - old_total) / n * 1000:>8.1f} {bound * 1000:>9.0f}")


def number(row: dict[str, str], column: str) -> float:
    value = row.get(column) or "0"
    return 0.0 if value == "N/A" else float(value)


def print_table(title: str, rows: list[dict[str, str]]) -> None:
    print(f"\n{title}")
    print(f"  {'endpoint':<28} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for row in sorted(rows, key=lambda r: (r["Name"] == "Aggregated", r["Name"])):
        print(
            f"  {row['Name'][:28]:<28} {int(number(row, 'Request Count')):>8} {int(number(row, 'Failure Count')):>6}"
            f" {number(row, 'Requests/s'):>8.1f} {number(row, '50%'):>7.0f} {number(row, '95%'):>7.0f}"
            f" {number(row, '99%'):>7.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load test through nginx TLS (see the module's docstring).")
    parser.add_argument("--users", type=int, default=20, help="people in the working mix (default 20)")
    parser.add_argument("--flat-out-users", type=int, default=16, help="clients without pauses (default 16)")
    parser.add_argument("--ceiling-seconds", type=int, default=20)
    parser.add_argument("--pages-seconds", type=int, default=30)
    parser.add_argument("--mix-seconds", type=int, default=60)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY, default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (WEB_THREADS)")
    parser.add_argument("--quick", action="store_true", help="short phases and less data")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server to create qm_load on")
    parser.add_argument("--keep", action="store_true", help="leave the database and files for a look afterwards")
    args = parser.parse_args(argv)
    if args.quick:
        args.ceiling_seconds, args.pages_seconds, args.mix_seconds = 8, 10, 20
        args.products, args.documents = 60, 60
    if not LOCUST.exists():
        raise SystemExit("locust is not installed: `make load` makes .venv-bench with it.")
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    name = "qm_load"
    database_url = fresh_database(args.database_url, name)
    base = Path(tempfile.mkdtemp(prefix="qm-load-"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "QM_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "QM_QUEUE_NAME": f"qm-load-{uuid.uuid4().hex[:8]}",
        "WEB_CONCURRENCY": str(args.workers),
        "WEB_THREADS": str(args.threads),
        "QM_LOG_LEVEL": "WARNING",
    }
    stack = Stack(
        data_dir=base / "data",
        https_port=free_port(),
        http_port=free_port(),
        web_port=free_port(),
        base_env=env,
        prefix=base / "nginx",
        log_dir=base / "logs",
    )
    print(f"Starting nginx, gunicorn ({args.workers} workers x {args.threads} threads) and two consumers...")
    stack.start()
    try:
        product_ids = seed(stack, args.products, args.documents)
        cookie, csrf, static = sign_in(stack)
        locust_env = {
            "QM_BENCH_COOKIE": cookie,
            "QM_BENCH_CSRF": csrf,
            "QM_BENCH_PRODUCTS": ",".join(map(str, product_ids)),
            "QM_BENCH_STATIC": static,
            "PYTHONWARNINGS": "ignore",
        }
        print(f"\nMachine: {os.cpu_count()} cores, load {load_average()}; {library_versions(['gunicorn', 'Flask'])}")
        print(f"Data: {args.products} products, {args.documents} documents; nginx and locust on the same machine")
        out = base / "locust"
        out.mkdir()
        cpu, started = cpu_by_part(stack), time.monotonic()
        ceiling = run_locust(stack, "StaticUser", args.flat_out_users, args.ceiling_seconds, out, locust_env)
        print_table(f"1. Ceiling: {static.split('?')[0]} from nginx, {args.flat_out_users} clients", ceiling)
        print_cpu(cpu, cpu_by_part(stack), time.monotonic() - started)
        cpu, times, started = cpu_by_part(stack), server_times(stack), time.monotonic()
        pages = run_locust(stack, "PageUser", args.flat_out_users, args.pages_seconds, out, locust_env)
        print_table(f"2. Light pages without pauses, {args.flat_out_users} clients", pages)
        print_server_times(times, server_times(stack))
        print_cpu(cpu, cpu_by_part(stack), time.monotonic() - started)
        cpu, times, started = cpu_by_part(stack), server_times(stack), time.monotonic()
        mix = run_locust(stack, "StaffUser", args.users, args.mix_seconds, out, locust_env)
        print_table(f"3. Working mix, {args.users} people with pauses of 0.5-2 s", mix)
        print_server_times(times, server_times(stack))
        print_cpu(cpu, cpu_by_part(stack), time.monotonic() - started)
    finally:
        stack.stop()
        if not args.keep:
            drop_database(args.database_url, name)

    ceiling_rate = number(next(r for r in ceiling if r["Name"] == "Aggregated"), "Requests/s")
    pages_rate = number(next(r for r in pages if r["Name"] == "Aggregated"), "Requests/s")
    ratio = pages_rate / ceiling_rate if ceiling_rate else 0.0
    page_rows = [r for r in mix if r["Name"].startswith("page ")]
    worst_page = max(page_rows, key=lambda r: number(r, "95%"))
    search = next((r for r in mix if r["Name"] == "search as you type"), None)
    errors = sum(int(number(r, "Failure Count")) for r in (*ceiling, *pages, *mix) if r["Name"] == "Aggregated")

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print("\nTargets (issue 11)")
    print(
        f"  light pages {pages_rate:.0f} req/s = {ratio:.2f}x the static ceiling of {ceiling_rate:.0f} req/s"
        f" (target >= {LIGHT_RATIO}x): {verdict(ratio >= LIGHT_RATIO)}"
    )
    print(
        f"  slowest page p95 {number(worst_page, '95%'):.0f} ms ({worst_page['Name']}; target < {PAGE_P95_MS} ms):"
        f" {verdict(number(worst_page, '95%') < PAGE_P95_MS)}"
    )
    if search:
        print(
            f"  search as you type p95 {number(search, '95%'):.0f} ms (target < {SEARCH_P95_MS} ms):"
            f" {verdict(number(search, '95%') < SEARCH_P95_MS)}"
        )
    print(f"  errors {errors} (target 0): {verdict(errors == 0)}")
    print(f"\nlocust's CSV files and the parts' logs: {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
