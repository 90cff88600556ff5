"""Operators manage accounts with `flask users …`."""

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db


def _user(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_create_with_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["users", "create", "ops@example.com", "--role", "staff", "--password-stdin"],
        input="typed-on-stdin-123\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created ops@example.com (staff)." in result.output
    assert "typed-on-stdin-123" not in result.output
    client = app.test_client()
    token = client.get("/login").get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    data = {"email": "ops@example.com", "password": "typed-on-stdin-123", "csrf_token": token.split('"')[0]}
    assert client.post("/login", data=data).status_code == 303


def test_create_without_stdin_prints_a_generated_password(app, runner):
    result = runner.invoke(args=["users", "create", "gen@example.com"])
    assert result.exit_code == 0
    assert "Password (shown once): " in result.output
    assert _user(app, "gen@example.com").role == "viewer"


def test_list_set_role_and_deactivate(app, runner, make_user):
    make_user("admin", email="boss@example.com")
    make_user("viewer", email="clerk@example.com")
    assert runner.invoke(args=["users", "set-role", "clerk@example.com", "staff"]).exit_code == 0
    assert _user(app, "clerk@example.com").role == "staff"
    assert runner.invoke(args=["users", "deactivate", "clerk@example.com"]).exit_code == 0
    assert _user(app, "clerk@example.com").active is False
    listing = runner.invoke(args=["users", "list"]).output.splitlines()
    assert listing[0].split() == ["EMAIL", "ROLE", "ACTIVE", "LAST", "SIGN-IN"]
    assert listing[2].split()[:3] == ["clerk@example.com", "staff", "no"]


def test_errors_exit_non_zero_with_a_message(app, runner, make_user):
    make_user("admin", email="only.admin@example.com")
    unknown = runner.invoke(args=["users", "set-role", "ghost@example.com", "staff"])
    assert unknown.exit_code == 1
    assert "There is no user ghost@example.com." in unknown.output
    last = runner.invoke(args=["users", "deactivate", "only.admin@example.com"])
    assert last.exit_code == 1
    assert "only active admin" in last.output
    duplicate = runner.invoke(args=["users", "create", "only.admin@example.com", "--password-stdin"], input="x" * 12)
    assert duplicate.exit_code == 1
    weak = runner.invoke(args=["users", "create", "weak@example.com", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1
    assert "at least 10 characters" in weak.output


def test_ensure_admin_creates_one_admin_and_then_changes_nothing(app, runner, monkeypatch):
    monkeypatch.delenv("QM_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("QM_ADMIN_PASSWORD", raising=False)
    first = runner.invoke(args=["users", "ensure-admin"])
    assert first.exit_code == 0
    assert "Password (shown only this once): " in first.output
    second = runner.invoke(args=["users", "ensure-admin"])
    assert "shown only this once" not in second.output
    with app.app_context():
        assert len(db.session.scalars(select(User).where(User.role == "admin")).all()) == 1


def test_ensure_admin_takes_email_and_password_from_the_environment(app, runner, monkeypatch):
    monkeypatch.setenv("QM_ADMIN_EMAIL", "chief@example.com")
    monkeypatch.setenv("QM_ADMIN_PASSWORD", "from-the-env-123")
    result = runner.invoke(args=["users", "ensure-admin"])
    assert result.exit_code == 0
    assert "from-the-env-123" not in result.output
    assert _user(app, "chief@example.com").role == "admin"
