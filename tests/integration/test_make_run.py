"""`make run` on an empty DATA_DIR: migrates, creates the admin, serves, and stops on Ctrl-C."""

import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run exited early"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {timeout} s")


def test_make_run_serves_the_embedded_default_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "QM_ENV"}},
        "DATA_DIR": str(tmp_path / "instance"),
        "PORT": str(port),
        "QM_ADMIN_EMAIL": "first.admin@example.com",
        "QM_ADMIN_PASSWORD": "first-admin-password",
    }
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/readyz", process)
        # Everything the embedded default keeps is under DATA_DIR.
        assert {p.name for p in (tmp_path / "instance").iterdir()} >= {"quartermaster.db", "queue.db", "secret_key"}

        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_page = browser.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
        form = {"email": "first.admin@example.com", "password": "first-admin-password", "csrf_token": token}
        home = browser.open(base + "/login", data=urllib.parse.urlencode(form).encode())
        assert home.geturl() == base + "/"
        assert "first.admin@example.com" in home.read().decode()
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        output, _ = process.communicate(timeout=30)
    assert "Admin account created: first.admin@example.com" in output
    assert "first-admin-password" not in output
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/healthz", timeout=2)
