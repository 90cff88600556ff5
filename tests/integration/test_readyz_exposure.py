"""Issue 12, finding 4: /readyz tells strangers the verdict only, and their calls do not each run the probes.

Signed-in admins and callers inside the deployment (the rule /metrics uses: a direct request from a
loopback or private address, or the metrics token) get every detail, as the compose health checks
and tools/stack.py rely on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from app import create_app
from app.config import config_for_tests
from app.extensions import db

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}
DETAILS = {"checks", "model", "search", "workers"}


def test_a_stranger_gets_the_status_only(client):
    response = client.get("/readyz", environ_base=OUTSIDE)

    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_request_through_a_proxy_counts_as_from_outside(client):
    """Loopback, but forwarded: the proxy connected from inside on behalf of someone outside."""
    response = client.get("/readyz", headers={"X-Forwarded-For": "198.51.100.4"})

    assert response.json == {"status": "ok"}


def test_outside_the_deployment_only_a_signed_in_admin_gets_the_details(client, auth):
    auth.login_as("viewer")
    assert client.get("/readyz", environ_base=OUTSIDE).json == {"status": "ok"}
    auth.logout()
    auth.login_as("admin")

    response = client.get("/readyz", environ_base=OUTSIDE)

    assert response.status_code == 200
    assert set(response.json) >= DETAILS
    assert response.json["checks"] == {"database": "ok", "queue": "ok", "storage": "ok"}


def test_callers_inside_the_deployment_get_the_details(app, client):
    direct = client.get("/readyz", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert set(direct.json) >= DETAILS
    assert direct.json["workers"] == {"running": 0, "stale": 0, "schedulers": 0}

    app.config["METRICS_TOKEN"] = "a-metrics-token-for-tests"
    with_token = client.get(
        "/readyz", environ_base=OUTSIDE, headers={"Authorization": "Bearer a-metrics-token-for-tests"}
    )
    assert set(with_token.json) >= DETAILS
    wrong_token = client.get("/readyz", environ_base=OUTSIDE, headers={"Authorization": "Bearer nope"})
    assert wrong_token.json == {"status": "ok"}


def _down_app(tmp_path: Path):
    config = config_for_tests(
        tmp_path,
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        REDIS_URL="redis://127.0.0.1:1/0",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    return create_app(config)


def test_a_stranger_learns_nothing_of_what_fails(tmp_path: Path):
    app = _down_app(tmp_path)
    client = app.test_client()

    response = client.get("/readyz", environ_base=OUTSIDE)

    assert response.status_code == 503
    assert response.json == {"status": "unavailable"}
    body = response.get_data(as_text=True)
    for secret in ("OperationalError", "ConnectionError", "127.0.0.1", "nobody", "database", str(tmp_path)):
        assert secret not in body
    inside = client.get("/readyz")  # the operator still reads why
    assert inside.status_code == 503
    assert inside.json["checks"]["database"].startswith("OperationalError")


@pytest.mark.parametrize("calls", [4])
def test_strangers_calls_share_one_probe_for_a_few_seconds(app, client, calls):
    probes: list[str] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _executemany):
        if statement.strip().upper() == "SELECT 1":
            probes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        answers = [client.get("/readyz", environ_base=OUTSIDE).status_code for _ in range(calls)]
        inside = client.get("/readyz")  # details are probed afresh each time
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    assert answers == [200] * calls
    assert inside.json["checks"]["database"] == "ok"
    assert len(probes) == 2  # one for all the strangers' calls, one for the inside call
