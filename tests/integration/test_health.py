"""Operators' endpoints: /healthz says the process is up, /readyz checks every dependency."""

from pathlib import Path

from app import create_app
from app.config import config_for_tests


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_lists_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["checks"] == {"database": "ok", "queue": "ok", "storage": "ok"}
    # Workers are reported, not required: with no consumer running the web is still ready.
    assert response.json["workers"] == {"running": 0, "stale": 0, "schedulers": 0}


def test_readyz_reports_the_model_without_failing_for_it(app, client):
    assert client.get("/readyz").json["model"] == "no active model: documents wait for review"
    with app.app_context():
        from app.classify import categories, registry, retraining

        categories.ensure_default_categories()
        version = retraining.train_candidate(per_category=15, seed=2).candidate
        path = registry.models_dir() / version.filename
        version_id = version.id
    assert client.get("/readyz").json["model"].startswith(f"version {version_id}, macro-F1 ")
    path.unlink()
    missing = client.get("/readyz")
    assert missing.status_code == 200  # the web still serves; documents go to review
    assert "is missing" in missing.json["model"]


def test_readyz_is_503_naming_what_fails(tmp_path: Path):
    """An unreachable database and Redis each show up by name; storage still reports ok."""
    config = config_for_tests(
        tmp_path,
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        REDIS_URL="redis://127.0.0.1:1/0",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    app = create_app(config)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert response.json["status"] == "unavailable"
    assert checks["database"].startswith("OperationalError")
    assert checks["queue"].startswith("ConnectionError")
    assert checks["storage"] == "ok"
    assert response.json["workers"] == {"error": "database unavailable"}  # no counts without a database


def test_readyz_reports_unwritable_storage(tmp_path: Path):
    data_dir = tmp_path / "data"
    app = create_app(config_for_tests(data_dir, f"sqlite:///{tmp_path / 'x.db'}"))
    (data_dir / "blobs").write_text("a file where the blob folder should be")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["storage"] != "ok"


def test_every_response_carries_a_request_id(client):
    mine = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert generated.headers["X-Request-ID"] != "<script>"
    assert len(generated.headers["X-Request-ID"]) == 32


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
