"""Who may open what: the sign-in guard, the role decorator, session loading.

Every endpoint needs a signed-in, active user unless it is marked `@public`;
the guard runs before every request, so a route added later is protected
without anyone remembering to. Roles are checked with `@role_required`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from app.auth.models import Role, User
from app.extensions import db, login_manager
from app.web import is_htmx

PUBLIC_ATTRIBUTE = "_qm_public"


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as open to anyone, signed in or not."""
    setattr(view, PUBLIC_ATTRIBUTE, True)
    return view


def is_public_endpoint(endpoint: str | None) -> bool:
    if endpoint is None:  # no route matched: the 404 handler answers
        return True
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, PUBLIC_ATTRIBUTE, False))


def role_required(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow the view only to users whose role is at least `role`; others get 403."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(role):
                abort(403, description=f"This needs the {role.value} role; you are signed in as {current_user.role}.")
            return view(*args, **kwargs)

        return guarded

    return decorate


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _login_url_for_current_page() -> str:
    # For htmx the page the person is on is in HX-Current-URL, not request.path.
    here = request.full_path.rstrip("?") if request.method == "GET" else None
    if is_htmx():
        current = request.headers.get("HX-Current-URL", "")
        parts = urlsplit(current)
        here = parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else None
    return url_for("auth.login", next=safe_next(here))


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    """No session (or an expired one): send the whole page to sign-in."""
    login_url = _login_url_for_current_page()
    if is_htmx():
        # Never swap a login form into a fragment: make htmx load the page.
        response = current_app.response_class("", status=401)
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)


@login_manager.user_loader
def _load_user(session_user_id: str) -> User | None:
    """The session's user, unless deactivated or signed out by a password change."""
    user_id, _, version = session_user_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @app.before_request
    def _require_sign_in() -> Any:
        if is_public_endpoint(request.endpoint) or current_user.is_authenticated:
            return None
        return login_manager.unauthorized()
