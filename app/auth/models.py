"""The user table and the role ladder."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class Role(StrEnum):
    """What a person may do; each role includes everything below it."""

    VIEWER = "viewer"  # read, search, export
    STAFF = "staff"  # also upload, review, keep stock
    ADMIN = "admin"  # also users, categories, models, settings

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role is at least `needed`."""
        return self.rank >= needed.rank


class User(UserMixin, db.Model):
    __tablename__ = "users"
    audit_kind = "user"  # what the audit log calls a row of this table
    __table_args__ = (CheckConstraint("role IN ('viewer', 'staff', 'admin')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password reset and deactivation: it is part of the session's
    # user id, so every session signed in before the change stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Asked on their account page to be emailed when stock runs low.
    alert_emails: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What greetings and lists call the person; empty: the part of the email before the @.
    display_name: Mapped[str | None] = mapped_column(String(80))
    # The IANA zone pages show times in (Europe/Berlin); empty: not chosen yet, UTC until the browser or
    # the person says. Times are stored in UTC whatever this says.
    time_zone: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def name(self) -> str:
        """What to call this person on a page: their display name, else their email's first part."""
        return self.display_name or self.email.split("@")[0]

    def can(self, needed: Role) -> bool:
        """True when this user's role is at least `needed`."""
        return self.role_enum.allows(needed)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class UserSession(db.Model):
    """One signed-in browser session, kept on the server so that it can be ended there.

    The session cookie is signed but lives in the browser: without this row, a
    copy of it would stay valid after sign-out. The cookie carries a random
    token; the row is keyed by the token's SHA-256, so the table alone does not
    give anyone a usable session. Rows past their lifetime are deleted at the
    user's next sign-in.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last request the person made themselves; background polling does not move it.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<UserSession user={self.user_id} created={self.created_at:%Y-%m-%d %H:%M}>"
