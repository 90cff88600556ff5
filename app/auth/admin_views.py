"""The admin's user pages: create, change role, deactivate, reset password."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import service
from app.auth.access import role_required
from app.auth.forms import CreateUserForm, ResetPasswordForm, RoleForm
from app.auth.models import Role, User
from app.csvio import csv_response
from app.extensions import db
from app.forms import ConfirmForm
from app.web import is_htmx, render_page

bp = Blueprint("users", __name__, url_prefix="/admin")


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only() -> None:
    """Every page here is for admins."""


def _users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.email)))


def _list_page(form: CreateUserForm | None = None, status: int = 200, **context):
    return (
        render_template(
            "users/users.html",
            users=_users(),
            form=form or CreateUserForm(),
            confirm=ConfirmForm(),
            **context,
        ),
        status,
    )


def _row(user: User, error: str | None = None, status: int = 200):
    """The user's table row for htmx, or back to the list for a plain form post."""
    if is_htmx():
        body = render_page("users/users.html", "user_row", user=user, confirm=ConfirmForm(), row_error=error)
        return body, status
    if error:
        flash(error, "error")
    return redirect(url_for("users.index"), code=303)


@bp.get("/users")
def index():
    """All users, active first, with the form to add one."""
    return _list_page()


@bp.get("/users.csv")
def export():
    """The user list as CSV."""
    rows = ((u.email, u.role, u.active, u.created_at, u.last_login_at) for u in _users())
    return csv_response("users.csv", ["email", "role", "active", "created_at", "last_login_at"], rows)


@bp.post("/users")
def create():
    """Add a user; a generated password is shown once on the answer page."""
    form = CreateUserForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    password = form.password.data or service.generate_password()
    try:
        user = service.create_user(form.email.data, form.role.data, password, actor_id=current_user.id)
    except service.UserError as error:
        form.email.errors.append(str(error))
        return _list_page(form, error.status_code)
    shown = None if form.password.data else password
    return _list_page(created=user, generated_password=shown, status=201)


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):
    """Change one user's role."""
    form = RoleForm()
    if not form.validate_on_submit():
        return _row(service.get_user(user_id), "Choose one of the listed roles.", 400)
    return _apply(
        user_id, lambda: service.set_role(user_id, form.role.data, actor_id=current_user.id), "is now {role}."
    )


def _set_active(user_id: int, active: bool):
    if not ConfirmForm().validate_on_submit():
        return _row(service.get_user(user_id), "The form expired; reload the page and try again.", 400)
    return _apply(
        user_id,
        lambda: service.set_active(user_id, active, actor_id=current_user.id),
        "is active again." if active else "is deactivated.",
    )


def _apply(user_id: int, change: Callable[[], User], done: str):
    """Make a change to one user and answer with their row: the new state, or the refusal in the row."""
    try:
        user = change()
    except service.UserError as error:
        db.session.rollback()
        return _row(service.get_user(user_id), str(error), error.status_code)
    if not is_htmx():
        flash(f"{user.email} {done.format(role=user.role)}", "success")
    return _row(user)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Stop a user from signing in and end their sessions."""
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/activate")
def activate(user_id: int):
    """Let a deactivated user sign in again."""
    return _set_active(user_id, True)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def reset_password(user_id: int):
    """Give a user a new password (typed or generated), shown once, and end their sessions."""
    user = service.get_user(user_id)
    form = ResetPasswordForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("users/reset_password.html", user=user, form=form), status
    password = form.password.data or service.generate_password()
    service.set_password(user.id, password, actor_id=current_user.id)
    shown = None if form.password.data else password
    return render_template("users/reset_password.html", user=user, form=None, done=True, generated_password=shown)
