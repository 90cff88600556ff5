"""Fixtures shared by every test folder.

- `app` is a fresh Quartermaster for one test, once on SQLite and once on
  PostgreSQL (each xdist worker has its own PostgreSQL database, migrated once
  and emptied after every test). The queue runs tasks immediately.
- `client` is a test client whose `post` fills in the CSRF token like a browser;
  `auth` signs in and out; `make_user` creates a user with a role.
- `live_server` (session) is the real thing on a free port: gunicorn and a
  Huey consumer on PostgreSQL and Redis, for the browser tests.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app.auth import service as users
from app.auth.models import Role, User
from app.config import config_for_tests
from app.extensions import db
from app.queue import huey
from tests.support import services
from tests.support.live_server import LiveServer, dedicated_server
from tests.support.smtp import SmtpServer

PASSWORD = "a-long-test-password"
_CSRF = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail loudly, before any test, when PostgreSQL or Redis does not answer."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    problems = services.unanswered_services()
    if problems:
        pytest.exit("The test suite needs real services:\n" + "\n".join(problems), returncode=3)


@pytest.fixture(scope="session")
def worker_suffix(worker_id: str) -> str:
    """Names this run's databases; QM_TEST_RUN keeps two runs on one machine out of each other's way."""
    suffix = "main" if worker_id == "master" else worker_id
    run = os.environ.get("QM_TEST_RUN", "")
    return f"{run}_{suffix}" if run else suffix


@pytest.fixture(scope="session")
def postgres_url(worker_suffix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database for this test worker, migrated from empty once."""
    name = f"{services.database_name(services.TEST_DATABASE_URL)}_qm_{worker_suffix}"
    url = services.recreate_database(name)
    app = create_app(config_for_tests(tmp_path_factory.mktemp("migrate"), url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield url
    services.drop_database(name)


def _empty_tables() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app with an empty database of each kind."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(config_for_tests(tmp_path / "data", url, QUEUE_NAME=f"qm-test-{uuid.uuid4().hex[:8]}"))
    huey.immediate = True
    with app.app_context():
        if request.param == "sqlite":
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        if request.param == "postgresql":
            _empty_tables()
        db.engine.dispose()
    huey.immediate = False


class Client(FlaskClient):
    """A test client that sends the page's CSRF token with every form post, as a browser does."""

    def csrf_token(self) -> str:
        page = super().get("/login")
        if page.status_code == 302:  # signed in: any page carries the token in its <meta>
            page = super().get("/")
        match = _CSRF.search(page.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post(self, *args, csrf: bool = True, htmx: bool = False, **kwargs):  # type: ignore[override]
        if csrf:
            data = dict(kwargs.pop("data", None) or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        if htmx:
            kwargs.setdefault("headers", {})["HX-Request"] = "true"
        return super().post(*args, **kwargs)

    def get(self, *args, htmx: bool = False, **kwargs):  # type: ignore[override]
        if htmx:
            kwargs.setdefault("headers", {})["HX-Request"] = "true"
        return super().get(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask):
    """Create a user: make_user("staff") or make_user("admin", email="x@example.com")."""

    def make(role: str | Role = Role.STAFF, email: str | None = None, password: str = PASSWORD) -> User:
        email = email or f"{Role(role).value}-{uuid.uuid4().hex[:6]}@example.com"
        with app.app_context():
            user = users.create_user(email, role, password, actor_id=None)
            db.session.refresh(user)  # load the committed row, then hand it to the test detached
            db.session.expunge(user)
            return user

    return make


class AuthActions:
    def __init__(self, client: Client, make_user) -> None:
        self._client = client
        self._make_user = make_user

    def login(self, email: str, password: str = PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def login_as(self, role: str | Role) -> User:
        """Create a user with this role and sign in as them."""
        user = self._make_user(role)
        response = self.login(user.email)
        assert response.status_code == 303, response.get_data(as_text=True)
        return user

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client: Client, make_user) -> AuthActions:
    return AuthActions(client, make_user)


@pytest.fixture(scope="session")
def live_smtp() -> Iterator[SmtpServer]:
    """The mail server the live server sends to: a real SMTP server (aiosmtpd) on loopback."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, worker_suffix: str, live_smtp: SmtpServer
) -> Iterator[LiveServer]:
    """The real app (gunicorn + Huey consumer) on PostgreSQL and Redis, with categories and a first model.

    Every classification waits for review (threshold 1.0), so browser tests find documents in the queue.
    Alert emails go to `live_smtp`, addressed to alerts@example.com.
    """
    name = f"{services.database_name(services.TEST_DATABASE_URL)}_qm_live_{worker_suffix}"
    with dedicated_server(
        tmp_path_factory.mktemp("live"),
        name,
        classify=True,
        QM_AUTO_ACCEPT_THRESHOLD="1.0",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(live_smtp.port),
        ALERT_RECIPIENTS="alerts@example.com",
    ) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """An S3-protocol server for this test worker: moto's emulator in its own process on loopback."""
    from tests.support.s3 import running_s3_server

    with running_s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


# ---------------------------------------------------------------- search on both backends (issue 17)

SEARCH_BACKENDS = ["sqlite", "postgresql", "postgres-search"]


@pytest.fixture(params=SEARCH_BACKENDS)
def search_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """`app` for the search tests: Whoosh on SQLite and on PostgreSQL, and PostgreSQL full-text search.

    A search test module overrides `app` with a fixture that returns `search_app`, to run on all three.
    """
    kind = request.param
    url = f"sqlite:///{tmp_path / 'test.db'}" if kind == "sqlite" else request.getfixturevalue("postgres_url")
    backend = {"SEARCH_BACKEND": "postgres"} if kind == "postgres-search" else {}
    app = create_app(config_for_tests(tmp_path / "data", url, QUEUE_NAME=f"qm-test-{uuid.uuid4().hex[:8]}", **backend))
    huey.immediate = True
    with app.app_context():
        if kind == "sqlite":
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        if kind != "sqlite":
            _empty_tables()
        db.engine.dispose()
    huey.immediate = False
