"""Operators' stock commands: add, verify, export."""

import csv
import io

from sqlalchemy import text

from app.extensions import db
from app.stock.products import ProductData, create_product


def _product(app, sku="CLI-1"):
    with app.app_context():
        return create_product(ProductData.clean(sku=sku, name="From the shell"), user_id=None).id


def test_add_and_remove_by_sku(app, runner):
    _product(app)
    added = runner.invoke(args=["stock", "add", "CLI-1", "+24"])
    assert added.exit_code == 0, added.output
    assert "CLI-1: +24 (received), 24 on hand." in added.output
    removed = runner.invoke(args=["stock", "add", "CLI-1", "--reason", "damaged", "--", "-4"])
    assert "CLI-1: -4 (damaged), 20 on hand." in removed.output
    refused = runner.invoke(args=["stock", "add", "CLI-1", "--", "-21"])
    assert refused.exit_code == 1
    assert "20 available, 21 needed" in refused.output
    unknown = runner.invoke(args=["stock", "add", "NOPE", "1"])
    assert unknown.exit_code == 1
    assert "There is no product with SKU 'NOPE'" in unknown.output


def test_verify_exits_non_zero_naming_the_product(app, runner):
    pid = _product(app, "GOOD-1")
    bad = _product(app, "BAD-1")
    runner.invoke(args=["stock", "add", "GOOD-1", "5"])
    ok = runner.invoke(args=["stock", "verify"])
    assert ok.exit_code == 0
    assert "OK: on-hand matches the ledger for all 2 products." in ok.output
    with app.app_context():
        db.session.execute(text("UPDATE products SET on_hand = 3 WHERE id = :id"), {"id": bad})
        db.session.commit()
    broken = runner.invoke(args=["stock", "verify"])
    assert broken.exit_code == 1
    assert "MISMATCH BAD-1: on hand 3, ledger sum 0" in broken.output
    assert "GOOD-1" not in broken.output
    assert pid


def test_export_products_and_ledger(app, runner, tmp_path):
    _product(app)
    runner.invoke(args=["stock", "add", "CLI-1", "7"])
    products = tmp_path / "products.csv"
    assert runner.invoke(args=["stock", "export", str(products)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(products.read_text(encoding="utf-8"))))
    assert [(r["sku"], r["on_hand"]) for r in rows] == [("CLI-1", "7")]
    ledger = tmp_path / "ledger.csv"
    assert runner.invoke(args=["stock", "export", "--ledger", str(ledger)]).exit_code == 0
    assert '"CLI-1","7","received","7"' in ledger.read_text()  # every cell quoted
