"""Background work for notices: sending queued emails, and retrying the ones that failed. Thin."""

from __future__ import annotations

from huey import crontab

from app.notify import service
from app.queue import periodic_task, task


@task()
def deliver_email(email_id: int) -> bool | None:
    """Send one queued email now; on failure it is retried after its back-off."""
    outcome = service.deliver(email_id)
    if outcome is False:
        _retry_later()
    return outcome


@task()
def deliver_due_emails() -> list[int]:
    """Send every queued email whose time has come (a retry, or one whose task was lost)."""
    result = service.deliver_due()
    if result.failed:
        _retry_later()
    return result.sent


@periodic_task(crontab(minute="*"))
def deliver_due_emails_every_minute() -> None:
    """Every minute: the safety net for emails whose task was lost or whose retry is due."""
    result = service.deliver_due()
    if result.failed:
        _retry_later()


def _retry_later() -> None:
    """Schedule the next delivery for when the earliest back-off ends (sooner than the minute tick)."""
    delay = service.seconds_until_next_retry()
    if delay is not None and delay < 60:
        try:
            deliver_due_emails.schedule(delay=delay)
        except Exception:  # the queue is down: the minute tick delivers it
            service.log.warning("email retry not scheduled; the periodic delivery will send it", exc_info=True)
