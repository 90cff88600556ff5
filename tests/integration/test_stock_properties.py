"""Random sequences of stock changes and orders against a plain model: the ledger stays true, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from app import create_app
from app.config import config_for_tests
from app.extensions import db
from app.ops.models import AuditEvent
from app.stock import orders as stock_orders
from app.stock.errors import InactiveProduct, InsufficientStock, OrderStateError
from app.stock.ledger import add_stock, count_stock, remove_stock, verify_ledger
from app.stock.models import DECREASE_REASONS, INCREASE_REASONS, Order, OrderLine, Product, StockMovement
from app.stock.orders import cancel_order, fulfil_order, place_order
from app.stock.products import ProductData, create_product, update_product

PRODUCTS = 3
products = st.integers(min_value=0, max_value=PRODUCTS - 1)
received = st.integers(min_value=1, max_value=40)
taken = st.integers(min_value=1, max_value=12)
ordered = st.dictionaries(products, st.integers(min_value=1, max_value=5), min_size=1, max_size=PRODUCTS)


def empty_tables() -> None:
    """Start an example from nothing, on either database."""
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def stock_machine(app: Flask) -> type[RuleBasedStateMachine]:
    class StockMachine(RuleBasedStateMachine):
        """Products, stock changes and orders, checked step by step against a dictionary of expected on-hand."""

        orders = Bundle("orders")

        def __init__(self) -> None:
            super().__init__()
            self.context = app.app_context()
            self.context.push()
            empty_tables()
            self.products: list[int] = []
            self.sku: dict[int, str] = {}
            for n in range(PRODUCTS):
                data = ProductData.clean(sku=f"SKU-{n}", name=f"Product SKU-{n}")
                product_id = create_product(data, user_id=None).id
                self.products.append(product_id)
                self.sku[product_id] = data.sku
            self.expected = dict.fromkeys(self.products, 0)
            self.active = dict.fromkeys(self.products, True)
            self.status: dict[int, str] = {}
            self.lines: dict[int, dict[int, int]] = {}

        def teardown(self) -> None:
            db.session.remove()
            self.context.pop()

        # ------------------------------------------------------------ helpers

        def snapshot(self) -> tuple[object, ...]:
            """Everything a refused operation must leave as it was."""
            return (
                db.session.execute(select(Product.id, Product.on_hand, Product.active).order_by(Product.id)).all(),
                db.session.execute(select(Order.id, Order.status).order_by(Order.id)).all(),
                db.session.scalar(select(func.count(StockMovement.id))),
                db.session.scalar(select(func.count(OrderLine.id))),
                db.session.scalar(select(func.count(AuditEvent.id))),
            )

        @contextmanager
        def unchanged(self) -> Iterator[None]:
            before = self.snapshot()
            yield
            assert self.snapshot() == before

        def retired(self, product_ids) -> list[int]:
            return [pid for pid in product_ids if not self.active[pid]]

        # ------------------------------------------------------------ stock

        @initialize(opening=st.lists(st.integers(min_value=0, max_value=40), min_size=PRODUCTS, max_size=PRODUCTS))
        def receive_opening_stock(self, opening: list[int]) -> None:
            for pid, quantity in zip(self.products, opening, strict=True):
                if quantity:
                    add_stock(pid, quantity, user_id=None, reason="received")
                    self.expected[pid] = quantity

        @rule(index=products, quantity=received, reason=st.sampled_from(INCREASE_REASONS))
        def add(self, index: int, quantity: int, reason) -> None:
            pid = self.products[index]
            if not self.active[pid]:
                with self.unchanged(), pytest.raises(InactiveProduct):
                    add_stock(pid, quantity, user_id=None, reason=reason)
                return
            movement = add_stock(pid, quantity, user_id=None, reason=reason)
            self.expected[pid] += quantity
            assert (movement.delta, movement.balance_after) == (quantity, self.expected[pid])

        @rule(index=products, quantity=taken, reason=st.sampled_from(DECREASE_REASONS))
        def remove(self, index: int, quantity: int, reason) -> None:
            pid = self.products[index]
            if not self.active[pid]:
                with self.unchanged(), pytest.raises(InactiveProduct):
                    remove_stock(pid, quantity, user_id=None, reason=reason)
            elif quantity > self.expected[pid]:
                with self.unchanged(), pytest.raises(InsufficientStock) as refused:
                    remove_stock(pid, quantity, user_id=None, reason=reason)
                shortage = refused.value
                assert (shortage.sku, shortage.requested, shortage.available) == (
                    self.sku[pid],
                    quantity,
                    self.expected[pid],
                )
            else:
                movement = remove_stock(pid, quantity, user_id=None, reason=reason)
                self.expected[pid] -= quantity
                assert (movement.delta, movement.balance_after) == (-quantity, self.expected[pid])

        @rule(index=products, counted=st.integers(min_value=0, max_value=20))
        def count(self, index: int, counted: int) -> None:
            pid = self.products[index]
            if not self.active[pid]:
                with self.unchanged(), pytest.raises(InactiveProduct):
                    count_stock(pid, counted, user_id=None)
                return
            movement = count_stock(pid, counted, user_id=None)
            assert (movement.delta, movement.balance_after) == (counted - self.expected[pid], counted)
            self.expected[pid] = counted

        def set_active(self, pid: int, active: bool) -> None:
            self.active[pid] = active
            data = ProductData.clean(sku=self.sku[pid], name=f"Product {self.sku[pid]}", active=active)
            update_product(pid, data, user_id=None)

        @precondition(lambda self: all(self.active.values()))  # one retired product at a time
        @rule(data=st.data())
        def retire(self, data: st.DataObject) -> None:
            # Mostly a product on an open order: that is when retiring it matters (placing, cancelling).
            open_lines = {
                pid for order, lines in self.lines.items() if self.status[order] in {"draft", "placed"} for pid in lines
            }
            pid = data.draw(st.sampled_from(sorted(open_lines) or self.products), label="product")
            self.set_active(pid, False)

        @precondition(lambda self: not all(self.active.values()))
        @rule()
        def reactivate(self) -> None:
            self.set_active(self.retired(self.products)[0], True)

        # ------------------------------------------------------------ orders

        def new_order(self, lines: dict[int, int]) -> int | None:
            """A draft order for these lines, or None when a retired product refuses it."""
            wanted = {self.products[index]: quantity for index, quantity in lines.items()}
            if self.retired(wanted):
                with self.unchanged(), pytest.raises(InactiveProduct):
                    stock_orders.create_order(customer="Acme", lines=list(wanted.items()), user_id=None)
                return None
            order = stock_orders.create_order(customer="Acme", lines=list(wanted.items()), user_id=None)
            assert [(line.product_id, line.quantity) for line in order.lines] == list(wanted.items())
            self.status[order.id] = "draft"
            self.lines[order.id] = wanted
            return order.id

        @rule(target=orders, lines=ordered)
        def create_order(self, lines: dict[int, int]):
            order = self.new_order(lines)
            return multiple() if order is None else order  # a refused order joins no bundle

        @rule(target=orders, lines=ordered)
        def create_and_place_order(self, lines: dict[int, int]):
            order = self.new_order(lines)
            if order is None:
                return multiple()
            self.place(order)
            return order

        @rule(order=orders)
        def place(self, order: int) -> None:
            lines = self.lines[order]
            short = {pid for pid, quantity in lines.items() if quantity > self.expected[pid]}
            if self.status[order] != "draft":
                with self.unchanged(), pytest.raises(OrderStateError):
                    place_order(order, user_id=None)
            elif self.retired(lines):
                with self.unchanged(), pytest.raises(InactiveProduct):
                    place_order(order, user_id=None)
            elif short:
                with self.unchanged(), pytest.raises(InsufficientStock) as refused:
                    place_order(order, user_id=None)
                assert {(s.sku, s.requested, s.available) for s in refused.value.shortages} == {
                    (self.sku[pid], lines[pid], self.expected[pid]) for pid in short
                }
            else:
                assert place_order(order, user_id=None).status == "placed"
                self.status[order] = "placed"
                for pid, quantity in lines.items():
                    self.expected[pid] -= quantity

        @rule(order=orders)
        def cancel(self, order: int) -> None:
            if self.status[order] in {"cancelled", "fulfilled"}:
                with self.unchanged(), pytest.raises(OrderStateError):
                    cancel_order(order, user_id=None)
                return
            assert cancel_order(order, user_id=None).status == "cancelled"
            if self.status[order] == "placed":  # its stock comes back, even to a retired product
                for pid, quantity in self.lines[order].items():
                    self.expected[pid] += quantity
            self.status[order] = "cancelled"

        @precondition(lambda self: "placed" in self.status.values())
        @rule(data=st.data())
        def cancel_placed(self, data: st.DataObject) -> None:
            placed = sorted(order for order, status in self.status.items() if status == "placed")
            self.cancel(data.draw(st.sampled_from(placed), label="placed order"))

        @rule(order=orders)
        def fulfil(self, order: int) -> None:
            if self.status[order] != "placed":
                with self.unchanged(), pytest.raises(OrderStateError):
                    fulfil_order(order, user_id=None)
                return
            assert fulfil_order(order, user_id=None).status == "fulfilled"
            self.status[order] = "fulfilled"

        # ------------------------------------------------------------ the invariant

        @invariant()
        def the_ledger_agrees_with_the_model(self) -> None:
            on_hand = dict(db.session.execute(select(Product.id, Product.on_hand)).all())
            assert on_hand == self.expected
            assert all(units >= 0 for units in on_hand.values())
            assert verify_ledger() == []
            last_row = (
                select(StockMovement.product_id, func.max(StockMovement.id).label("id"))
                .group_by(StockMovement.product_id)
                .subquery()
            )
            balances = dict(
                db.session.execute(
                    select(StockMovement.product_id, StockMovement.balance_after).join(
                        last_row, last_row.c.id == StockMovement.id
                    )
                ).all()
            )
            assert balances == {pid: units for pid, units in on_hand.items() if pid in balances}
            assert dict(db.session.execute(select(Order.id, Order.status)).all()) == self.status

    return StockMachine


@pytest.fixture
def quick_app(app: Flask, tmp_path) -> Iterator[Flask]:
    """`app`; on PostgreSQL one whose commits do not wait for the disk (same locks and visibility, much faster)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        yield app
        return
    options = {"pool_pre_ping": True, "connect_args": {"options": "-c synchronous_commit=off"}}
    quick = create_app(
        config_for_tests(tmp_path / "data", url, SQLALCHEMY_ENGINE_OPTIONS=options, QUEUE_NAME=app.config["QUEUE_NAME"])
    )
    yield quick
    with quick.app_context():
        db.session.remove()
        db.engine.dispose()


def test_random_stock_work_keeps_on_hand_equal_to_the_ledger(quick_app):
    """Whatever people do, in any order, on-hand matches a simple model and the ledger; refusals change nothing."""
    run_state_machine_as_test(
        stock_machine(quick_app),
        # No shrinking: a database-backed machine takes minutes to shrink, past the suite's timeout;
        # the failure report lists every step of the failing run instead.
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            database=None,
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
        ),
    )
