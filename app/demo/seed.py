"""Demo data at size: documents with text, products, a long ledger, orders and reviews, fast and the same every time.

For trying the app with something in it, and for measuring it at the size a busy back office reaches
(100,000 documents, 5,000 products, 1,000,000 movements). Rows go in with bulk inserts in batches;
the rules the services keep still hold: every product's `on_hand` is the sum of its movements and
each movement's `balance_after` never goes below zero (`flask stock verify` passes), placed and
fulfilled orders took their stock through `order` movements and cancelled ones gave it back,
documents are processed, classified and stored as text files in the blob store, reviewed ones
have a review by one of the demo people. The search index is built afterwards by the same
rebuild as `flask search reindex`, and the periodic low-stock check opens the alerts.

Everything comes from one `random.Random(seed)`: the same options give the same data.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, insert, select, update

from app.auth import service as users
from app.auth.models import Role, User
from app.classify import categories, corpus
from app.classify.models import Category, Review
from app.documents.models import Correspondent, Document, DocumentState, DocumentTag, ReviewState
from app.documents.storage import LocalBlobStore, StoredBlob, blob_store
from app.extensions import db
from app.stock.models import Order, OrderLine, OrderStatus, Product, Reason, StockMovement

BATCH = 5_000
END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # the newest demo row; a fixed date keeps runs alike
YEARS = 2
PEOPLE = (("ana", "Ana"), ("ben", "Ben"), ("chloe", "Chloé"), ("dev", "Dev"), ("emma", "Emma"))
DEMO_DOMAIN = "demo.example.com"  # reserved for examples (RFC 2606): no mail reaches anyone
CORRESPONDENTS = 300
TAGS = ("urgent", "paid", "to check", "archived", "2025 audit", "samples", "export", "contract renewal")
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

Progress = Callable[[str, int, int], None]  # (what, done, of)


class NotEmpty(RuntimeError):
    """The database holds data of its own; seeding would mix demo rows into it."""


@dataclass(frozen=True)
class Seeded:
    documents: int
    reviews: int
    products: int
    movements: int
    orders: int
    indexed: int
    seconds: float


def existing_data() -> dict[str, int]:
    """What the database already holds that seeding would add to (people and categories do not count)."""
    counts = {
        "documents": db.session.scalar(select(func.count(Document.id))) or 0,
        "products": db.session.scalar(select(func.count(Product.id))) or 0,
        "orders": db.session.scalar(select(func.count(Order.id))) or 0,
        "movements": db.session.scalar(select(func.count(StockMovement.id))) or 0,
    }
    return {name: count for name, count in counts.items() if count}


def _batches(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _moment(rng: random.Random) -> datetime:
    """A time in the last YEARS years, during office hours on a weekday more often than not."""
    when = END - timedelta(days=rng.uniform(0, 365 * YEARS))
    return when.replace(hour=rng.choice((8, 9, 10, 11, 13, 14, 15, 16, 17)), minute=rng.randrange(60))


# ---------------------------------------------------------------- people


def demo_people() -> list[int]:
    """The demo's staff (created once, with passwords nobody knows: they are names on rows, not logins)."""
    ids = []
    for login, name in PEOPLE:
        email = f"{login}@{DEMO_DOMAIN}"
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        if user_id is None:
            user = users.create_user(email, Role.STAFF, secrets.token_urlsafe(24), actor_id=None)
            users.set_display_name(user.id, name)
            user_id = user.id
        ids.append(user_id)
    db.session.commit()
    return ids


# ---------------------------------------------------------------- documents


FIRM_FIRST = ("Valley", "Harbour", "Northern", "Alpine", "Golden", "Riverside", "Highland", "Coastal",
              "Old Mill", "Green Hill", "Sunrise", "Westend", "Lakeside", "Royal", "Meadow", "Stone Bridge",
              "Kestrel", "Juniper")  # fmt: skip
FIRM_SECOND = ("Tea Estates", "Roasters", "Packaging", "Logistics", "Foods", "Imports", "Trading", "Mills",
               "Freight", "Insurance", "Printing", "Cold Chain", "Ceramics", "Labs")  # fmt: skip
