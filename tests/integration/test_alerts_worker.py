"""Low-stock alerts through a real Huey consumer: on Redis and PostgreSQL, and on the embedded default
(SQLite database, SQLite queue). A crossing reaches the SMTP server once; checks run by two consumers at
the same moment still send one email.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.auth import service as users
from app.config import config_for_tests
from app.extensions import db
from app.notify.models import Notification, OutgoingEmail
from app.queue import huey
from app.stock.ledger import add_stock, remove_stock
from app.stock.models import StockAlert
from app.stock.products import ProductData, create_product, update_product
from app.stock.tasks import check_low_stock
from tests.support import services
from tests.support.consumer import Consumer, shared_setup
from tests.support.smtp import SmtpServer


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _mail(smtp: SmtpServer) -> tuple[dict[str, str], dict[str, object]]:
    """The same mail settings as consumer environment and as the test app's config."""
    env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "ALERT_RECIPIENTS": "buyer@example.com"}
    return env, {**smtp.settings(), "ALERT_RECIPIENTS": ["buyer@example.com"]}


def _low_product(sku: str, *, on_hand: int = 10, threshold: int = 5) -> int:
    product = create_product(ProductData.clean(sku=sku, name=sku), user_id=None)
    add_stock(product.id, on_hand, user_id=None)
    data = ProductData.clean(sku=sku, name=sku, low_stock_threshold=threshold)
    update_product(product.id, data, user_id=None)
    return product.id


def _wait(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _run_checks(times: int) -> None:
    """Queue the periodic check `times` times and wait until the consumers have run them all.

    Huey keeps no results of periodic tasks: wait for an empty queue, then for the last one in flight.
    """
    for _ in range(times):
        check_low_stock()
    assert _wait(lambda: huey.pending_count() == 0)
    time.sleep(1.5)


def _count(model, *where) -> int:
    db.session.rollback()  # see what other processes committed
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _crossings_reach_the_smtp_server_once(app, smtp: SmtpServer, staff_id: int) -> None:
    with app.app_context():
        product_id = _low_product("TEA-1")
        remove_stock(product_id, 6, user_id=staff_id)  # the worker is told after the commit
        assert len(smtp.wait_for(1, timeout=30)) == 1
        assert _wait(lambda: _count(Notification, Notification.user_id == staff_id) == 1)

        _run_checks(3)  # checks in the worker, then more removals while low
        remove_stock(product_id, 2, user_id=staff_id)
        _run_checks(1)
        assert len(smtp.wait_for(2, timeout=1)) == 1
        assert _count(StockAlert) == 1

        add_stock(product_id, 30, user_id=staff_id)  # restored: closes
        remove_stock(product_id, 30, user_id=staff_id)  # low again: a new crossing
        assert len(smtp.wait_for(2, timeout=30)) == 2
        assert _wait(lambda: _count(Notification, Notification.user_id == staff_id) == 2)
        # the worker marks an email sent after the SMTP server has accepted it: wait for that commit
        assert _wait(lambda: _count(OutgoingEmail, OutgoingEmail.sent_at.is_(None)) == 0)


def test_on_redis_and_postgresql_a_crossing_is_emailed_once(tmp_path, postgres_url, smtp):
    env, config = _mail(smtp)
    with shared_setup(tmp_path, postgres_url, name="alerts", env=env, **config) as (app_with, start_consumer):
        app = app_with(services.TEST_REDIS_URL)
        with app.app_context():
            staff = users.create_user("staff@example.com", "staff", "a-long-test-password", actor_id=None).id
        start_consumer(workers=2)
        _crossings_reach_the_smtp_server_once(app, smtp, staff)


def test_two_consumers_checking_at_the_same_moment_send_one_email(tmp_path, postgres_url, smtp):
    env, config = _mail(smtp)
    with shared_setup(tmp_path, postgres_url, name="alerts2", env=env, **config) as (app_with, start_consumer):
        app = app_with(services.TEST_REDIS_URL)
        with app.app_context():
            for n in range(3):
                _low_product(f"SKU-{n}", on_hand=50)
            db.session.execute(text("UPDATE products SET on_hand = 1"))  # past the service: only a check sees it
            db.session.commit()
            for _ in range(8):  # queued before any consumer runs, so both take them at once
                check_low_stock()
        start_consumer(workers=2)
        start_consumer(workers=2)
        with app.app_context():
            assert _wait(lambda: huey.pending_count() == 0 and _count(OutgoingEmail, OutgoingEmail.sent_at.isnot(None)))
            time.sleep(1.5)
            assert _count(StockAlert) == 3
            assert _count(OutgoingEmail) == 1
        [message] = smtp.wait_for(2, timeout=3)
        assert message["Subject"].startswith("Low stock: 3 products")


def test_on_the_embedded_default_sqlite_and_its_queue_a_crossing_is_emailed_once(tmp_path, smtp):
    """What `make run` starts: SQLite database, SqliteHuey under DATA_DIR, one consumer."""
    data_dir = tmp_path / "data"
    database_url = f"sqlite:///{tmp_path / 'qm.db'}"
    queue = f"qm-alerts-sqlite-{uuid.uuid4().hex[:8]}"
    env, config = _mail(smtp)
    app = create_app(config_for_tests(data_dir, database_url, QUEUE_NAME=queue, **config))
    with app.app_context():
        db.create_all()
        staff = users.create_user("staff@example.com", "staff", "a-long-test-password", actor_id=None).id
    consumer_env = {
        **services.clean_environment(),
        "QM_ENV": "testing",
        "SECRET_KEY": "alerts-sqlite-test",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "QM_QUEUE_NAME": queue,
        **env,
    }
    consumer = Consumer(consumer_env, workers=2)
    try:
        _crossings_reach_the_smtp_server_once(app, smtp, staff)
    finally:
        consumer.stop()
        with app.app_context():
            db.engine.dispose()
    assert Path(data_dir / "queue.db").exists()  # the SQLite queue carried the tasks
