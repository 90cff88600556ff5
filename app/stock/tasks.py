"""Background work for stock: noticing low-stock alerts, and the periodic check. Thin: the rules are in alerts.

This module also tells alerts what to do once an alert or an email is committed: queue the task that
acts on it. Alerts never import this module (the tasks call into alerts), so they learn it by registration.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from app.notify.tasks import deliver_email
from app.queue import enqueue_after_commit, periodic_task, task
from app.stock import alerts

log = logging.getLogger(__name__)


def every_alert_check(moment: datetime) -> bool:
    """The check's schedule: every QM_ALERT_CHECK_MINUTES minutes, counted from midnight UTC."""
    minutes = current_app.config["ALERT_CHECK_MINUTES"]
    return (moment.hour * 60 + moment.minute) % minutes == 0


@task()
def send_alert_notices() -> list[str]:
    """Right after a stock change opened an alert: tell people (in the app, and one email)."""
    return alerts.send_notices()


@periodic_task(every_alert_check)
def check_low_stock() -> dict[str, list[str]]:
    """Every QM_ALERT_CHECK_MINUTES: open and close alerts to match the stock, send what is unsent."""
    result = alerts.check()
    if result.opened or result.closed or result.notified:
        log.info(
            "low-stock check",
            extra={"opened": result.opened, "closed": result.closed, "notified": result.notified},
        )
    return {"opened": result.opened, "closed": result.closed, "notified": result.notified}


@alerts.when_alert_opened
def _notice_soon() -> None:
    """A committed change opened an alert: a worker tells people now, not at the next check."""
    enqueue_after_commit(send_alert_notices, fallback="the periodic low-stock check sends the notices")


@alerts.when_email_queued
def _deliver_soon(email_id: int) -> None:
    """The low-stock email is queued in the outbox: a worker sends it now, not at the next minute's delivery."""
    enqueue_after_commit(deliver_email, email_id, fallback="the periodic delivery sends it", email_id=email_id)
