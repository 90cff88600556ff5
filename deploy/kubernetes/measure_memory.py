"""Measure the memory of each Quartermaster process the Kubernetes manifests run, to size their requests and limits.

    PYTHONPATH=. .venv/bin/python deploy/kubernetes/measure_memory.py [--documents 12] [--requests 400]

Runs what the pods run, with their settings, on this machine: the migration (`flask --app wsgi db upgrade`),
gunicorn with gunicorn.conf.py (WEB_CONCURRENCY=2, WEB_THREADS=4 as the web Deployment sets), the Huey consumer
that schedules periodic tasks and one started with --no-periodic (each `--workers 2 --worker-type process`, as
the worker image starts it), on a fresh PostgreSQL database and Redis (MEASURE_DATABASE_URL, MEASURE_REDIS_URL;
default the local servers). It trains the first model with `flask model train` (measured too), signs in, then
uploads scanned multi-page PDFs (OCR), A4 scans at 300 dpi, text PDFs and plain texts through gunicorn while
threads read the list, search, stock and export pages, and waits until the consumers have read every document.

What a container's memory limit counts is the pages its processes use, a page shared after fork once: the script
samples the sum of PSS (proportional set size, /proc/PID/smaps_rollup) of each process tree every 0.2 s and
prints its resting figure (after start-up, before any work) and its peak; RSS sums and each process's own peak
(VmHWM) are printed beside them. Nothing else is kept: the database is dropped and the data folder removed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from PIL import Image

from tests.support.documents import make_text_pdf, text_image

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
DATABASE_URL = os.environ.get("MEASURE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MEASURE_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "a-long-measuring-password"  # noqa: S105  (a throwaway database's admin)
EMAIL = "measure@example.com"
CONSUMER = ["huey_consumer", "worker.huey", "--workers", "2", "--worker-type", "process", "--quiet"]
WORDS = ["invoice", "delivery", "note", "pallet", "screws", "hinges", "order", "quantity", "supplier", "shelf"]


# ---------------------------------------------------------------- sampling


def _tree(root: int) -> list[int]:
    """A process and its descendants (from /proc/PID/task/*/children)."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):  # it ended meanwhile
                queue.extend(int(child) for child in (task / "children").read_text().split())
    return found


def _kb(text: str, name: str) -> int:
    match = re.search(rf"^{name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


@dataclass
class Figures:
    """One process tree's memory: resting and peak sums (MiB), and its processes' own peaks."""

    name: str
    pid: int
    rest_pss: float = 0.0
    peak_pss: float = 0.0
    peak_rss: float = 0.0
    hwm: dict[int, float] = field(default_factory=dict)

    def sample(self) -> tuple[float, float]:
        pss = rss = 0
        for pid in _tree(self.pid):
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            pss += _kb(rollup, "Pss")
            rss += _kb(rollup, "Rss")
            self.hwm[pid] = max(self.hwm.get(pid, 0.0), _kb(status, "VmHWM") / 1024)
        self.peak_pss = max(self.peak_pss, pss / 1024)
        self.peak_rss = max(self.peak_rss, rss / 1024)
        return pss / 1024, rss / 1024


class Sampler(threading.Thread):
    def __init__(self, trees: list[Figures]) -> None:
        super().__init__(daemon=True)
        self.trees, self.stopped = trees, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for tree in self.trees:
                tree.sample()
            time.sleep(0.2)


def _start(command: list[str], env: dict[str, str], **options: object) -> subprocess.Popen:
    """One of the project's own commands from the venv, in the project folder."""
    return subprocess.Popen([str(BIN / command[0]), *command[1:]], cwd=ROOT, env=env, **options)  # noqa: S603


def _measured_run(name: str, command: list[str], env: dict[str, str]) -> Figures:
    """A one-shot command (the migration, the first training), sampled until it exits."""
    process = _start(command, env, stdout=subprocess.DEVNULL)
    figures = Figures(name, process.pid)
    while process.poll() is None:
        figures.sample()
        time.sleep(0.1)
    if process.returncode:
        raise SystemExit(f"{name} failed ({process.returncode})")
    return figures


# ---------------------------------------------------------------- the work


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def _lines(n: int, seed: int) -> list[str]:
    return [" ".join(WORDS[(seed + i + k) % len(WORDS)] for k in range(6)) + f" {seed * 100 + i}" for i in range(n)]


def _make_documents(folder: Path, count: int) -> list[Path]:
    """Scanned multi-page PDFs and A4 scans at 300 dpi (OCR), text PDFs and plain texts, in turn."""
    paths = []
    for n in range(count):
        kind = n % 4
        if kind == 0:  # a three-page scan at 150 dpi, as an office scanner writes it
            pages = [text_image(_lines(30, n * 10 + p), (1240, 1754), font_size=28) for p in range(3)]
            path = folder / f"scan-{n}.pdf"
            pages[0].save(path, "PDF", resolution=150.0, save_all=True, append_images=pages[1:])
        elif kind == 1:  # one A4 page at 300 dpi: the largest page a consumer commonly decodes
            path = folder / f"photo-{n}.png"
            text_image(_lines(40, n), (2480, 3508), font_size=56).convert("L").save(path)
        elif kind == 2:
            path = make_text_pdf(folder / f"letter-{n}.pdf", _lines(40, n), pages=5)
        else:
            path = folder / f"note-{n}.txt"
            path.write_text("\n".join(_lines(200, n)))
        paths.append(path)
    Image.MAX_IMAGE_PIXELS = None
    return paths


def _sign_in(base: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    session.post(f"{base}/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD}, timeout=10)
    home = session.get(f"{base}/", timeout=10)
    if home.status_code != 200 or "/login" in home.url:
        raise SystemExit("signing in did not work")
    return session, re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)


def _browse(base: str, cookies: dict[str, str], count: int) -> int:
    """`count` page views over 8 threads: lists, search, stock, an export; returns how many answered 200."""
    pages = [
        "/",
        "/documents",
        "/search?q=invoice",
        "/search?q=pallet+screws",
        "/stock",
        "/documents.csv",
        "/search.csv?q=invoice",
    ]

    def one(n: int) -> int:
        with requests.Session() as session:
            session.cookies.update(cookies)
            return session.get(base + pages[n % len(pages)], timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        return sum(status == 200 for status in pool.map(one, range(count)))


def _wait_processed(database: str, total: int, seconds: float = 900) -> None:
    deadline = time.monotonic() + seconds
    with psycopg.connect(database, autocommit=True) as conn:
        while time.monotonic() < deadline:
            done = conn.execute("SELECT count(*) FROM documents WHERE state IN ('processed', 'failed')").fetchone()[0]
            if done >= total:
                return
            time.sleep(1)
    raise SystemExit("the consumers did not finish in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=12)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()

    name = f"qm_measure_{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="qm-measure-"))
    admin = psycopg.connect(DATABASE_URL, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    database = DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "QM_ENV": "production",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "DATABASE_URL": database,
        "REDIS_URL": REDIS_URL,
        "QM_QUEUE_NAME": name,
        "DATA_DIR": str(folder / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus"),
        "QM_COOKIE_SECURE": "0",  # plain HTTP on loopback here; the Ingress terminates TLS in the cluster
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
        "QM_LOGIN_RATE_LIMIT": "1000 per minute",
        "QM_ADMIN_EMAIL": EMAIL,
        "QM_ADMIN_PASSWORD": PASSWORD,
    }
    (folder / "prometheus").mkdir(parents=True)
    processes: list[subprocess.Popen] = []
    try:
        flask = ["flask", "--app", "wsgi"]
        migrate = _measured_run("migration (flask db upgrade)", [*flask, "db", "upgrade"], env)
        for step in (["users", "ensure-admin"], ["categories", "seed"]):
            if _start([*flask, *step], env, stdout=subprocess.DEVNULL).wait():
                raise SystemExit(f"flask {' '.join(step)} failed")
        train = _measured_run("first model (flask model train)", [*flask, "model", "train", "--if-missing"], env)

        web = _start(["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"], env)
        scheduler = _start(CONSUMER, env)
        worker = _start([*CONSUMER, "--no-periodic"], env)
        processes = [web, scheduler, worker]
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz")
        time.sleep(10)  # the consumers' start-up (the app, the model, the first periodic tasks)
        trees = [Figures("web (gunicorn)", web.pid), Figures("scheduler", scheduler.pid), Figures("worker", worker.pid)]
        for tree in trees:
            tree.rest_pss = tree.sample()[0]
        sampler = Sampler(trees)
        sampler.start()

        session, csrf = _sign_in(base)
        paths = _make_documents(folder, args.documents)
        for path in paths:
            with path.open("rb") as handle:
                answer = session.post(
                    f"{base}/documents/upload",
                    files={"files": (path.name, handle)},
                    data={"csrf_token": csrf},
                    headers={"Referer": f"{base}/documents/upload"},
                    timeout=120,
                )
            if answer.status_code >= 400:
                raise SystemExit(f"upload of {path.name} answered {answer.status_code}")
        ok = _browse(base, session.cookies.get_dict(), args.requests)
        _wait_processed(database, len(paths))
        ok += _browse(base, session.cookies.get_dict(), args.requests // 4)
        time.sleep(2)
        sampler.stopped.set()
        sampler.join()

        print(f"{len(paths)} documents read, {ok} pages answered 200")
        print("process tree | at rest PSS MiB | peak PSS MiB | peak RSS MiB | largest single process VmHWM MiB")
        for tree in [migrate, train, *trees]:
            largest = max(tree.hwm.values(), default=0.0)
            print(f"{tree.name} | {tree.rest_pss:.0f} | {tree.peak_pss:.0f} | {tree.peak_rss:.0f} | {largest:.0f}")
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT if process is not processes[0] else signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
