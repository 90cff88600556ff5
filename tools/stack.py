"""`make stack`: the production shape on one machine, without Docker.

nginx (TLS on 127.0.0.1:8443, HTTP on 127.0.0.1:8080 redirecting) renders
nginx/quartermaster.conf.template into a temporary prefix and proxies to
gunicorn (gunicorn.conf.py); two Huey consumers run beside it (the first
schedules the periodic tasks, the second runs with -n, as extra workers do).
The `Stack` class is also what the stack test starts, so both run the same way.
"""

# ruff: noqa: S603, S607, S310 -- fixed commands and loopback URLs, built here, never from input

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEMPLATE = ROOT / "nginx" / "quartermaster.conf.template"
DEV_CERT = ROOT / "nginx" / "dev-cert.sh"
MIME_TYPES = Path("/etc/nginx/mime.types")
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/quartermaster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SERVER_NAMES = ("127.0.0.1", "localhost")

MAIN_CONF = """\
# Written by tools/stack.py: everything nginx writes stays under this prefix.
{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    # The time of each request at nginx and at gunicorn (upstream): where a slow answer spent it.
    log_format timed '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                     'request_time=$request_time upstream_time=$upstream_response_time';
    access_log {prefix}/access.log timed;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/quartermaster.conf;
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise SystemExit("nginx is not installed: `make system-tools` installs Debian's package.")
    return found


def render(template: str, variables: Mapping[str, str]) -> str:
    """Substitute ${NAME} and $NAME for the given variables only, as envsubst in nginx's Docker image does."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables[name] if name in variables else match.group(0)

    rendered = re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, template)
    missing = sorted(set(re.findall(r"\$\{(NGINX_\w+)\}", rendered)))
    if missing:
        raise ValueError(f"the nginx template needs {', '.join(missing)}")
    return rendered


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist yet."""
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    parts = urlsplit(libpq)
    name = parts.path.lstrip("/")
    if not libpq.startswith("postgresql://") or not name:
        return
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}")


@dataclass
class Stack:
    """nginx + gunicorn + two Huey consumers on loopback; `with Stack(...) as stack:` starts and stops it."""

    data_dir: Path
    https_port: int = 8443
    http_port: int = 8080
    web_port: int | None = None
    max_upload_mb: int = 50
    server_names: tuple[str, ...] = SERVER_NAMES
    env: dict[str, str] = field(default_factory=dict)  # settings on top of this process's environment
    base_env: Mapping[str, str] | None = None  # None: os.environ
    cert_dir: Path | None = None
    prefix: Path | None = None
    log_dir: Path | None = None  # None: the parts write to this terminal
    consumers: int = 2
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def web_url(self) -> str:
        """gunicorn directly, as Prometheus and health checks on the internal network see it."""
        return f"http://127.0.0.1:{self.web_port}"

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ if self.base_env is None else self.base_env)
        env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
        env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
        env.setdefault("QM_BASE_URL", self.url)
        # gunicorn's workers and the consumers write their metrics into one folder (see gunicorn.conf.py).
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(self.data_dir / "prometheus"))
        env.update(
            {
                "DATA_DIR": str(self.data_dir),
                "QM_PROXY_HOPS": "1",
                "QM_COOKIE_SECURE": "1",
                "QM_TRUSTED_HOSTS": ",".join(self.server_names),
                "QM_MAX_UPLOAD_MB": str(self.max_upload_mb),
                "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
            }
        )
        env.update(self.env)
        return env

    def nginx_variables(self) -> dict[str, str]:
        assert self.cert_dir is not None
        return {
            "NGINX_SERVER_NAME": " ".join(self.server_names),
            "NGINX_HTTP_PORT": f"127.0.0.1:{self.http_port}",
            "NGINX_HTTPS_PORT": f"127.0.0.1:{self.https_port}",
            "NGINX_PUBLIC_HTTPS_PORT": str(self.https_port),
            "NGINX_UPSTREAM": f"127.0.0.1:{self.web_port}",
            "NGINX_CERT_DIR": str(self.cert_dir),
            "NGINX_STATIC_ROOT": str(ROOT / "static"),
            # A megabyte above the app's limit: just-over uploads get the app's own message.
            "NGINX_MAX_BODY": f"{self.max_upload_mb + 1}m",
        }

    def render_nginx(self) -> Path:
        """Write nginx.conf and the rendered site file into the prefix; return nginx.conf's path."""
        if self.prefix is None:
            self.prefix = Path(tempfile.mkdtemp(prefix="qm-nginx-"))
        self.prefix.mkdir(parents=True, exist_ok=True)
        (self.prefix / "quartermaster.conf").write_text(render(TEMPLATE.read_text(), self.nginx_variables()))
        main = self.prefix / "nginx.conf"
        # Started as root, nginx's workers would run as nobody and could not reach root's private folders
        # (this prefix with its temporary files, the static files, a test's tmp dir). Loopback only: keep root.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main.write_text(MAIN_CONF.format(prefix=self.prefix, mime_types=MIME_TYPES, user=user))
        return main

    def ensure_certificate(self) -> None:
        """The development certificate (self-signed, 127.0.0.1 and localhost), made once."""
        if self.cert_dir is None:
            self.cert_dir = self.data_dir / "certs"
        if not (self.cert_dir / "cert.pem").exists() or not (self.cert_dir / "key.pem").exists():
            subprocess.run(["bash", str(DEV_CERT), str(self.cert_dir)], check=True, capture_output=True, timeout=60)

    def flask(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """A `flask` CLI command against this stack's settings."""
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.child_env(),
            input=input,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )

    def _spawn(self, name: str, command: list[str]) -> None:
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{name}.log").open("w")
        try:
            self.processes[name] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.child_env(),
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,  # Ctrl-C reaches us only; we stop each part the way it wants
            )
        finally:
            if output:
                output.close()

    def nginx_command(self, *extra: str) -> list[str]:
        assert self.prefix is not None
        return [
            nginx_binary(),
            "-p",
            str(self.prefix),
            "-e",
            str(self.prefix / "error.log"),
            "-c",
            str(self.prefix / "nginx.conf"),
            *extra,
        ]

    def start(self, *, migrate: bool = True, timeout: float = 60) -> Stack:
        """Certificate, migrations, then gunicorn, the consumers and nginx; return when a page answers through TLS."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        Path(self.child_env()["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        if self.web_port is None:
            self.web_port = 8000 if port_is_free(8000) else free_port()
        self.ensure_certificate()
        self.render_nginx()
        subprocess.run(self.nginx_command("-t", "-q"), check=True, capture_output=True, timeout=30)
        if migrate:
            self.flask("db", "upgrade")
        try:
            self._spawn("web", [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"])
            consumer = [str(BIN / "huey_consumer"), "worker.huey", "--workers", "2", "--worker-type", "thread"]
            for index in range(self.consumers):
                # Only the first consumer schedules periodic tasks; more would run each of them twice.
                self._spawn(f"worker{index + 1}", consumer if index == 0 else [*consumer, "-n"])
            self._spawn("nginx", self.nginx_command("-g", "daemon off;"))
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def dead(self) -> list[str]:
        """The parts that have exited, with their exit codes."""
        return [f"{name} (exit {p.returncode})" for name, p in self.processes.items() if p.poll() is not None]

    def logs(self) -> str:
        if self.log_dir is None:
            return ""
        parts = [f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))]
        if self.prefix and (self.prefix / "error.log").exists():
            parts.append(f"--- nginx error.log\n{(self.prefix / 'error.log').read_text()[-4000:]}")
        return "\n".join(parts)

    def wait_ready(self, timeout: float = 60) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.dead():
                raise RuntimeError(f"stopped while starting: {', '.join(self.dead())}\n{self.logs()}")
            try:
                with (
                    urllib.request.urlopen(f"{self.web_url}/readyz", timeout=2) as ready,
                    urllib.request.urlopen(f"{self.url}/healthz", timeout=2, context=context) as health,
                ):
                    if ready.status == 200 and health.status == 200:
                        return
            except OSError as error:
                last = error
            time.sleep(0.2)
        raise RuntimeError(f"the stack was not ready after {timeout} s ({last})\n{self.logs()}")

    def stop(self) -> None:
        """nginx -s quit, SIGTERM to gunicorn, SIGINT to the consumers; wait, then kill what lingers."""
        if "nginx" in self.processes and self.processes["nginx"].poll() is None:
            subprocess.run(self.nginx_command("-s", "quit"), capture_output=True, timeout=15)
        for name, process in self.processes.items():
            if process.poll() is None and name != "nginx":
                os.killpg(process.pid, signal.SIGTERM if name == "web" else signal.SIGINT)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--https-port", type=int, default=int(os.environ.get("STACK_HTTPS_PORT", "8443")))
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("STACK_HTTP_PORT", "8080")))
    parser.add_argument("--web-port", type=int, default=None, help="gunicorn's port (default 8000, or a free one)")
    args = parser.parse_args(argv)

    data_dir = Path(os.environ.get("DATA_DIR") or ROOT / "var").resolve()
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    max_upload = int(os.environ.get("QM_MAX_UPLOAD_MB") or 50)
    stack = Stack(
        data_dir=data_dir,
        https_port=args.https_port,
        http_port=args.http_port,
        web_port=args.web_port,
        max_upload_mb=max_upload,
        prefix=data_dir / "nginx",  # rewritten on every start; its error.log and access.log stay to read
        env={"DATABASE_URL": database_url, "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL},
    )
    for port in (args.https_port, args.http_port):
        if not port_is_free(port):
            print(f"Port {port} is in use (another `make stack`?). Pick others: STACK_HTTPS_PORT / STACK_HTTP_PORT.")
            return 2
    if database_url.startswith("postgresql"):
        ensure_database(database_url)

    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print("Migrating the database...", flush=True)
    try:
        stack.start()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or ""
        print(f"The stack did not start: {error}\n{detail}", file=sys.stderr)
        return 1
    print(
        f"\nQuartermaster on {stack.url} (self-signed certificate: your browser will ask once)\n"
        f"  plain HTTP {stack.http_url} redirects there; gunicorn listens on {stack.web_url}\n"
        f"  First admin: DATA_DIR={data_dir} DATABASE_URL={database_url} \\\n"
        "      .venv/bin/flask --app wsgi users ensure-admin\n"
        f"  nginx config and logs: {stack.prefix}\n"
        "Ctrl-C stops everything.",
        flush=True,
    )
    exit_code = 0
    while not stopping:
        if stack.dead():
            print(f"A part stopped: {', '.join(stack.dead())}; stopping the rest.", file=sys.stderr)
            exit_code = 1
            break
        time.sleep(0.5)
    print("Stopping nginx, gunicorn and the consumers...", flush=True)
    stack.stop()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
