"""Low-stock alerts: one alert and one notice per crossing, a check that catches what events missed,
and email that survives an outage.

Every test runs on SQLite and PostgreSQL with a real SMTP server (aiosmtpd) on loopback;
the queue runs tasks at once here (the real consumer is in test_alerts_worker.py).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.notify import service as notify
from app.notify.models import Notification, OutgoingEmail
from app.queue import huey
from app.stock import alerts
from app.stock.ledger import add_stock, remove_stock
from app.stock.models import Product, StockAlert
from app.stock.products import ProductData, update_product
from tests.support.factories import make_product
from tests.support.smtp import SmtpServer, html_part, text_part


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, smtp):
    """The app with email on: the test SMTP server, and one fixed recipient."""
    app.config.update(smtp.settings(), ALERT_RECIPIENTS=["buyer@example.com"], BASE_URL="https://qm.example.com")
    return app


def _product(sku: str = "TEA-1", *, on_hand: int = 10, threshold: int = 5, reorder: int = 24) -> int:
    """A product with stock, whose threshold is set once the stock is there (no alert on the way)."""
    return make_product(sku, on_hand=on_hand, threshold=threshold, reorder=reorder)


def _alerts(product_id: int) -> list[StockAlert]:
    query = select(StockAlert).where(StockAlert.product_id == product_id).order_by(StockAlert.id)
    return list(db.session.scalars(query))


def _notices(user_id: int) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user_id))


def test_one_crossing_is_one_alert_one_email_and_one_notice_each(mail_app, smtp, make_user):
    staff, admin, viewer = make_user("staff"), make_user("admin"), make_user("viewer")
    with mail_app.app_context():
        product_id = _product(on_hand=10, threshold=5)
        assert _alerts(product_id) == []

        remove_stock(product_id, 6, user_id=staff.id)  # 10 -> 4: crosses

        [alert] = _alerts(product_id)
        assert alert.is_open
        assert alert.opened_by == "movement"
        assert alert.on_hand_at_open == 4
        [message] = smtp.wait_for(1)
        assert message["To"] == "buyer@example.com"
        assert message["Subject"] == "Low stock: 1 product (TEA-1)"
        body = text_part(message)
        assert "TEA-1" in body
        assert "On hand 4 pcs, threshold 5, reorder 24" in body
        assert "https://qm.example.com/stock/products/" in body
        assert "https://qm.example.com/stock/products/" in html_part(message)
        assert (_notices(staff.id), _notices(admin.id), _notices(viewer.id)) == (1, 1, 0)

        for _ in range(3):
            alerts.check()
        remove_stock(product_id, 1, user_id=staff.id)  # 4 -> 3: still low, no new crossing
        alerts.check()
        assert len(smtp.wait_for(2, timeout=0.5)) == 1
        assert len(_alerts(product_id)) == 1
        assert _notices(staff.id) == 1

        add_stock(product_id, 20, user_id=staff.id)  # 3 -> 23: restored, the alert closes
        [alert] = _alerts(product_id)
        assert not alert.is_open
        assert alert.on_hand_at_close == 23
        remove_stock(product_id, 20, user_id=staff.id)  # 23 -> 3: a second crossing

        assert len(smtp.wait_for(2)) == 2
        assert [a.is_open for a in _alerts(product_id)] == [False, True]
        assert _notices(staff.id) == 2


def test_at_the_threshold_is_low_and_a_zero_threshold_never_alerts(mail_app, smtp):
    with mail_app.app_context():
        exact = _product("EXACT", on_hand=10, threshold=5)
        never = _product("NEVER", on_hand=10, threshold=0)
        remove_stock(exact, 5, user_id=None)  # exactly at the threshold
        remove_stock(never, 10, user_id=None)  # empty, but nobody asked to be warned
        alerts.check()
        assert len(_alerts(exact)) == 1
        assert _alerts(never) == []
        assert db.session.get(Product, exact).is_low
        assert not db.session.get(Product, never).is_low


def test_a_quick_dip_and_recovery_is_two_crossings_not_none(mail_app, smtp):
    with mail_app.app_context():
        product_id = _product(on_hand=30, threshold=10)
        for _ in range(2):
            remove_stock(product_id, 20, user_id=None)
            add_stock(product_id, 20, user_id=None)
        alerts.check()  # looks after the fact: stock is fine now, yet both crossings were recorded
        crossings = _alerts(product_id)
        assert len(crossings) == 2
        assert all(not a.is_open and a.on_hand_at_open == 10 for a in crossings)
        assert len(smtp.wait_for(2)) == 2


def test_the_check_opens_what_a_change_outside_the_service_missed_and_closes_what_was_restored(mail_app, smtp):
    with mail_app.app_context():
        product_id = _product(on_hand=50, threshold=5)
        db.session.execute(text("UPDATE products SET on_hand = 2 WHERE id = :id"), {"id": product_id})
        db.session.commit()
        assert _alerts(product_id) == []  # no movement saw it

        result = alerts.check()

        assert result.opened == ["TEA-1"]
        assert result.notified == ["TEA-1"]
        [alert] = _alerts(product_id)
        assert alert.opened_by == "check"
        assert alert.on_hand_at_open == 2
        assert len(smtp.wait_for(1)) == 1

        db.session.execute(text("UPDATE products SET on_hand = 40 WHERE id = :id"), {"id": product_id})
        db.session.commit()
        assert alerts.check().closed == ["TEA-1"]
        assert not _alerts(product_id)[0].is_open


def test_lowering_the_threshold_to_the_stock_opens_an_alert_at_once(mail_app, smtp):
    with mail_app.app_context():
        product_id = _product(on_hand=8, threshold=5)
        data = ProductData.clean(sku="TEA-1", name="Product TEA-1", low_stock_threshold=8)
        update_product(product_id, data, user_id=None)
        [alert] = _alerts(product_id)
        assert alert.opened_by == "threshold"
        assert len(smtp.wait_for(1)) == 1
        data = ProductData.clean(sku="TEA-1", name="Product TEA-1", low_stock_threshold=0)
        update_product(product_id, data, user_id=None)
        assert not _alerts(product_id)[0].is_open  # nobody wants warnings for it any more


def test_a_retired_product_stops_alerting(mail_app, smtp):
    with mail_app.app_context():
        product_id = _product(on_hand=10, threshold=5)
        remove_stock(product_id, 8, user_id=None)
        data = ProductData.clean(sku="TEA-1", name="Product TEA-1", low_stock_threshold=5, active=False)
        update_product(product_id, data, user_id=None)
        assert not _alerts(product_id)[0].is_open  # nobody will restock a retired product
        assert alerts.check().opened == []  # and the check agrees
        assert len(_alerts(product_id)) == 1


def test_two_checks_at_once_open_one_alert_and_send_one_email(mail_app, smtp, make_user):
    staff = make_user("staff")
    with mail_app.app_context():
        ids = [_product(f"SKU-{n}", on_hand=40, threshold=5) for n in range(3)]
        db.session.execute(text("UPDATE products SET on_hand = 1"))
        db.session.commit()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run_check() -> None:
        try:
            with mail_app.app_context():
                barrier.wait(timeout=10)
                alerts.check()
                db.session.remove()
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=run_check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with mail_app.app_context():
        assert [len(_alerts(product_id)) for product_id in ids] == [1, 1, 1]
        assert db.session.scalar(select(func.count(OutgoingEmail.id))) == 1
        assert _notices(staff.id) == 3
    [message] = smtp.wait_for(2, timeout=1)
    assert message["Subject"].startswith("Low stock: 3 products")


def test_an_smtp_outage_delays_the_email_and_loses_nothing(mail_app, smtp, client, auth):
    auth.login_as("staff")
    smtp.stop()
    with mail_app.app_context():
        product_id = _product(on_hand=10, threshold=5)
        remove_stock(product_id, 8, user_id=None)  # the stock change itself succeeds
        assert db.session.get(Product, product_id).on_hand == 2
        [alert] = _alerts(product_id)
        email = alert.email
        assert email.sent_at is None
        assert email.attempts == 1
        assert "ConnectionRefusedError" in email.last_error

    page = client.get("/alerts").get_data(as_text=True)
    assert 'data-testid="email-error"' in page
    assert "ConnectionRefusedError" in page

    with mail_app.app_context():
        assert notify.deliver_due().sent == []  # not due yet: it waits for its back-off
        smtp.start()
        later = datetime.now(UTC) + timedelta(seconds=mail_app.config["MAIL_RETRY_SECONDS"] + 1)
        assert notify.deliver_due(now=later).sent == [email.id]
        assert notify.deliver_due(now=later + timedelta(hours=2)).sent == []  # sent once, never again
    assert len(smtp.wait_for(1)) == 1
    assert 'data-testid="email-error"' not in client.get("/alerts").get_data(as_text=True)


def test_back_off_doubles_and_stops_growing_at_an_hour(mail_app):
    with mail_app.app_context():
        mail_app.config["MAIL_RETRY_SECONDS"] = 60
        assert [notify.backoff_seconds(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
        assert notify.backoff_seconds(30) == 3600


def test_without_a_mail_server_alerts_still_work_in_the_app(app, client, auth):
    user = auth.login_as("staff")
    with app.app_context():
        product_id = _product(on_hand=10, threshold=5)
        remove_stock(product_id, 9, user_id=None)
        assert len(_alerts(product_id)) == 1
        assert db.session.scalar(select(func.count(OutgoingEmail.id))) == 0
        assert _notices(user.id) == 1
    page = client.get("/alerts").get_data(as_text=True)
    assert "Email is off" in page
    assert 'data-testid="bell-count">1<' in client.get("/").get_data(as_text=True)


def test_recipients_are_the_configured_list_and_people_who_asked(mail_app, smtp, client, auth):
    user = auth.login_as("viewer")
    response = client.post("/account", data={"alert_emails": "y"})
    assert response.status_code == 303
    with mail_app.app_context():
        assert notify.alert_recipients() == ["buyer@example.com", user.email]
        product_id = _product(on_hand=10, threshold=5)
        remove_stock(product_id, 9, user_id=None)
    [message] = smtp.wait_for(1)
    assert message["X-Envelope-To"] == f"buyer@example.com, {user.email}"
    client.post("/account", data={})  # unchecked: off again
    with mail_app.app_context():
        assert notify.alert_recipients() == ["buyer@example.com"]


def test_the_periodic_check_is_registered_on_the_configured_schedule_and_opens_missed_alerts(app):
    from app.stock.tasks import check_low_stock

    def fires(minute: int) -> bool:
        """What the consumer's scheduler asks huey at each minute."""
        due = huey.read_periodic(datetime(2026, 12, 1, 9, minute))
        return any(isinstance(task, check_low_stock.task_class) for task in due)

    with app.app_context():
        app.config["ALERT_CHECK_MINUTES"] = 15
        assert [m for m in range(60) if fires(m)] == [0, 15, 30, 45]
        app.config["ALERT_CHECK_MINUTES"] = 5
        assert fires(35)
        assert not fires(36)

        product_id = _product(on_hand=10, threshold=5)
        db.session.execute(text("UPDATE products SET on_hand = 0 WHERE id = :id"), {"id": product_id})
        db.session.commit()
        frozen = datetime(2026, 12, 1, 9, 45, tzinfo=UTC)
        opened, _closed = alerts.reconcile(now=frozen)
        assert opened == ["TEA-1"]
        assert _alerts(product_id)[0].opened_at == frozen
        assert check_low_stock.call_local()["notified"] == ["TEA-1"]  # the task body sends what is unsent


def test_a_stock_change_is_never_blocked_by_a_queue_that_is_down(app, monkeypatch):
    from app.stock import tasks

    def queue_down(*args, **kwargs):
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(tasks, "send_alert_notices", queue_down)
    with app.app_context():
        product_id = _product(on_hand=10, threshold=5)
        movement = remove_stock(product_id, 7, user_id=None)
        assert movement.balance_after == 3
        [alert] = _alerts(product_id)
        assert alert.notified_at is None  # recorded, not yet noticed...
        assert alerts.check().notified == ["TEA-1"]  # ...until the periodic check sends it
