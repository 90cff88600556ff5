"""A real Quartermaster on a free port: gunicorn and a Huey consumer, as `make run` starts them.

Each server gets its own PostgreSQL database, data directory and queue name,
is migrated and given users through the real `flask` CLI, and is stopped the
way an operator would (SIGINT to the consumer, SIGTERM to gunicorn).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "correct-horse-battery"
USERS = {"admin": "admin@example.com", "staff": "staff@example.com", "viewer": "viewer@example.com"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    data_dir: Path
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    password: str = PASSWORD
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))

    def flask(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run a `flask` CLI command against this server's settings."""
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log")))

    def stop(self) -> None:
        for process, sig in zip(self.processes, (signal.SIGTERM, signal.SIGINT), strict=False):
            if process.poll() is None:
                os.killpg(process.pid, sig)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _wait_ready(server: LiveServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        for process in server.processes:
            if process.poll() is not None:
                raise RuntimeError(f"a server process exited with {process.returncode}:\n{server.logs()}")
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as error:
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(f"the live server was not ready after {timeout} s ({last_error}):\n{server.logs()}")


def start_live_server(
    database_url: str, redis_url: str | None, base_dir: Path, *, classify: bool = False, **settings: str
) -> LiveServer:
    """Migrate, create one user per role, start gunicorn and the consumer; return when ready.

    With `redis_url=None` the queue is SQLite under the data dir: the embedded default.
    `classify=True` also seeds the categories and trains a small first model, as `make run` does.
    """
    port = free_port()
    data_dir = base_dir / "data"
    log_dir = base_dir / "logs"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(base_dir)),
        "LANG": "C.UTF-8",
        "QM_ENV": "development",
        "SECRET_KEY": uuid.uuid4().hex,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        **({"REDIS_URL": redis_url} if redis_url else {}),
        "QM_QUEUE_NAME": f"qm-live-{uuid.uuid4().hex[:12]}",
        "LOG_LEVEL": "INFO",
        "PORT": str(port),
        # Browser tests sign in many times a minute from one address; the limit
        # itself is tested against a server of its own.
        "QM_LOGIN_RATE_LIMIT": "1000 per minute",
        **settings,
    }
    server = LiveServer(url=f"http://127.0.0.1:{port}", env=env, data_dir=data_dir, log_dir=log_dir)
    server.flask("db", "upgrade")
    for role, email in USERS.items():
        server.flask("users", "create", email, "--role", role, "--password-stdin", input=PASSWORD + "\n")
    if classify:
        server.flask("categories", "seed")
        server.flask("model", "train", "--per-category", "30")

    commands = {
        "web": [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--workers", "2"],
        "worker": [str(BIN / "huey_consumer"), "worker.huey", "--workers", "2", "--worker-type", "thread"],
    }
    try:
        for name, command in commands.items():
            with (log_dir / f"{name}.log").open("w") as log:  # the child keeps its own copy of the fd
                server.processes.append(
                    subprocess.Popen(
                        [*command, *(["wsgi:app"] if name == "web" else [])],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group: stop() signals the whole tree
                    )
                )
        _wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def dedicated_server(base_dir: Path, name: str, *, classify: bool = False, **settings: str) -> Iterator[LiveServer]:
    """A live server on its own fresh PostgreSQL database `name` and Redis, stopped and dropped afterwards."""
    from tests.support import services

    url = services.recreate_database(name)
    server = start_live_server(url, services.TEST_REDIS_URL, base_dir, classify=classify, **settings)
    try:
        yield server
    finally:
        server.stop()
        services.drop_database(name)
