"""`flask users …`: manage accounts from the shell (first admin, scripts, lock-outs)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth import service
from app.auth.models import Role, User
from app.config import bootstrap_admin
from app.extensions import db

users_cli = AppGroup("users", help="Create and manage user accounts.")
ROLE_CHOICE = click.Choice([r.value for r in Role])


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return service.generate_password()


def _fail(error: service.UserError) -> None:
    raise click.ClickException(str(error))


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=ROLE_CHOICE, default=Role.VIEWER.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def create(email: str, role: str, password_stdin: bool) -> None:
    """Create a user; without --password-stdin a password is generated and printed once."""
    password = _read_password(password_stdin)
    try:
        user = service.create_user(email, role, password, actor_id=None)
    except service.UserError as error:
        _fail(error)
    click.echo(f"Created {user.email} ({user.role}).")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@users_cli.command("list")
def list_users() -> None:
    """Print every user with role, state and last sign-in."""
    users = db.session.scalars(select(User).order_by(User.email)).all()
    width = max([len(u.email) for u in users] + [5])
    click.echo(f"{'EMAIL':<{width}}  {'ROLE':<6}  {'ACTIVE':<6}  LAST SIGN-IN")
    for user in users:
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "never"
        click.echo(f"{user.email:<{width}}  {user.role:<6}  {'yes' if user.active else 'no':<6}  {last}")


def _change(email: str, change: Callable[[int], User]) -> User:
    """Apply a service change to the user with this email (as the system: no acting user), or fail with its message."""
    try:
        return change(service.find_by_email(email).id)
    except service.UserError as error:
        raise click.ClickException(str(error)) from None


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=ROLE_CHOICE)
def set_role(email: str, role: str) -> None:
    """Give EMAIL the role ROLE."""
    user = _change(email, lambda user_id: service.set_role(user_id, role, actor_id=None))
    click.echo(f"{user.email} is now {user.role}.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Stop EMAIL from signing in and end their sessions."""
    user = _change(email, lambda user_id: service.set_active(user_id, False, actor_id=None))
    click.echo(f"{user.email} is deactivated.")


@users_cli.command("activate")
@click.argument("email")
def activate(email: str) -> None:
    """Let a deactivated EMAIL sign in again."""
    user = _change(email, lambda user_id: service.set_active(user_id, True, actor_id=None))
    click.echo(f"{user.email} is active.")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def set_password(email: str, password_stdin: bool) -> None:
    """Replace EMAIL's password (generated and printed once without --password-stdin)."""
    password = _read_password(password_stdin)
    user = _change(email, lambda user_id: service.set_password(user_id, password, actor_id=None))
    click.echo(f"Password of {user.email} changed; their sessions are signed out.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@users_cli.command("ensure-admin")
def ensure_admin() -> None:
    """Make sure an active admin exists (QM_ADMIN_EMAIL / QM_ADMIN_PASSWORD, else generated)."""
    email, password = bootstrap_admin()
    try:
        account = service.ensure_admin(email, password)
    except service.UserError as error:
        _fail(error)
    if not account.created:
        click.echo(f"Admin account: {account.user.email}")
        return
    click.echo("=" * 64)
    click.echo(f"Admin account created: {account.user.email}")
    if account.generated_password:
        click.echo(f"Password (shown only this once): {account.generated_password}")
        click.echo("Sign in and change it under your name > Change password.")
    click.echo("=" * 64)
