"""The stock rules under real concurrency: many threads, each with its own session, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.config import config_for_tests
from app.extensions import db
from app.stock.errors import InsufficientStock, OrderStateError
from app.stock.ledger import add_stock, verify_ledger
from app.stock.models import Order, Product, StockMovement
from app.stock.orders import cancel_order, create_order, place_order
from app.stock.products import ProductData, create_product

# Every thread holds its own connection while it waits for a lock, so the pool must cover them all.
POOL = {"pool_size": 40, "max_overflow": 10, "pool_timeout": 30}


@pytest.fixture
def wide_app(app: Flask, tmp_path) -> Iterator[Flask]:
    """The same database as `app`, with a connection pool wide enough for every thread at once."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        options = {**POOL, "connect_args": {"timeout": 30}}
    else:
        # Commits that do not wait for the disk: the same locks and visibility, a fraction of the time.
        options = {**POOL, "pool_pre_ping": True, "connect_args": {"options": "-c synchronous_commit=off"}}
    wide = create_app(
        config_for_tests(tmp_path / "data", url, SQLALCHEMY_ENGINE_OPTIONS=options, QUEUE_NAME=app.config["QUEUE_NAME"])
    )
    yield wide
    with wide.app_context():
        db.session.remove()
        db.engine.dispose()


def run_together(app: Flask, jobs: list[Callable[[], object]]) -> list[object]:
    """Run each job in its own thread and app context, released together; its result or its exception, in order."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> object:
        with app.app_context():
            barrier.wait(timeout=30)
            return job()

    outcomes: list[object] = []
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        for future in futures:
            error = future.exception(timeout=120)
            outcomes.append(error if error is not None else future.result())
    return outcomes


def make_product(sku: str, stock: int = 0) -> int:
    product_id = create_product(ProductData.clean(sku=sku, name=f"Product {sku}"), user_id=None).id
    if stock:
        add_stock(product_id, stock, user_id=None, reason="received")
    return product_id


def on_hand(product_id: int) -> int:
    return db.session.get(Product, product_id, populate_existing=True).on_hand


def ledger(product_id: int) -> list[StockMovement]:
    return list(
        db.session.scalars(
            select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id)
        )
    )


def statuses() -> Counter[str]:
    return Counter(db.session.scalars(select(Order.status)))


def unexpected(outcomes: list[object], *allowed: type[BaseException]) -> list[object]:
    """Outcomes that are exceptions of a kind the test does not expect (a deadlock, a locked database...)."""
    return [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, allowed)]


def test_concurrent_receipts_on_one_product_add_up_exactly(wide_app):
    """32 people receiving stock at once must never lose an update: every unit is counted once."""
    workers, each = 32, 100
    with wide_app.app_context():
        pid = make_product("BOLT")

    def receive() -> None:
        for _ in range(each):
            add_stock(pid, 1, user_id=None, reason="received")

    outcomes = run_together(wide_app, [receive] * workers)

    assert unexpected(outcomes) == []
    with wide_app.app_context():
        total = workers * each
        rows = ledger(pid)
        assert on_hand(pid) == total
        assert len(rows) == total
        assert rows[-1].balance_after == total
        assert {row.balance_after for row in rows} == set(range(1, total + 1))
        assert verify_ledger() == []


def test_concurrent_orders_never_oversell(wide_app):
    """60 customers racing for the last 25 units: exactly 25 get one, the rest are told there is not enough."""
    with wide_app.app_context():
        pid = make_product("LAST-25", stock=25)
        orders = [create_order(customer=f"Customer {n}", lines=[(pid, 1)], user_id=None).id for n in range(60)]

    def place(order_id: int) -> Callable[[], str]:
        return lambda: place_order(order_id, user_id=None).status

    outcomes = run_together(wide_app, [place(order_id) for order_id in orders])

    assert unexpected(outcomes, InsufficientStock) == []
    assert outcomes.count("placed") == 25
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert len(refused) == 35
    assert {(r.sku, r.requested, r.available) for r in refused} == {("LAST-25", 1, 0)}
    with wide_app.app_context():
        assert on_hand(pid) == 0
        assert statuses() == Counter({"placed": 25, "draft": 35})
        assert [row.reason for row in ledger(pid)].count("order") == 25
        assert verify_ledger() == []


def test_orders_sharing_products_in_opposite_order_never_deadlock(wide_app):
    """Two orders listing the same products in opposite order, placed at once, must both go through."""
    pairs = 20
    with wide_app.app_context():
        first, second = make_product("P1", stock=3 * pairs), make_product("P2", stock=3 * pairs)
        orders = []
        for n in range(pairs):
            orders.append(create_order(customer=f"A{n}", lines=[(first, 1), (second, 2)], user_id=None).id)
            orders.append(create_order(customer=f"B{n}", lines=[(second, 1), (first, 2)], user_id=None).id)

    def place(order_id: int) -> Callable[[], str]:
        return lambda: place_order(order_id, user_id=None).status

    outcomes = run_together(wide_app, [place(order_id) for order_id in orders])

    assert unexpected(outcomes) == []  # a deadlock shows up here as an OperationalError
    assert outcomes == ["placed"] * (2 * pairs)
    with wide_app.app_context():
        assert (on_hand(first), on_hand(second)) == (0, 0)
        assert statuses() == Counter({"placed": 2 * pairs})
        assert verify_ledger() == []


def test_cancelling_one_order_from_many_threads_returns_stock_once(wide_app):
    """Eight clicks on "cancel" for one placed order put its stock back once, not eight times."""
    with wide_app.app_context():
        pid = make_product("CANCEL-ME", stock=10)
        order_id = create_order(customer="Acme", lines=[(pid, 4)], user_id=None).id
        place_order(order_id, user_id=None)
        assert on_hand(pid) == 6

    outcomes = run_together(wide_app, [lambda: cancel_order(order_id, user_id=None).status] * 8)

    assert unexpected(outcomes, OrderStateError) == []
    assert outcomes.count("cancelled") == 1
    assert sum(isinstance(o, OrderStateError) for o in outcomes) == 7
    with wide_app.app_context():
        assert on_hand(pid) == 10
        assert [row.reason for row in ledger(pid)] == ["received", "order", "order_cancelled"]
        assert statuses() == Counter({"cancelled": 1})
        assert verify_ledger() == []


def test_the_same_idempotency_key_from_many_threads_adds_stock_once(wide_app):
    """A form submitted 16 times at once (double clicks, retries) receives the goods once."""
    with wide_app.app_context():
        pid = make_product("ONCE")

    def submit() -> int:
        return add_stock(pid, 24, user_id=None, reason="received", idempotency_key="form-1").id

    outcomes = run_together(wide_app, [submit] * 16)

    assert unexpected(outcomes) == []
    with wide_app.app_context():
        rows = ledger(pid)
        assert on_hand(pid) == 24
        assert [(row.delta, row.balance_after) for row in rows] == [(24, 24)]
        assert outcomes == [rows[0].id] * 16
        assert db.session.scalar(select(func.count(StockMovement.id))) == 1
        assert verify_ledger() == []
