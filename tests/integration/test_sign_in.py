"""Signing in and out, and the refusals that must look the same to an attacker."""

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.ops.models import AuditEvent
from tests.conftest import PASSWORD


def test_sign_in_goes_to_the_start_page_and_sign_out_ends_the_session(client, auth, make_user):
    user = make_user("staff")
    response = auth.login(user.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)

    response = auth.logout()
    assert response.status_code == 303
    assert client.get("/").status_code == 302  # back to sign-in


def test_sign_in_returns_to_the_page_asked_for(client, auth, make_user):
    user = make_user("admin")
    first = client.get("/admin/users")
    assert first.status_code == 302
    assert first.headers["Location"] == "/login?next=/admin/users"
    response = client.post("/login?next=/admin/users", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/admin/users"


def test_sign_in_never_redirects_off_site(client, make_user):
    user = make_user("staff")
    response = client.post("/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_email_is_case_insensitive(client, auth, make_user):
    user = make_user("viewer", email="Mixed.Case@Example.com")
    assert user.email == "mixed.case@example.com"
    assert auth.login("MIXED.case@example.COM").status_code == 303


def test_wrong_password_unknown_user_and_deactivated_user_get_the_same_answer(app, client, auth, make_user):
    user = make_user("staff")
    gone = make_user("staff")
    with app.app_context():
        db.session.get(User, gone.id).active = False
        db.session.commit()

    answers = [
        auth.login(user.email, "wrong-password-123"),
        auth.login("nobody@example.com", PASSWORD),
        auth.login(gone.email, PASSWORD),
    ]
    assert {a.status_code for a in answers} == {401}
    messages = {a.get_data(as_text=True).split('data-testid="login-error">')[1].split("<")[0] for a in answers}
    assert messages == {"That email and password do not match an active account."}
    assert client.get("/").status_code == 302  # still not signed in


def test_failed_and_successful_sign_ins_are_audited(app, auth, make_user):
    user = make_user("staff")
    auth.login(user.email, "wrong-password-123")
    auth.login(user.email)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["auth.login_failed", "auth.login"]


def test_repeated_failures_are_rate_limited(app, client, make_user):
    user = make_user("staff")
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = [
        client.post("/login", data={"email": user.email, "password": "wrong-password-123"}).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [401] * limit
    assert statuses[-1] == 429
    # Even the right password is refused until the window passes.
    blocked = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many sign-in attempts" in blocked.get_data(as_text=True)


def test_rate_limit_also_counts_per_account(app, make_user):
    """Guesses at one account from many addresses share one budget."""
    user = make_user("staff")
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = []
    for i in range(limit + 1):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        token = client.get("/login").get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
        token = token.split('"')[0]
        data = {"email": user.email, "password": "wrong-password-123", "csrf_token": token}
        statuses.append(client.post("/login", data=data).status_code)
    assert statuses[-1] == 429
    assert statuses[:limit] == [401] * limit


def test_sign_in_without_csrf_token_is_refused(client, make_user):
    user = make_user("staff")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, auth, make_user):
    user = make_user("staff")
    response = auth.login(user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_deactivating_a_user_ends_their_session(app, client, auth, make_user):
    user = auth.login_as("staff")
    assert client.get("/").status_code == 200
    admin = make_user("admin")
    with app.app_context():
        from app.auth import service

        service.set_active(user.id, False, actor_id=admin.id)
    assert client.get("/").status_code == 302


def test_a_password_reset_ends_existing_sessions(app, client, auth, make_user):
    user = auth.login_as("staff")
    with app.app_context():
        from app.auth import service

        service.set_password(user.id, "another-password-42", actor_id=None)
    assert client.get("/").status_code == 302
    assert auth.login(user.email, "another-password-42").status_code == 303


def test_people_change_their_own_password(client, auth):
    user = auth.login_as("viewer")
    wrong = client.post(
        "/account/password", data={"current": "not-it-at-all", "new": "brand-new-pass-1", "confirm": "brand-new-pass-1"}
    )
    assert wrong.status_code == 400
    assert "current password is not right" in wrong.get_data(as_text=True)
    ok = client.post(
        "/account/password", data={"current": PASSWORD, "new": "brand-new-pass-1", "confirm": "brand-new-pass-1"}
    )
    assert ok.status_code == 303
    assert client.get("/").status_code == 200  # this session goes on
    auth.logout()
    assert auth.login(user.email, PASSWORD).status_code == 401
    assert auth.login(user.email, "brand-new-pass-1").status_code == 303
