"""The rules about users: creating them, roles, passwords, sign-in.

Plain functions for views, CLI and tests. Each one that changes something is
one transaction that also writes its audit row. Nothing here reads `request`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app import timezones
from app.auth.models import Role, User
from app.db_types import utcnow
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.ops import audit, metrics

MIN_PASSWORD_LENGTH = 10
# Checked when the email is unknown, so a wrong address costs the same time as
# a wrong password and response times do not reveal who has an account.
_DUMMY_HASH = generate_password_hash("not-a-real-password-" + secrets.token_hex(8))


class UserError(DomainError):
    """A user change was refused; the message says why."""


class UserNotFound(UserError, NotFound):
    """No user has that id or address."""


class UserExists(UserError, Conflict):
    """Another user has that address already."""


class LastAdmin(UserError, Conflict):
    """The change would leave no active admin."""


def normalize_email(raw: str) -> str:
    """The canonical form of an address, or UserError when it is not one."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise UserError(f"{raw.strip() or 'An empty value'} is not a valid email address: {error}") from None


def parse_role(raw: str) -> Role:
    try:
        return Role(raw.strip().lower())
    except ValueError:
        raise UserError(f"Unknown role {raw!r}: choose one of {', '.join(r.value for r in Role)}.") from None


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip() != password:
        raise UserError("A password cannot start or end with spaces.")


def generate_password() -> str:
    """A random password a person can type once and then change."""
    return secrets.token_urlsafe(12)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"There is no user number {user_id}.")
    return user


def find_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise UserNotFound(f"There is no user {email.strip()}.")
    return user


def _audit(action: str, user: User, summary: str, actor_id: int | None, **values: object) -> None:
    """The audit row of a change to `user` (before/after as keyword values), in the caller's transaction."""
    audit.record_about(user, action, summary, actor_id, **values)


def _update(user: User, action: str, summary: str, actor_id: int | None, **changes: object) -> User:
    """Set `changes` on `user`, audit it with before and after, commit."""
    before = _snapshot(user)
    for name, value in changes.items():
        setattr(user, name, value)
    _audit(action, user, summary, actor_id, before=before, after=_snapshot(user))
    db.session.commit()
    return user


def _snapshot(user: User) -> dict[str, object]:
    return {"email": user.email, "role": user.role, "active": user.active}


def create_user(email: str, role: Role | str, password: str, *, actor_id: int | None) -> User:
    """Create an active user with this role and password."""
    email = normalize_email(email)
    role = role if isinstance(role, Role) else parse_role(role)
    check_password_rules(password)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserExists(f"A user {email} already exists.")
    user = User(email=email, role=role.value, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.flush()
    _audit("user.create", user, f"Created {email} as {role.value}", actor_id, after=_snapshot(user))
    db.session.commit()
    return user


def _active_admins_other_than(user: User) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
    )


def _refuse_if_last_admin(user: User, doing: str) -> None:
    if user.role == Role.ADMIN.value and user.active and _active_admins_other_than(user) == 0:
        raise LastAdmin(f"{user.email} is the only active admin: make someone else admin before you {doing}.")


def set_role(user_id: int, role: Role | str, *, actor_id: int | None) -> User:
    """Give a user another role; the last active admin keeps theirs."""
    user = get_user(user_id)
    role = role if isinstance(role, Role) else parse_role(role)
    if user.role == role.value:
        return user
    if role != Role.ADMIN:
        _refuse_if_last_admin(user, "change their role")
    summary = f"Changed {user.email} from {user.role} to {role.value}"
    return _update(user, "user.set_role", summary, actor_id, role=role.value)


def set_active(user_id: int, active: bool, *, actor_id: int | None) -> User:
    """Deactivate (ending every session) or reactivate a user."""
    user = get_user(user_id)
    if user.active == active:
        return user
    if not active:
        if actor_id == user.id:
            raise UserError("You cannot deactivate your own account.")
        _refuse_if_last_admin(user, "deactivate them")
        user.session_version += 1
    summary = f"{'Reactivated' if active else 'Deactivated'} {user.email}"
    return _update(user, "user.activate" if active else "user.deactivate", summary, actor_id, active=active)


def set_password(user_id: int, password: str, *, actor_id: int | None) -> User:
    """Replace a user's password and sign out all their sessions."""
    check_password_rules(password)
    user = get_user(user_id)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    who = "their own" if actor_id == user.id else "the"
    _audit("user.set_password", user, f"Changed {who} password of {user.email}", actor_id)
    db.session.commit()
    return user


MAX_DISPLAY_NAME = 80


def set_display_name(user_id: int, raw: str | None) -> User:
    """A person sets what pages call them; empty goes back to their email's first part."""
    name = " ".join("".join(ch for ch in (raw or "") if ch.isprintable()).split()) or None
    if name is not None and len(name) > MAX_DISPLAY_NAME:
        raise UserError(f"A display name has at most {MAX_DISPLAY_NAME} characters.")
    user = get_user(user_id)
    if user.display_name == name:
        return user
    summary = f"{user.email} is now called {name!r}" if name else f"{user.email} cleared their display name"
    before = {"display_name": user.display_name}
    user.display_name = name
    _audit("user.display_name", user, summary, user_id, before=before, after={"display_name": name})
    db.session.commit()
    return user


def set_time_zone(user_id: int, raw: str | None) -> User:
    """A person chooses the zone pages show times in; empty goes back to "not chosen" (UTC until sign-in says)."""
    name = (raw or "").strip() or None
    if name is not None and not timezones.is_known_zone(name):
        raise UserError(f"{name[:40]!r} is not a time zone: choose one from the list, such as Europe/Berlin.")
    user = get_user(user_id)
    if user.time_zone == name:
        return user
    summary = f"{user.email} now reads times in {name}" if name else f"{user.email} cleared their time zone"
    return _set_time_zone(user, name, summary)