FIRM_FORM = ("Ltd", "GmbH", "B.V.", "S.r.l.", "SARL", "S.L.", "& Co", "AG")


def _correspondents(rng: random.Random) -> list[int]:
    """About CORRESPONDENTS firms the documents come from (made-up names), added once."""
    names = sorted({f"{rng.choice(FIRM_FIRST)} {rng.choice(FIRM_SECOND)} {rng.choice(FIRM_FORM)}"
                    for _ in range(CORRESPONDENTS)})  # fmt: skip
    taken = set(db.session.scalars(select(Correspondent.name_key)))
    rows = [{"name": name, "name_key": name.casefold(), "created_at": END} for name in names]
    rows = [row for row in rows if row["name_key"] not in taken]
    if rows:
        db.session.execute(insert(Correspondent), rows)
    db.session.commit()
    return list(db.session.scalars(select(Correspondent.id).order_by(Correspondent.id)))


def seed_documents(
    rng: random.Random, count: int, reviews: int, people: list[int], progress: Progress
) -> tuple[int, int]:
    """`count` processed documents (text files in the blob store), `reviews` of them reviewed; (documents, reviews)."""
    if count <= 0:
        return 0, 0
    categories.ensure_default_categories()
    kinds = dict(db.session.execute(select(Category.name, Category.id).where(Category.active.is_(True))).all())
    labels = [name for name in corpus.CATEGORIES if name in kinds]
    per_category = math.ceil(count / len(labels))
    texts = corpus.generate(per_category, seed=rng.randrange(2**31))
    texts = [item for item in texts if item.category in kinds]
    rng.shuffle(texts)
    texts = texts[:count]
    correspondents = _correspondents(rng)
    threshold = current_app.config["AUTO_ACCEPT_THRESHOLD"]
    store = blob_store()
    reviewed_at = set(rng.sample(range(len(texts)), min(reviews, len(texts))))
    done = 0
    before = db.session.scalar(select(func.count(Document.id))) or 0  # numbers go on after earlier documents
    review_rows: list[dict] = []
    for start in range(0, len(texts), BATCH):
        rows, tag_rows, chosen = [], [], []
        for offset, item in enumerate(texts[start : start + BATCH]):
            n = start + offset
            data = f"{item.text}\n\nDemo document {before + n + 1}\n".encode()
            stored = _store(store, data)
            uploaded = _moment(rng)
            confidence = round(rng.betavariate(8, 1.6), 4)
            others = [name for name in labels if name != item.category]
            predicted = item.category if n not in reviewed_at or rng.random() < 0.85 else rng.choice(others)
            second = item.category if predicted != item.category else rng.choice(others)
            review_state = (
                ReviewState.REVIEWED
                if n in reviewed_at
                else (ReviewState.AUTO_ACCEPTED if confidence >= threshold else ReviewState.NEEDS_REVIEW)
            )
            slug = item.category.replace(" ", "_")
            rows.append(
                {
                    "sha256": stored.sha256,
                    "filename": f"{slug}_{uploaded:%Y%m%d}_{before + n + 1:06d}.txt",
                    "size": stored.size,
                    "mime": "text/plain",
                    "kind": "text",
                    "state": DocumentState.PROCESSED.value,
                    "state_changed_at": uploaded + timedelta(seconds=3),
                    "attempts": 1,
                    "uploaded_by": people[n % len(people)],
                    "uploaded_at": uploaded,
                    "processing_started_at": uploaded + timedelta(seconds=1),
                    "finished_at": uploaded + timedelta(seconds=3),
                    "pages": 1,
                    "pages_processed": 1,
                    "ocr_pages": 0,
                    "text": data.decode(),
                    "text_sha256": stored.sha256,
                    "review_state": review_state.value,
                    "category_id": kinds[item.category] if review_state != ReviewState.NEEDS_REVIEW else None,
                    "predictions": [[predicted, confidence], [second, round((1 - confidence) * 0.7, 4)]],
                    "confidence": confidence,
                    "review_reason": None
                    if review_state != ReviewState.NEEDS_REVIEW
                    else f"The model is {confidence:.0%} sure, below the {threshold:.0%} needed.",
                    "document_date": (uploaded - timedelta(days=rng.randint(0, 20))).date(),
                    "correspondent_id": rng.choice(correspondents) if rng.random() < 0.8 else None,
                }
            )
            chosen.append((n, item.category, predicted, confidence))
        ids = list(db.session.scalars(insert(Document).returning(Document.id, sort_by_parameter_order=True), rows))
        for document_id, (n, category, predicted, confidence), row in zip(ids, chosen, rows, strict=True):
            if rng.random() < 0.15:
                for tag in rng.sample(TAGS, rng.randint(1, 2)):
                    tag_rows.append({"document_id": document_id, "tag": tag})
            if n in reviewed_at:
                review_rows.append(
                    {
                        "document_id": document_id,
                        "user_id": people[(n + 1) % len(people)],
                        "at": row["finished_at"] + timedelta(hours=rng.uniform(0.1, 30)),
                        "predicted": predicted,
                        "confidence": confidence,
                        "chosen_category_id": kinds[category],
                        "accepted": predicted == category,
                    }
                )
        if tag_rows:
            db.session.execute(insert(DocumentTag), tag_rows)
        db.session.commit()
        done += len(rows)
        progress("documents", done, len(texts))
    for batch in _batches(iter(review_rows)):
        db.session.execute(insert(Review), batch)
    db.session.commit()
    os.sync()  # the files written without an fsync each
    return len(texts), len(review_rows)


