"""An admin manages users in the browser: create, change role, deactivate, reset password."""

import re

from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.ops.models import AuditEvent
from tests.conftest import PASSWORD


def _user(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def _audit_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEvent.id)))


def test_admin_creates_a_user_who_can_then_sign_in(app, client, auth):
    admin = auth.login_as("admin")
    response = client.post("/admin/users", data={"email": "new.colleague@example.com", "role": "staff", "password": ""})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    password = re.search(r'data-testid="generated-password">([^<]+)<', page).group(1)
    created = _user(app, "new.colleague@example.com")
    assert created.role == "staff"

    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.target_id == str(created.id))).one()
        assert event.actor_id == admin.id
        assert event.after == {"email": "new.colleague@example.com", "role": "staff", "active": True}
        assert password not in str(event.after) + event.summary  # the audit log never holds passwords

    auth.logout()
    assert auth.login("new.colleague@example.com", password).status_code == 303


def test_creating_a_duplicate_or_bad_user_writes_nothing(app, client, auth, make_user):
    auth.login_as("admin")
    existing = make_user("viewer")
    before = _audit_count(app)
    duplicate = client.post("/admin/users", data={"email": existing.email.upper(), "role": "staff"})
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.get_data(as_text=True)
    bad_email = client.post("/admin/users", data={"email": "not an address", "role": "staff"})
    assert bad_email.status_code == 400
    bad_role = client.post("/admin/users", data={"email": "ok@example.com", "role": "superuser"})
    assert bad_role.status_code == 400
    short = client.post("/admin/users", data={"email": "ok@example.com", "role": "staff", "password": "short"})
    assert short.status_code == 400
    assert _user(app, "ok@example.com") is None
    assert _audit_count(app) == before


def test_changing_a_role_with_htmx_swaps_the_row(app, client, auth, make_user):
    auth.login_as("admin")
    user = make_user("viewer")
    response = client.post(f"/admin/users/{user.id}/role", data={"role": "staff"}, htmx=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="user-{user.id}"')
    assert "<html" not in body
    assert _user(app, user.email).role == "staff"


def test_changing_a_role_without_htmx_redirects_back(app, client, auth, make_user):
    auth.login_as("admin")
    user = make_user("viewer")
    response = client.post(f"/admin/users/{user.id}/role", data={"role": "admin"})
    assert response.status_code == 303
    assert _user(app, user.email).role == "admin"
    assert f"{user.email} is now admin." in client.get("/admin/users").get_data(as_text=True)


def test_the_last_admin_cannot_lose_the_role_or_be_deactivated(app, client, auth, make_user):
    admin = auth.login_as("admin")
    demote = client.post(f"/admin/users/{admin.id}/role", data={"role": "viewer"}, htmx=True)
    assert demote.status_code == 409
    assert "only active admin" in demote.get_data(as_text=True)
    assert _user(app, admin.email).role == "admin"

    other = make_user("admin")
    own = client.post(f"/admin/users/{admin.id}/deactivate", htmx=True)
    assert own.status_code == 400
    assert "your own account" in own.get_data(as_text=True)
    assert client.post(f"/admin/users/{other.id}/deactivate", htmx=True).status_code == 200
    assert _user(app, other.email).active is False


def test_deactivated_users_cannot_sign_in_and_can_be_reactivated(app, client, auth, make_user):
    auth.login_as("admin")
    user = make_user("staff")
    assert client.post(f"/admin/users/{user.id}/deactivate").status_code == 303
    auth.logout()
    assert auth.login(user.email).status_code == 401

    auth.login_as("admin")
    assert client.post(f"/admin/users/{user.id}/activate").status_code == 303
    auth.logout()
    assert auth.login(user.email).status_code == 303


def test_reset_password_shows_a_generated_password_once(app, client, auth, make_user):
    auth.login_as("admin")
    user = make_user("staff")
    response = client.post(f"/admin/users/{user.id}/password", data={"password": ""})
    assert response.status_code == 200
    password = re.search(r'data-testid="generated-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    auth.logout()
    assert auth.login(user.email, PASSWORD).status_code == 401
    assert auth.login(user.email, password).status_code == 303


def test_unknown_user_is_a_404_page(client, auth):
    auth.login_as("admin")
    response = client.get("/admin/users/999999/password")
    assert response.status_code == 404
    assert "There is no user number 999999." in response.get_data(as_text=True)


def test_users_csv_lists_every_user(client, auth, make_user):
    auth.login_as("admin")
    make_user("viewer", email="csv.person@example.com")
    response = client.get("/admin/users.csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == '"email","role","active","created_at","last_login_at"'  # every cell quoted
    assert any(line.startswith('"csv.person@example.com","viewer","true",') for line in lines)


def test_a_viewer_posting_to_an_admin_action_changes_nothing(app, client, auth, make_user):
    target = make_user("staff")
    auth.login_as("viewer")
    before = _audit_count(app)
    response = client.post(f"/admin/users/{target.id}/role", data={"role": "admin"})
    assert response.status_code == 403
    assert "needs the admin role" in response.get_data(as_text=True)
    assert _user(app, target.email).role == "staff"
    assert _audit_count(app) == before


def test_a_post_without_csrf_token_changes_nothing(app, client, auth, make_user):
    auth.login_as("admin")
    target = make_user("staff")
    before = _audit_count(app)
    response = client.post(f"/admin/users/{target.id}/role", data={"role": "admin"}, csrf=False, htmx=True)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#messages"
    assert "security token" in response.get_data(as_text=True)
    assert _user(app, target.email).role == "staff"
    assert _audit_count(app) == before
