"""Demo stock: products, orders in every state, and a ledger that `flask stock verify` accepts."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update

from app.demo.common import BATCH, END, YEARS, Progress, batches, moment
from app.extensions import db
from app.stock.models import Order, OrderLine, OrderStatus, Product, Reason, StockMovement

PRODUCT_KINDS = (
    ("Sencha", "kg"), ("Darjeeling", "kg"), ("Assam", "kg"), ("Oolong", "kg"), ("Rooibos", "kg"),
    ("Earl Grey", "kg"), ("Jasmine green", "kg"), ("Chai blend", "kg"), ("Arabica beans", "kg"),
    ("Robusta beans", "kg"), ("Espresso blend", "kg"), ("Decaf beans", "kg"), ("Kraft pouch", "pcs"),
    ("Tin caddy", "pcs"), ("Paper filter", "box"), ("Gift box", "pcs"), ("Tea infuser", "pcs"),
    ("Cold brew bottle", "pcs"), ("Label roll", "roll"), ("Shipping carton", "pcs"),
)  # fmt: skip
ORIGINS = ("Kenya", "Assam", "Yunnan", "Uji", "Nilgiri", "Ceylon", "Brazil", "Colombia", "Ethiopia", "Guatemala")
SIZES = ("100 g", "250 g", "500 g", "1 kg", "5 kg", "small", "medium", "large", "pack of 50", "pack of 500")
CUSTOMERS = (
    "Rossi Bakery", "Harbour Café", "The Green Leaf", "Hotel Miramar", "Bean There", "Café Lumière",
    "Teehaus Berger", "De Theepot", "Northside Deli", "Casa Verde", "Kettle & Co", "Mill Street Market",
)  # fmt: skip


def seed_products(rng: random.Random, count: int) -> list[int]:
    rows = []
    before = db.session.scalar(select(func.count(Product.id))) or 0
    for n in range(before, before + count):
        kind, unit = PRODUCT_KINDS[n % len(PRODUCT_KINDS)]
        name = f"{kind} {rng.choice(ORIGINS)} {rng.choice(SIZES)}"
        sku = f"DEMO-{n + 1:05d}"
        rows.append(
            {
                "sku": sku,
                "sku_key": sku.lower(),
                "name": name,
                "unit": unit,
                "low_stock_threshold": rng.choice((0, 20, 50, 100)),
                "reorder_quantity": rng.choice((0, 100, 200, 500)),
                "active": rng.random() > 0.02,
                "on_hand": 0,
                "created_at": END - timedelta(days=365 * YEARS + 1),
                "updated_at": END,
            }
        )
    ids: list[int] = []
    for batch in batches(iter(rows)):
        ids += db.session.scalars(insert(Product).returning(Product.id, sort_by_parameter_order=True), batch)
    db.session.commit()
    return ids


def seed_orders(
    rng: random.Random, count: int, product_ids: list[int], people: list[int]
) -> list[tuple[int, int, datetime, str, datetime | None]]:
    """Orders with one to four lines; [(product, order, when, reason, None)] of the stock they moved."""
    moves: list[tuple[int, int, datetime, str, datetime | None]] = []
    orders, lines_by_order = [], []
    before = db.session.scalar(select(func.count(Order.id))) or 0
    for n in range(before, before + count):
        created = moment(rng)
        status = rng.choices(list(OrderStatus), (10, 25, 55, 10))[0]
        placed = created + timedelta(hours=rng.uniform(0.1, 8)) if status != OrderStatus.DRAFT else None
        orders.append(
            {
                "reference": f"SO-{created:%Y}-{n + 1:06d}",
                "customer": rng.choice(CUSTOMERS),
                "status": status.value,
                "created_by": people[n % len(people)],
                "created_at": created,
                "placed_at": placed,
                "fulfilled_at": placed + timedelta(days=rng.uniform(0.5, 5))
                if status == OrderStatus.FULFILLED
                else None,
                "cancelled_at": placed + timedelta(days=rng.uniform(0.1, 3))
                if status == OrderStatus.CANCELLED
                else None,
            }
        )
        lines_by_order.append(
            {p: rng.randint(1, 20) for p in rng.sample(product_ids, min(len(product_ids), rng.randint(1, 4)))}
        )
    ids: list[int] = []
    for batch in batches(iter(orders)):
        ids += db.session.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), batch)
    line_rows = []
    for order_id, row, lines in zip(ids, orders, lines_by_order, strict=True):
        for product_id, quantity in lines.items():
            line_rows.append({"order_id": order_id, "product_id": product_id, "quantity": quantity})
            if row["placed_at"] is not None:
                moves.append((product_id, -quantity, row["placed_at"], Reason.ORDER.value, order_id))
            if row["cancelled_at"] is not None:
                moves.append((product_id, quantity, row["cancelled_at"], Reason.ORDER_CANCELLED.value, order_id))
    for batch in batches(iter(line_rows)):
        db.session.execute(insert(OrderLine), batch)
    db.session.commit()
    return moves


def seed_ledger(
    rng: random.Random, count: int, product_ids: list[int], order_moves: list, people: list[int], progress: Progress
) -> int:
    """`count` movements in all (the orders' included), in time order per product, never below zero."""
    if not product_ids:
        return 0
    by_product: dict[int, list[tuple]] = {product_id: [] for product_id in product_ids}
    for product_id, delta, at, reason, order_id in order_moves:
        by_product[product_id].append((at, delta, reason, order_id, None))
    manual = max(0, count - len(order_moves) - len(product_ids))
    decreases = ("used", "damaged", "expired", "correction")
    for _ in range(manual):
        product_id = rng.choice(product_ids)
        if rng.random() < 0.35:
            delta, reason = rng.randint(10, 200), rng.choice(("received", "received", "received", "returned"))
        else:
            delta, reason = -rng.randint(1, 25), rng.choice(decreases)
        by_product[product_id].append((moment(rng), delta, reason, None, None))
    written = 0
    rows: list[dict] = []
    balances: dict[int, int] = {}
    total = count
    for product_id, events in by_product.items():
        events.sort(key=lambda event: event[0])
        # The opening balance covers every decrease, so no later movement can take the balance below zero.
        taken = -sum(delta for _, delta, *_ in events if delta < 0)
        balance = taken + rng.choice((0, 0, 5, 20, 60, 150, 400))
        opening = END - timedelta(days=365 * YEARS)
        rows.append(_movement(product_id, balance, Reason.OPENING_BALANCE.value, None, opening, balance, None))
        for at, delta, reason, order_id, _ in events:
            balance += delta
            rows.append(_movement(product_id, delta, reason, order_id, at, balance, people[len(rows) % len(people)]))
        balances[product_id] = balance
        if len(rows) >= BATCH:
            db.session.execute(insert(StockMovement), rows)
            db.session.commit()
            written += len(rows)
            rows = []
            progress("movements", written, total)
    if rows:
        db.session.execute(insert(StockMovement), rows)
        written += len(rows)
    products = Product.__table__
    set_on_hand = update(products).where(products.c.id == bindparam("pid")).values(on_hand=bindparam("balance"))
    for batch in batches({"pid": pid, "balance": value} for pid, value in balances.items()):
        db.session.execute(set_on_hand, batch)
    db.session.commit()
    progress("movements", written, max(total, written))
    return written


def _movement(product_id, delta, reason, order_id, at, balance, user_id) -> dict:
    return {
        "product_id": product_id,
        "delta": delta,
        "reason": reason,
        "note": None,
        "user_id": user_id,
        "order_id": order_id,
        "at": at,
        "balance_after": balance,
        "idempotency_key": None,
    }
