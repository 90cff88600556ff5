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

import random
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import func, select

from app.auth import service as users
from app.auth.models import Role, User
from app.demo.common import Progress
from app.demo.documents import seed_documents
from app.demo.stock import seed_ledger, seed_orders, seed_products
from app.documents.models import Document
from app.extensions import db
from app.stock.models import Order, Product, StockMovement

PEOPLE = (("ana", "Ana"), ("ben", "Ben"), ("chloe", "Chloé"), ("dev", "Dev"), ("emma", "Emma"))
DEMO_DOMAIN = "demo.example.com"  # reserved for examples (RFC 2606): no mail reaches anyone


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
