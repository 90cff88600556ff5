"""Sessions end when they should: at sign-out (on the server), after QM_SESSION_MAX_HOURS, and after
QM_SESSION_MINUTES without the person doing anything (timers on an open page are not the person)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.auth.models import UserSession
from app.config import ConfigError, Settings
from app.db_types import utcnow
from app.extensions import db
from tests.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')
POLL = {"X-QM-Background": "true"}


def _let_time_pass(app, user_id: int, elapsed: timedelta) -> None:
    """Move this user's sessions `elapsed` into the past, as if that much time had gone by since."""
    with app.app_context():
        for record in db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)):
            record.created_at -= elapsed
            record.last_seen_at -= elapsed
        db.session.commit()


def _last_seen(app, user_id: int):
    with app.app_context():
        return db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user_id))


def _signed_out(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, client, auth):
    user = auth.login_as("staff")
    copied = client.get_cookie("qm_session").value
    thief = app.test_client()
    thief.set_cookie("qm_session", copied)
    assert thief.get("/").status_code == 200  # the copy works while the session lives
    # The same person signed in on a second computer too.
    laptop = app.test_client()
    token = _CSRF.search(laptop.get("/login").get_data(as_text=True)).group(1)
    assert (
        laptop.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}).status_code == 303
    )

    assert auth.logout().status_code == 303

    assert _signed_out(thief.get("/"))
    assert _signed_out(thief.get("/account"))
    assert thief.get("/notifications/bell", htmx=True).status_code == 401
    assert laptop.get("/").status_code == 200  # signing out here does not end the other sign-in


def test_a_session_older_than_qm_session_max_hours_is_refused_even_while_active(app, client, auth):
    user = auth.login_as("viewer")
    max_age = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    assert max_age == timedelta(hours=12)  # the default

    # Busy all day: a page view every few minutes, never idle.
    _let_time_pass(app, user.id, max_age - timedelta(minutes=5))
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=utcnow()))
        db.session.commit()
    assert client.get("/").status_code == 200
    _let_time_pass(app, user.id, timedelta(minutes=4))
    assert client.get("/").status_code == 200

    _let_time_pass(app, user.id, timedelta(minutes=2))  # now 12 h 1 min after signing in
    assert _signed_out(client.get("/"))
    assert client.get("/notifications/bell", htmx=True).status_code == 401

    assert auth.login(user.email).status_code == 303  # signing in again starts a new clock
    assert client.get("/").status_code == 200


def test_background_polling_alone_does_not_keep_an_idle_session_alive(app, client, auth):
    user = auth.login_as("staff")
    idle = app.permanent_session_lifetime
    _let_time_pass(app, user.id, idle - timedelta(minutes=2))
    seen = _last_seen(app, user.id)

    # The open start page polls: the bell (marked by a header) and the status card (known by its element).
    for _ in range(3):
        bell = client.get("/notifications/bell", htmx=True, headers=dict(POLL))
        assert bell.status_code == 200
        assert "Set-Cookie" not in bell.headers  # the cookie is not renewed either
        assert client.get("/status", htmx=True, headers={"HX-Trigger": "status-card"}).status_code == 200
    assert _last_seen(app, user.id) == seen

    _let_time_pass(app, user.id, timedelta(minutes=3))  # idle one minute longer than allowed
    refused = client.get("/notifications/bell", htmx=True, headers=dict(POLL))
    assert refused.status_code == 401
    assert refused.headers["HX-Redirect"].startswith("/login")
    assert _signed_out(client.get("/"))


def test_a_page_view_keeps_the_session_alive(app, client, auth):
    user = auth.login_as("staff")
    idle = app.permanent_session_lifetime
    _let_time_pass(app, user.id, idle - timedelta(minutes=2))

    page = client.get("/stock")
    assert page.status_code == 200
    assert "qm_session=" in page.headers["Set-Cookie"]

    _let_time_pass(app, user.id, timedelta(minutes=3))  # past the idle limit counted from sign-in
    assert client.get("/").status_code == 200

    # Clicking "Check again" on the status card is a person's action too, unlike the card's own timer.
    auth.logout()
    auth.login(user.email)  # a new session: the first one is near QM_SESSION_MAX_HOURS by now
    _let_time_pass(app, user.id, idle - timedelta(minutes=2))
    assert client.get("/status", htmx=True).status_code == 200
    _let_time_pass(app, user.id, timedelta(minutes=3))
    assert client.get("/").status_code == 200


def test_sign_in_starts_a_new_session_with_a_new_csrf_token(client, make_user):
    user = make_user("staff")
    token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    with client.session_transaction() as before:
        before["planted"] = "carried over from before sign-in"
        csrf_before = before["csrf_token"]
    cookie_before = client.get_cookie("qm_session").value

    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})

    assert response.status_code == 303
    assert client.get_cookie("qm_session").value != cookie_before
    assert client.get("/").status_code == 200
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after["csrf_token"] != csrf_before


def test_qm_session_max_hours_is_read_from_the_environment(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "QM_SESSION_MAX_HOURS": "4"})
    assert settings.flask_config()["SESSION_MAX_HOURS"] == 4
    assert Settings.from_env({"DATA_DIR": str(tmp_path)}).session_max_hours == 12
    with pytest.raises(ConfigError, match="QM_SESSION_MAX_HOURS must be at least 1"):
        Settings.from_env({"DATA_DIR": str(tmp_path), "QM_SESSION_MAX_HOURS": "0"})


def test_the_pages_that_poll_mark_their_polls_as_background(client, auth):
    auth.login_as("admin")
    marker = """hx-headers='{"X-QM-Background": "true"}'"""
    start = client.get("/").get_data(as_text=True)
    bell = start.split(' id="bell"')[1].split(">")[0]
    assert marker in bell
    system = client.get("/admin/system").get_data(as_text=True)
    section = system.split(' id="system-status"')[1].split(">")[0]
    assert marker in section
