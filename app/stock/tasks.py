"""Background work for stock: noticing low-stock alerts, and the periodic check. Thin: the rules are in alerts."""

from __future__ import annotations

import logging
from datetime import datetime

from app.queue import periodic_task, task
from app.stock import alerts

log = logging.getLogger(__name__)


def every_alert_check(moment: datetime) -> bool:
    """The check's schedule: every QM_ALERT_CHECK_MINUTES minutes, counted from midnight UTC."""
    from flask import current_app

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