def adopt_browser_time_zone(user_id: int, raw: str | None) -> User:
    """At sign-in, take the browser's zone for a person who has not chosen one; a chosen zone is never replaced.

    The value comes from the sign-in form's hidden field (static/js/app.js fills it), so anyone may have
    typed anything there: a value that is not exactly a known zone is ignored, and so is the field when
    the browser ran no script (the person then reads UTC until they choose).
    """
    user = get_user(user_id)
    name = (raw or "").strip()
    if user.time_zone is not None or not timezones.is_known_zone(name):
        return user
    return _set_time_zone(user, name, f"{user.email} now reads times in {name} (from their browser at sign-in)")


def _set_time_zone(user: User, name: str | None, summary: str) -> User:
    before = {"time_zone": user.time_zone}
    user.time_zone = name
    _audit("user.time_zone", user, summary, user.id, before=before, after={"time_zone": name})
    db.session.commit()
    return user


def set_alert_emails(user_id: int, wanted: bool) -> User:
    """A person asks for (or stops) low-stock alert emails to their own address."""
    user = get_user(user_id)
    if user.alert_emails == wanted:
        return user
    user.alert_emails = wanted
    _audit(
        "user.alert_emails",
        user,
        f"{user.email} turned alert emails {'on' if wanted else 'off'}",
        user_id,
        after={"alert_emails": wanted},
    )
    db.session.commit()
    return user


def change_own_password(user_id: int, current: str, new: str) -> User:
    """A signed-in user replaces their password, proving they know the current one."""
    user = get_user(user_id)
    if not check_password_hash(user.password_hash, current):
        raise UserError("The current password is not right.")
    return set_password(user_id, new, actor_id=user_id)


# What a failed sign-in's address may look like to be written into the audit log as typed (after
# normalising): plain ASCII, starting with a letter or digit, nothing a spreadsheet or a log reader
# could take for a formula, markup or a second field. Anything else is logged as a fingerprint.
_PLAIN_ADDRESS = re.compile(
    r"[a-z0-9][a-z0-9._%+'-]{0,63}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)
MAX_LOGGED_ADDRESS = 254


def attempted_address(raw: str, normalized: str | None) -> str:
    """How a failed sign-in's address goes into the audit log: never verbatim, so it cannot carry a payload.

    Anyone, signed out, chooses this text, and admins read and export the audit log. A plausible
    address is kept in its normalised form (so "who is being guessed at" stays readable); anything
    else becomes a marker with a short keyed fingerprint: the same junk typed twice gives the same
    fingerprint, but it can be neither read back nor (without the secret key) guessed at, which
    matters when someone types a password into the address field.
    """
    if normalized and len(normalized) <= MAX_LOGGED_ADDRESS and _PLAIN_ADDRESS.fullmatch(normalized):
        return normalized
    key = str(current_app.config.get("SECRET_KEY") or "").encode()
    fingerprint = hmac.new(key, raw.strip().encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:10]
    return f"(not an email address, fingerprint {fingerprint})"


@dataclass(frozen=True)
class SignIn:
    user: User | None

    @property
    def ok(self) -> bool:
        return self.user is not None


def authenticate(email: str, password: str) -> SignIn:
    """Check a sign-in; the same answer for unknown, inactive and wrong password."""
    try:
        normalized = normalize_email(email)
    except UserError:
        normalized = None
    user = None
    if normalized is not None:
        user = db.session.scalar(select(User).where(User.email == normalized))
    password_ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not password_ok or not user.active:
        metrics.count_login_failure()
        audit.record(
            "auth.login_failed",
            target_type="user",
            target_id=user.id if user else None,
            summary=f"Failed sign-in as {attempted_address(email, normalized)}",
            actor_id=None,
        )
        db.session.commit()
        return SignIn(None)
    user.last_login_at = utcnow()
    audit.record(
        "auth.login", target_type="user", target_id=user.id, summary=f"{user.email} signed in", actor_id=user.id
    )
    db.session.commit()
    return SignIn(user)


def record_logout(user: User) -> None:
    audit.record(
        "auth.logout", target_type="user", target_id=user.id, summary=f"{user.email} signed out", actor_id=user.id
    )
    db.session.commit()


@dataclass(frozen=True)
class AdminAccount:
    user: User
    created: bool
    generated_password: str | None  # shown once when we made it up


def ensure_admin(email: str | None, password: str | None) -> AdminAccount:
    """Make sure an active admin exists.

    With no admin yet, creates `email` (default admin@example.com) with
    `password`, or a generated one that the caller shows once. With an admin
    already there, changes nothing: the environment never overwrites a
    password someone has since changed.
    """
    existing = db.session.scalar(
        select(User).where(User.role == Role.ADMIN.value, User.active.is_(True)).order_by(User.id)
    )
    if existing is not None:
        return AdminAccount(existing, created=False, generated_password=None)
    email = email or "admin@example.com"
    generated = None
    if not password:
        password = generated = generate_password()
    if db.session.scalar(select(User.id).where(User.email == normalize_email(email))) is not None:
        raise UserExists(
            f"{email} exists but is not an active admin: run `flask users set-role {email} admin` "
            "(and `flask users activate` if it was deactivated)."
        )
    user = create_user(email, Role.ADMIN, password, actor_id=None)
    return AdminAccount(user, created=True, generated_password=generated)
