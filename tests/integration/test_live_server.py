"""The real processes: rate limits shared by gunicorn workers through Redis, JSON logs with request ids."""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.support import services
from tests.support.live_server import dedicated_server


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, worker_suffix):
    """A live server (two gunicorn workers, Redis) allowing five sign-in attempts a minute."""
    name = f"{services.database_name(services.TEST_DATABASE_URL)}_qm_strict_{worker_suffix}"
    with dedicated_server(tmp_path_factory.mktemp("strict"), name, QM_LOGIN_RATE_LIMIT="5 per minute") as server:
        yield server


def _attempt(base: str, email: str, password: str) -> int:
    """One sign-in through a fresh cookie session, as a script guessing passwords would."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    try:
        return opener.open(base + "/login", data=data).status
    except urllib.error.HTTPError as error:
        return error.code


def test_sign_in_limit_holds_across_gunicorn_workers(strict_server):
    """Counts live in Redis: spreading attempts over both worker processes does not reset them."""
    statuses = [_attempt(strict_server.url, strict_server.users["staff"], "wrong-guess-123") for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    # The right password is refused too, until the minute has passed.
    assert _attempt(strict_server.url, strict_server.users["staff"], strict_server.password) == 429


def test_log_lines_are_json_with_the_request_id(strict_server):
    request = urllib.request.Request(strict_server.url + "/healthz", headers={"X-Request-ID": "trace-me-4711"})
    with urllib.request.urlopen(request) as response:
        assert response.headers["X-Request-ID"] == "trace-me-4711"
    log = strict_server.log_dir / "web.log"
    for _ in range(50):
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        mine = [line for line in lines if line.get("request_id") == "trace-me-4711"]
        if mine:
            break
        time.sleep(0.1)
    assert mine, log.read_text()[-2000:]
    assert mine[0]["path"] == "/healthz"
    assert mine[0]["status"] == 200
    assert mine[0]["logger"] == "quartermaster.access"
