"""`flask demo seed`: realistic demo data that keeps every rule of the app, the same for the same seed."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from app.classify.models import Review
from app.documents.models import Document
from app.documents.storage import blob_store
from app.extensions import db
from app.search import indexer
from app.search import service as search_service
from app.stock.ledger import verify_ledger
from app.stock.models import Order, OrderLine, Product, StockAlert, StockMovement

SMALL = ["--documents", "60", "--products", "12", "--movements", "600", "--orders", "25", "--reviews", "15"]


def _seed(app, *extra: str):
    return app.test_cli_runner().invoke(args=["demo", "seed", *SMALL, *extra])


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _fingerprint() -> str:
    """Everything a person would see of the seeded data, in one digest."""
    digest = hashlib.sha256()
    for row in db.session.execute(
        select(Document.filename, Document.text, Document.review_state, Document.document_date).order_by(Document.id)
    ):
        digest.update(repr(tuple(row)).encode())
    for row in db.session.execute(select(Product.sku, Product.name, Product.on_hand).order_by(Product.id)):
        digest.update(repr(tuple(row)).encode())
    for row in db.session.execute(
        select(StockMovement.product_id, StockMovement.delta, StockMovement.reason, StockMovement.at).order_by(
            StockMovement.id
        )
    ):
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_seed_fills_every_part_and_keeps_the_apps_rules(app):
    result = _seed(app)
    assert result.exit_code == 0, result.output
    assert "Seeded 60 documents (15 reviewed, 60 indexed), 12 products, 600 movements and 25 orders" in result.output
    with app.app_context():
        assert _count(Document) == 60
        assert _count(Review) == 15
        assert _count(Product) == 12
        assert _count(StockMovement) == 600
        assert _count(Order) == 25
        assert _count(OrderLine) >= 25
        assert verify_ledger() == []  # every product's stock is the sum of its movements
        assert db.session.scalar(select(func.min(StockMovement.balance_after))) >= 0
        assert indexer.verify().clean  # the search index holds exactly the documents
        found = search_service.search("invoice")
        assert found.total > 0
        document = db.session.scalars(select(Document).order_by(Document.id)).first()
        with blob_store().open(document.sha256) as stored:  # each document can be downloaded
            assert stored.read().decode() == document.text
        low = db.session.scalars(select(Product).where(Product.on_hand <= Product.low_stock_threshold)).all()
        low = [product for product in low if product.low_stock_threshold and product.active]
        assert _count(StockAlert) == len(low)  # the low-stock check ran


def test_the_same_seed_gives_the_same_data(app, tmp_path):
    assert _seed(app).exit_code == 0
    with app.app_context():
        first = _fingerprint()
    from app import create_app
    from app.config import config_for_tests

    other = create_app(config_for_tests(tmp_path / "other", f"sqlite:///{tmp_path / 'other.db'}"))
    with other.app_context():
        db.create_all()
    assert _seed(other).exit_code == 0
    with other.app_context():
        assert _fingerprint() == first
        db.engine.dispose()


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_a_database_with_data_of_its_own_is_refused_unless_forced(app):
    assert _seed(app).exit_code == 0
    refused = _seed(app, "--seed", "2")
    assert refused.exit_code == 1
    assert "already holds 60 documents, 12 products, 25 orders, 600 movements" in refused.output
    assert "--force" in refused.output
    with app.app_context():
        assert (_count(Document), _count(Product)) == (60, 12)  # nothing was added
    forced = _seed(app, "--seed", "2", "--force")
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert (_count(Document), _count(Product)) == (120, 24)
        assert verify_ledger() == []
