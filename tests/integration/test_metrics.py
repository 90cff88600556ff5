"""/metrics: Prometheus text a scraper can parse, figures that follow what happened, and only for insiders."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from app.stock.ledger import add_stock, remove_stock
from app.stock.products import ProductData, create_product

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
INSIDE = {"REMOTE_ADDR": "10.0.3.7"}
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by name and labels (parsing it is itself the format check)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client, **kwargs) -> dict:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_counters_move_with_requests_by_endpoint_not_path(client):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page/123").status_code == 404
    after = scrape(client)

    healthz = {"endpoint": "ops.healthz", "method": "GET", "status": "200"}
    assert (
        value(after, "quartermaster_http_requests_total", **healthz)
        - value(before, "quartermaster_http_requests_total", **healthz)
        == 3
    )
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert (
        value(after, "quartermaster_http_requests_total", **unmatched)
        - value(before, "quartermaster_http_requests_total", **unmatched)
        == 1
    )
    # Latency is a histogram per endpoint; a raw path never becomes a label.
    count = "quartermaster_http_request_duration_seconds_count"
    assert value(after, count, endpoint="ops.healthz") - value(before, count, endpoint="ops.healthz") == 3
    assert not any("/no/such" in str(labels) for _, labels in after)


def test_login_failures_are_counted(client, make_user):
    user = make_user("staff")
    before = value(scrape(client), "quartermaster_login_failures_total")
    response = client.post("/login", data={"email": user.email, "password": "not-the-password"})
    assert response.status_code == 401
    assert value(scrape(client), "quartermaster_login_failures_total") - before == 1


def test_database_gauges_show_real_numbers(app, client, auth, monkeypatch):
    # The index is not reachable (the drain cannot run), so changes wait in the outbox.
    monkeypatch.setattr("app.search.outbox.request_drain", lambda: None)
    empty = scrape(client)
    assert value(empty, "quartermaster_documents", state="processed") == 0
    assert value(empty, "quartermaster_stock_alerts_open") == 0
    assert value(empty, "quartermaster_metrics_source_up", source="database") == 1
    assert value(empty, "quartermaster_metrics_source_up", source="queue") == 1
    assert value(empty, "quartermaster_queue_depth") == 0
    assert value(empty, "quartermaster_workers", state="running") == 0

    auth.login_as("staff")
    for name, body in (("a.txt", b"alpha pallets"), ("b.txt", b"bravo crates")):
        response = client.post(
            "/documents/upload",
            data={"files": (io.BytesIO(body), name)},
            content_type="multipart/form-data",
            htmx=True,
        )
        assert response.status_code == 201
    with app.app_context():
        for sku in ("TEA-1", "TEA-2"):
            data = ProductData.clean(sku=sku, name=sku, low_stock_threshold=5, reorder_quantity=10)
            product = create_product(data, user_id=None)
            add_stock(product.id, 10, user_id=None)
            remove_stock(product.id, 8, user_id=None)  # 2 left, at or below 5: an alert opens

    found = scrape(client)
    assert value(found, "quartermaster_documents", state="processed") == 2
    assert value(found, "quartermaster_documents", state="queued") == 0
    with app.app_context():
        from app.search.indexer import outbox_backlog
        from app.stock.alerts import open_alert_count

        backlog, _ = outbox_backlog()
        alerts = open_alert_count()
    assert backlog >= 2  # each processed document waits for the indexer
    assert value(found, "quartermaster_search_outbox_backlog") == backlog
    assert alerts == 2
    assert value(found, "quartermaster_stock_alerts_open") == 2
    # Pipeline figures recorded by the steps that ran inline (immediate queue).
    assert value(found, "quartermaster_pipeline_step_duration_seconds_count", step="extract") >= 2
    assert value(found, "quartermaster_pipeline_step_duration_seconds_count", step="classify") >= 2


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.3.7", "172.18.0.5", "192.168.1.20"])
def test_requests_from_inside_the_deployment_may_read(client, address):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == 200


def test_requests_from_outside_or_through_a_proxy_are_refused(client):
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 403
    # A proxy connects from loopback but forwards someone from outside: refused.
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403
    assert client.get("/metrics", headers={"X-Real-IP": "203.0.113.9"}).status_code == 403
    # Refused answers carry no figures.
    assert b"quartermaster_" not in proxied.get_data()


def test_the_token_opens_it_from_anywhere(app, client):
    app.config["METRICS_TOKEN"] = "scrape-token-123"
    headers = {"Authorization": "Bearer scrape-token-123", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", environ_base=OUTSIDE, headers=headers).status_code == 200
    wrong = {"Authorization": "Bearer guessed", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", environ_base=OUTSIDE, headers=wrong).status_code == 403
    # Inside the deployment the token is not needed.
    assert client.get("/metrics", environ_base=INSIDE).status_code == 200


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


HEALTHZ = {"endpoint": "ops.healthz", "method": "GET", "status": "200"}


def _per_process(folder) -> dict[str, float]:
    """/healthz answers counted by each gunicorn worker, read from each process's own file."""
    counts = {}
    for path in folder.glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            for sample in family.samples:
                if sample.name == "quartermaster_http_requests_total" and sample.labels == HEALTHZ:
                    counts[path.name] = sample.value
    return counts


def test_gunicorn_workers_are_summed_in_one_scrape(live_server):
    """Two gunicorn workers each answer some requests; any one scrape counts all of them."""
    folder = live_server.data_dir / "prometheus"
    before_total = value(samples(_get(live_server.url + "/metrics")), "quartermaster_http_requests_total", **HEALTHZ)
    before = _per_process(folder)
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while sent < 400:  # until both workers have answered some (the kernel spreads connections)
            list(pool.map(lambda _: _get(live_server.url + "/healthz"), range(40)))
            sent += 40
            moved = {name for name, count in _per_process(folder).items() if count > before.get(name, 0)}
            if len(moved) >= 2:
                break
    assert len(moved) >= 2, f"one worker answered every request: {_per_process(folder)}"
    for _ in range(4):  # whichever worker answers the scrape, it reports the sum of both
        found = samples(_get(live_server.url + "/metrics"))
        assert value(found, "quartermaster_http_requests_total", **HEALTHZ) - before_total == sent

    refused = urllib.request.Request(live_server.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(refused, timeout=10)
    assert error.value.code == 403
    error.value.close()


def test_the_grafana_dashboard_reads_only_metrics_we_export(app, client):
    """Every series the dashboard queries is one /metrics serves (a renamed metric would blank a panel)."""
    from app.db_types import utcnow
    from app.ops import workers

    with app.app_context():  # a consumer's heartbeat, so the heartbeat gauge is present too
        workers.write_heartbeat(
            workers.WorkerIdentity("host", 1, app.config["QUEUE_NAME"], True, 1, "thread", utcnow())
        )
    exported = {family.name for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))}
    dashboard = json.loads(DASHBOARD.read_text())
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queried |= set(re.findall(r"quartermaster_[a-z_]+", target["expr"]))
    assert len(queried) >= 15
    suffixes = re.compile(r"_(total|bucket|count|sum)$")
    assert {suffixes.sub("", name) for name in queried} <= exported
    assert value(scrape(client), "quartermaster_workers", state="running") == 1
