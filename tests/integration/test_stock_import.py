"""Importing products from CSV: a preview first, then every row or none; the export imports back."""

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.ops.models import AuditEvent
from app.stock.ledger import add_stock
from app.stock.models import Product
from app.stock.products import ProductData, create_product

GOOD = (
    b"sku,name,unit,low_stock_threshold,reorder_quantity,active\nTEA-1,Green tea,kg,5,20,true\nCUP-2,Cup,pcs,0,0,yes\n"
)


def _products(app):
    with app.app_context():
        return {p.sku: p for p in db.session.scalars(select(Product))}


def _preview(client, data: bytes, name="products.csv"):
    from io import BytesIO

    return client.post("/stock/import", data={"file": (BytesIO(data), name)}, content_type="multipart/form-data")


def _confirm(client, preview):
    token = re.search(r'action="/stock/import/([^"]+)"', preview.get_data(as_text=True)).group(1)
    return client.post(f"/stock/import/{token}", data={"filename": "products.csv"})


def test_preview_writes_nothing_and_confirm_imports(app, client, auth):
    auth.login_as("staff")
    preview = _preview(client, GOOD)
    assert preview.status_code == 200
    assert "2 to create, 0 to update, 0 unchanged" in preview.get_data(as_text=True)
    assert _products(app) == {}
    assert _confirm(client, preview).status_code == 303
    products = _products(app)
    assert products["TEA-1"].unit == "kg"
    assert products["TEA-1"].low_stock_threshold == 5
    assert products["CUP-2"].on_hand == 0


def test_importing_the_same_file_twice_changes_nothing(app, client, auth):
    auth.login_as("staff")
    _confirm(client, _preview(client, GOOD))
    with app.app_context():
        audits = db.session.scalar(select(func.count(AuditEvent.id)))
    again = _preview(client, GOOD)
    assert "0 to create, 0 to update, 2 unchanged" in again.get_data(as_text=True)
    _confirm(client, again)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == audits


def test_an_exported_file_imports_back_cleanly(app, client, auth):
    auth.login_as("staff")
    with app.app_context():
        pid = create_product(ProductData.clean(sku="X-1", name="-20 freezer bags"), user_id=None).id
        add_stock(pid, 7, user_id=None)
    exported = client.get("/stock.csv?status=all").get_data()
    preview = _preview(client, exported)
    body = preview.get_data(as_text=True)
    assert "0 to create, 0 to update, 1 unchanged" in body
    assert "Ignored column on_hand" in body


def test_updates_show_what_changes(app, client, auth):
    auth.login_as("staff")
    _confirm(client, _preview(client, GOOD))
    preview = _preview(client, b"sku,name\nTEA-1,Green tea (loose)\n")
    body = preview.get_data(as_text=True)
    assert "0 to create, 1 to update, 0 unchanged" in body
    assert "name: Green tea → Green tea (loose)" in body
    _confirm(client, preview)
    products = _products(app)
    assert products["TEA-1"].name == "Green tea (loose)"
    assert products["TEA-1"].unit == "kg"  # a column the file does not have keeps its value


def test_bom_and_windows_line_endings_are_fine(app, client, auth):
    auth.login_as("staff")
    data = "\ufeffSKU,Name\r\nBOM-1,Caf\u00e9 cr\u00e8me\r\n".encode()
    preview = _preview(client, data)
    assert preview.status_code == 200
    _confirm(client, preview)
    assert _products(app)["BOM-1"].name == "Café crème"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,unit\nTea,kg\n", "missing required column: sku"),
        (b"sku,name,colour\nA,B,red\n", "unknown column: colour"),
        (b"sku,name\n", "no rows to import"),
        (b"", "The file is empty"),
        ("sku,name\nA,Gr\u00fcn\n".encode("latin-1"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
    ],
)
def test_files_that_cannot_be_read_say_why(app, client, auth, data, message):
    auth.login_as("staff")
    response = _preview(client, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _products(app) == {}


def test_bad_rows_are_named_and_nothing_is_imported(app, client, auth):
    auth.login_as("staff")
    data = (
        b"sku,name,low_stock_threshold,active\n"
        b"OK-1,Fine,3,true\n"
        b"BAD-2,Bad number,lots,true\n"
        b"OK-1,Duplicate,1,true\n"
        b",No sku,1,true\n"
        b"BAD-5,Bad flag,1,maybe\n"
    )
    response = _preview(client, data)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Must be a whole number, not &#39;lots&#39;" in body
    assert "SKU OK-1 is already on line 2" in body
    assert "A SKU is required." in body
    assert "Must be true or false" in body
    assert "1 to create, 0 to update, 0 unchanged, 4 with errors" in body
    assert 'action="/stock/import/' not in body  # no import button
    assert _products(app) == {}


def test_a_file_over_the_size_limit_is_refused(app, client, auth):
    auth.login_as("staff")
    app.config["MAX_IMPORT_BYTES"] = 1024
    response = _preview(client, b"sku,name\n" + b"A,B\n" * 1000)
    assert response.status_code == 400
    assert "the limit is" in response.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 2048
    too_big = _preview(client, b"sku,name\n" + b"A,B\n" * 2000)
    assert too_big.status_code == 413
    assert _products(app) == {}


def test_someone_elses_preview_cannot_be_confirmed(app, client, auth, make_user):
    auth.login_as("staff")
    preview = _preview(client, GOOD)
    token = re.search(r'action="/stock/import/([^"]+)"', preview.get_data(as_text=True)).group(1)
    auth.logout()
    auth.login_as("staff")
    assert client.post(f"/stock/import/{token}").status_code == 404
    assert _products(app) == {}


def test_cli_import_dry_run_then_real(app, runner, tmp_path):
    path = tmp_path / "products.csv"
    path.write_bytes(GOOD)
    dry = runner.invoke(args=["stock", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing was written." in dry.output
    assert _products(app) == {}
    real = runner.invoke(args=["stock", "import", str(path)])
    assert "Imported: 2 created, 0 updated, 0 unchanged." in real.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"sku,name\nA,\n")
    failed = runner.invoke(args=["stock", "import", str(bad)])
    assert failed.exit_code == 1
    assert "line 2: A: name: A name is required." in failed.output