def _store(store, data: bytes) -> StoredBlob:
    """The text as the document's file. On local disk without an fsync per file (one `os.sync` at the end
    does for all: a demo can be seeded again), elsewhere through the store's own `put`."""
    if not isinstance(store, LocalBlobStore):
        return store.put(io.BytesIO(data), max_bytes=len(data) + 1)
    sha256 = hashlib.sha256(data).hexdigest()
    path = store.local_path(sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{sha256}.seeding")
        partial.write_bytes(data)
        partial.replace(path)
    return StoredBlob(sha256, len(data), path)


# ---------------------------------------------------------------- products, orders, the ledger


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
    for batch in _batches(iter(rows)):
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
        created = _moment(rng)
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
    for batch in _batches(iter(orders)):
        ids += db.session.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), batch)
    line_rows = []
    for order_id, row, lines in zip(ids, orders, lines_by_order, strict=True):
        for product_id, quantity in lines.items():
            line_rows.append({"order_id": order_id, "product_id": product_id, "quantity": quantity})
            if row["placed_at"] is not None:
                moves.append((product_id, -quantity, row["placed_at"], Reason.ORDER.value, order_id))
            if row["cancelled_at"] is not None:
                moves.append((product_id, quantity, row["cancelled_at"], Reason.ORDER_CANCELLED.value, order_id))
    for batch in _batches(iter(line_rows)):
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
        by_product[product_id].append((_moment(rng), delta, reason, None, None))
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
    for batch in _batches({"pid": pid, "balance": value} for pid, value in balances.items()):
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


# ---------------------------------------------------------------- all of it


def seed(
    *,
    documents: int,
    products: int,
    movements: int,
    orders: int,
    reviews: int,
    seed: int = 1,
    force: bool = False,
    progress: Progress | None = None,
) -> Seeded:
    """Add the demo data, build the search index and open the low-stock alerts; raises NotEmpty unless `force`."""
    from app.search import indexer
    from app.stock import alerts

    began = time.monotonic()
    if not force and (found := existing_data()):
        held = ", ".join(f"{count:,} {name}" for name, count in found.items())
        raise NotEmpty(f"The database already holds {held}.")
    report = progress or (lambda what, done, of: None)
    rng = random.Random(seed)
    people = demo_people()
    made, reviewed = seed_documents(random.Random(rng.random()), documents, reviews, people, report)
    product_ids = seed_products(random.Random(rng.random()), products)
    order_moves = seed_orders(random.Random(rng.random()), orders if product_ids else 0, product_ids, people)
    written = seed_ledger(random.Random(rng.random()), movements, product_ids, order_moves, people, report)
    alerts.check()
    db.session.commit()
    indexed = indexer.reindex(lambda done, of: report("search index", done, of), wait=600.0) if made else 0
    return Seeded(
        made, reviewed, len(product_ids), written, orders if product_ids else 0, indexed, time.monotonic() - began
    )
