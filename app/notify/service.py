"""The rules of notices: who gets one, reading them, and emails that leave through an outbox.

`notify_users` and `queue_email` only add rows to the caller's transaction, so a
notice exists exactly when the change that caused it committed. `deliver_due`
sends queued emails after the fact, one worker per email at a time (a claim
with a lease), and on failure records the SMTP error and tries again later with
back-off; a sent email is never sent again by this code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import func, or_, select, update

from app.auth.models import Role, User
from app.db_types import utcnow
from app.extensions import db, mail
from app.notify.models import Notification, OutgoingEmail

log = logging.getLogger(__name__)

# A worker holds an email this long while it talks to the mail server; a worker that died
# mid-send frees it by expiry (the SMTP timeout is far shorter).
CLAIM_SECONDS = 300
MAX_BACKOFF_SECONDS = 3600


class NotificationNotFound(LookupError):
    """No such notice for this person."""


# ---------------------------------------------------------------- in the app


def people_to_notify() -> list[int]:
    """Who sees stock notices in the app: every active staff member and admin."""
    roles = [Role.STAFF.value, Role.ADMIN.value]
    return list(db.session.scalars(select(User.id).where(User.active.is_(True), User.role.in_(roles))))


def notify_users(
    user_ids: Iterable[int], *, kind: str, dedupe_key: str, title: str, body: str | None, link: str | None
) -> int:
    """Add one notice per person to the current transaction; a cause already noticed is skipped."""
    user_ids = list(user_ids)
    if not user_ids:
        return 0
    already = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.dedupe_key == dedupe_key, Notification.user_id.in_(user_ids)
            )
        )
    )
    fresh = [uid for uid in user_ids if uid not in already]
    for user_id in fresh:
        db.session.add(
            Notification(user_id=user_id, kind=kind, dedupe_key=dedupe_key, title=title[:200], body=body, link=link)
        )
    return len(fresh)


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def notifications_query(user_id: int, *, unread_only: bool = False):
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def mark_read(notification_id: int, *, user_id: int) -> Notification:
    """Mark one of this person's notices read (again is fine)."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.user_id != user_id:
        raise NotificationNotFound(f"You have no notification number {notification_id}.")
    if notice.read_at is None:
        notice.read_at = utcnow()
    db.session.commit()
    return notice


def mark_all_read(*, user_id: int) -> int:
    """Mark every unread notice of this person read; how many there were."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


# ---------------------------------------------------------------- email


def email_enabled() -> bool:
    """Email goes out only when a mail server is configured."""
    return bool(current_app.config.get("MAIL_SERVER"))


def alert_recipients() -> list[str]:
    """ALERT_RECIPIENTS and every active person who asked for alert emails, each once, in a stable order."""
    configured = list(current_app.config.get("ALERT_RECIPIENTS") or [])
    opted_in = db.session.scalars(
        select(User.email).where(User.active.is_(True), User.alert_emails.is_(True)).order_by(User.email)
    )
    seen: dict[str, str] = {}
    for address in [*configured, *opted_in]:
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def queue_email(
    *, kind: str, recipients: Sequence[str], subject: str, text_body: str, html_body: str | None
) -> OutgoingEmail:
    """Add an email to the outbox in the current transaction; a worker sends it after the commit."""
    email = OutgoingEmail(
        kind=kind,
        recipients=list(recipients),
        subject=subject[:300],
        text_body=text_body,
        html_body=html_body,
        next_attempt_at=utcnow(),
    )
    db.session.add(email)
    db.session.flush()
    return email


def backoff_seconds(attempts: int) -> int:
    """After the n-th failed attempt: the base, doubled each time, at most an hour."""
    base = current_app.config["MAIL_RETRY_SECONDS"]
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def _claim(email_id: int, now: datetime) -> bool:
    """Take this email for sending, unless it was sent or another worker holds it."""
    result = db.session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.id == email_id,
            OutgoingEmail.sent_at.is_(None),
            or_(OutgoingEmail.claimed_until.is_(None), OutgoingEmail.claimed_until < now),
        )
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _connection():
    """An SMTP connection from the MAIL_* settings as they are now (read per send, not at start-up)."""
    config = current_app.config
    return mail.get_connection(
        fail_silently=False,
        host=config["MAIL_SERVER"],
        port=config["MAIL_PORT"],
        username=config.get("MAIL_USERNAME"),
        password=config.get("MAIL_PASSWORD"),
        use_tls=config.get("MAIL_USE_TLS", False),
        use_ssl=config.get("MAIL_USE_SSL", False),
        timeout=config.get("MAIL_TIMEOUT", 15),
    )


def _send(email: OutgoingEmail) -> None:
    """Hand the email to the SMTP server configured in MAIL_*; raises what the server or network says."""
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text_body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=email.recipients,
        connection=_connection(),
        headers={"X-Quartermaster-Email": str(email.id)},
    )
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    message.send()


def _describe(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:500]


@dataclass(frozen=True)
class Delivery:
    sent: list[int]
    failed: list[int]


def deliver(email_id: int, now: datetime | None = None) -> bool | None:
    """Send one queued email now: True sent, False failed (retried later), None not ours to send."""
    now = now or utcnow()
    if not email_enabled() or not _claim(email_id, now):
        return None
    email = db.session.get(OutgoingEmail, email_id, populate_existing=True)
    try:
        if not email.recipients:
            raise ValueError("no recipients")
        _send(email)
    except Exception as error:  # whatever stopped it, record it and try again later
        attempts = email.attempts + 1
        db.session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.id == email_id)
            .values(
                attempts=attempts,
                last_attempt_at=now,
                last_error=_describe(error),
                next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)),
                claimed_until=None,
            )
        )
        db.session.commit()
        log.warning("email not sent; will retry", extra={"email_id": email_id, "error": _describe(error)})
        return False
    db.session.execute(
        update(OutgoingEmail)
        .where(OutgoingEmail.id == email_id)
        .values(attempts=email.attempts + 1, last_attempt_at=now, sent_at=utcnow(), claimed_until=None)
    )
    db.session.commit()
    return True


def deliver_due(now: datetime | None = None, limit: int = 100) -> Delivery:
    """Send every email whose time has come; the failures wait for their back-off."""
    now = now or utcnow()
    if not email_enabled():
        return Delivery([], [])
    due = list(
        db.session.scalars(
            select(OutgoingEmail.id)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.next_attempt_at <= now)
            .order_by(OutgoingEmail.id)
            .limit(limit)
        )
    )
    db.session.rollback()
    sent, failed = [], []
    for email_id in due:
        outcome = deliver(email_id, now)
        if outcome is True:
            sent.append(email_id)
        elif outcome is False:
            failed.append(email_id)
    return Delivery(sent, failed)


def seconds_until_next_retry(now: datetime | None = None) -> int | None:
    """How long until the earliest unsent email is due again; None when nothing waits."""
    earliest = db.session.scalar(select(func.min(OutgoingEmail.next_attempt_at)).where(OutgoingEmail.sent_at.is_(None)))
    if earliest is None:
        return None
    return max(1, int((earliest - (now or utcnow())).total_seconds()) + 1)


def unsent_emails() -> list[OutgoingEmail]:
    """Emails still waiting to leave (with their last error), oldest first."""
    return list(
        db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.sent_at.is_(None)).order_by(OutgoingEmail.id))
    )
