"""Who may open what: the sign-in guard, the role decorator, sessions.

Every endpoint needs a signed-in, active user unless it is marked `@public`;
the guard runs before every request, so a route added later is protected
without anyone remembering to. Roles are checked with `@role_required`.

A signed-in session is a row in `user_sessions` as well as a cookie: the row
is what sign-out ends, what the absolute lifetime (QM_SESSION_MAX_HOURS) and
the idle timeout (QM_SESSION_MINUTES) are measured on. Requests a page makes
by itself on a timer (the bell, the system page) are "background": they do
not count as activity, so an open tab no longer keeps a session alive.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete, or_

from app.auth.models import Role, User, UserSession
from app.db_types import utcnow
from app.extensions import db, login_manager
from app.web import is_htmx

PUBLIC_ATTRIBUTE = "_qm_public"
# The session key that holds the random token naming this session's `user_sessions` row.
SESSION_ID_KEY = "_qm_sid"
# Sent (via hx-headers) by elements that poll on a timer: such requests are not activity.
BACKGROUND_HEADER = "X-QM-Background"
# Polling elements in templates that do not send BACKGROUND_HEADER: endpoint -> the start of the polling
# element's id, which htmx sends as HX-Trigger (a "Check again" button without an id is a person's click).
POLLING_ELEMENTS = {"main.status": "status-card", "documents.status": "doc-status-", "models.run": "training-run"}
# last_seen_at is written at most this often per session (or a tenth of the idle limit, if shorter), not on
# every request: it is a database write.
TOUCH_EVERY = timedelta(minutes=1)


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


def is_background_request() -> bool:
    """True for a GET the page made by itself on a timer, which must not count as the person's activity.

    Only GETs: a form inside a polled element inherits its hx-headers, and a
    submitted form is activity whatever header it carries. A client that lies
    here only shortens its own session.
    """
    if request.method != "GET":
        return False
    if request.headers.get(BACKGROUND_HEADER) == "true":
        return True
    element = POLLING_ELEMENTS.get(request.endpoint or "")
    return element is not None and is_htmx() and request.headers.get("HX-Trigger", "").startswith(element)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _idle_limit() -> timedelta:
    return current_app.permanent_session_lifetime


def _max_age() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def _is_live(record: UserSession, now: datetime) -> bool:
    """Not signed out, younger than QM_SESSION_MAX_HOURS, and used within QM_SESSION_MINUTES."""
    return (
        record.revoked_at is None and now - record.created_at < _max_age() and now - record.last_seen_at < _idle_limit()
    )


def _current_record() -> UserSession | None:
    token = session.get(SESSION_ID_KEY)
    if not isinstance(token, str) or not token:
        return None
    return db.session.get(UserSession, _token_digest(token))


def start_session(user: User) -> None:
    """Sign `user` in on a brand-new session; nothing of the session before it is carried over.

    Clearing the old session defeats session fixation and gives a new CSRF
    token; the old session's row, if any (a password change), is ended.
    """
    now = utcnow()
    previous = _current_record()
    if previous is not None and previous.revoked_at is None:
        previous.revoked_at = now
    # Sessions of this person that can never be used again: no reason to keep them.
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(
                UserSession.revoked_at.is_not(None),
                UserSession.created_at < now - _max_age(),
                UserSession.last_seen_at < now - _idle_limit(),
            ),
        )
    )
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=_token_digest(token), user_id=user.id, created_at=now, last_seen_at=now))
    db.session.commit()
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the token per request; the next one is new
    session[SESSION_ID_KEY] = token
    session.permanent = True  # the cookie also expires after QM_SESSION_MINUTES without activity
    login_user(user)


def end_session() -> None:
    """Sign out on the server too: this session's row is revoked, so a copied cookie is worthless."""
    record = _current_record()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        db.session.commit()
    logout_user()
    session.clear()


@login_manager.user_loader
def _load_user(session_user_id: str) -> User | None:
    """The session's user, unless signed out, expired, deactivated or signed out by a password change."""
    user_id, _, version = session_user_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    record = _current_record()
    if record is None or record.user_id != int(user_id) or not _is_live(record, utcnow()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    g.qm_user_session = record
    return user


def _note_activity() -> None:
    """Move the session's idle clock, unless the page only polled."""
    record: UserSession | None = g.get("qm_user_session")
    if record is None or is_background_request():
        return
    now = utcnow()
    if now - record.last_seen_at >= min(TOUCH_EVERY, _idle_limit() / 10):
        record.last_seen_at = now
        db.session.commit()


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a background poll does not renew the cookie.

    The cookie's signature carries its own time and Flask refuses it after
    QM_SESSION_MINUTES; re-sending it on every poll would keep it young forever.
    """

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if not session.modified and is_background_request():
            return False
        return super().should_set_cookie(app, session)


def _refuse_signed_out() -> Any:
    """Not signed in and not a public page: off to sign-in, before anything reads the request body.

    Registered ahead of CSRF protection, which parses a POST's form: an
    anonymous client trickling a body must not hold a worker thread. The body
    left unread is gunicorn's to discard: its gthread worker drains at most
    64 kB for at most 5 s, then closes the connection.
    """
    return login_manager.unauthorized()


def init_app(app: Flask) -> None:
    """Sign-in guard and sessions. Call before `csrf.init_app`, so the guard runs before CSRF reads a body."""
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.jinja_env.globals["Role"] = Role  # templates show or hide what each role may do
    app.session_interface = SessionInterface()

    @app.before_request
    def _require_sign_in() -> Any:
        if is_public_endpoint(request.endpoint):
            return None
        if not current_user.is_authenticated:
            return _refuse_signed_out()
        _note_activity()
        return None
