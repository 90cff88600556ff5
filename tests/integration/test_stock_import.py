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


# ---------------------------------------------------------------- issue 14


def _movements(app):
    from app.stock.models import StockMovement

    with app.app_context():
        return [(m.product.sku, m.delta, m.reason, m.note) for m in db.session.scalars(select(StockMovement))]


def test_on_hand_on_a_first_import_is_an_opening_balance_once(app, client, auth):
    auth.login_as("staff")
    data = b"sku,name,low_stock_threshold,on_hand\nTEA-1,Green tea,5,12\nCUP-2,Cup,0,\nJAR-3,Jar,0,0\n"
    preview = _preview(client, data)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "3 to create, 0 to update, 0 unchanged, 1 with an opening balance" in body
    assert 'data-testid="opening">opening balance 12<' in body
    assert _movements(app) == []
    assert _confirm(client, preview).status_code == 303
    products = _products(app)
    assert (products["TEA-1"].on_hand, products["CUP-2"].on_hand, products["JAR-3"].on_hand) == (12, 0, 0)
    assert _movements(app) == [("TEA-1", 12, "opening_balance", "Opening balance from products.csv")]
    # The same file, or another figure, later: never a second opening balance; the ledger is the truth now.
    again = _preview(client, b"sku,name,low_stock_threshold,on_hand\nTEA-1,Green tea,5,40\n")
    assert "0 to create, 0 to update, 1 unchanged" in again.get_data(as_text=True)
    assert "Ignored column on_hand on 1 row" in again.get_data(as_text=True)
    _confirm(client, again)
    assert _products(app)["TEA-1"].on_hand == 12
    assert len(_movements(app)) == 1
    ledger = client.get("/stock/ledger").get_data(as_text=True)
    assert "Opening balance" in ledger
    with app.app_context():
        from app.stock.ledger import verify_ledger

        assert verify_ledger() == []


def test_a_product_without_stock_history_gets_its_opening_balance_on_a_later_import(app, client, auth):
    auth.login_as("staff")
    with app.app_context():
        create_product(ProductData.clean(sku="NEW-1", name="New"), user_id=None)
    preview = _preview(client, b"sku,name,on_hand\nnew-1,New,7\n")
    assert "0 to create, 1 to update, 0 unchanged, 1 with an opening balance" in preview.get_data(as_text=True)
    _confirm(client, preview)
    assert _products(app)["NEW-1"].on_hand == 7  # matched ignoring case, stored SKU kept
    assert _movements(app) == [("NEW-1", 7, "opening_balance", "Opening balance from products.csv")]


@pytest.mark.parametrize("value", ["-3", "lots", "1.5", "99999999999999"])
def test_a_bad_on_hand_is_a_row_error(app, client, auth, value):
    auth.login_as("staff")
    response = _preview(client, f"sku,name,on_hand\nA-1,Thing,{value}\n".encode())
    assert response.status_code == 400
    assert "on_hand: " in response.get_data(as_text=True)
    assert _products(app) == {}


def test_import_matches_skus_whatever_their_case(app, client, auth):
    auth.login_as("staff")
    _confirm(client, _preview(client, GOOD))
    preview = _preview(client, b"sku,name\ntea-1,Green tea (loose)\n")
    body = preview.get_data(as_text=True)
    assert "0 to create, 1 to update, 0 unchanged" in body
    assert "sku:" not in body  # the stored SKU keeps its case
    _confirm(client, preview)
    assert _products(app)["TEA-1"].name == "Green tea (loose)"
    duplicate = _preview(client, b"sku,name\nNEW-9,One\nnew-9,Two\n")
    assert "SKU new-9 is already on line 2 (SKUs ignore case)" in duplicate.get_data(as_text=True)


BAD_AND_GOOD = b"sku,name,low_stock_threshold,on_hand\nOK-1,Fine,3,4\nBAD-2,Bad number,lots,1\nOK-3,Also fine,0,\n"


def test_the_preview_lists_errors_first(client, auth):
    auth.login_as("staff")
    body = _preview(client, BAD_AND_GOOD).get_data(as_text=True)
    rows = re.findall(r'<tr class="import-(\w+)">\s*<td>(\d+)</td>', body)
    assert rows == [("error", "3"), ("create", "2"), ("create", "4")]


def test_importing_the_valid_rows_and_skipping_the_rest_is_an_explicit_choice(app, client, auth):
    auth.login_as("staff")
    preview = _preview(client, BAD_AND_GOOD)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 400
    assert 'action="/stock/import/' not in body  # no button imports anything from this page
    assert "upload it again" in body
    link = re.search(r'href="(/stock/import/[^"/]+/valid\?[^"]*)"[^>]*data-testid="skip-errors"', body).group(1)
    question = client.get(link.replace("&amp;", "&"))
    assert question.status_code == 200
    asked = question.get_data(as_text=True)
    assert "Line 3 (BAD-2): low_stock_threshold: Must be a whole number" in asked
    assert _products(app) == {}  # asking wrote nothing
    token = re.search(r'action="/stock/import/([^"]+)"', asked).group(1)
    assert 'name="skip_errors" value="1"' in asked
    # Without the choice, the same file is still all or nothing.
    refused = client.post(f"/stock/import/{token}", data={"filename": "products.csv"})
    assert refused.status_code == 400
    assert _products(app) == {}
    done = client.post(f"/stock/import/{token}", data={"filename": "products.csv", "skip_errors": "1"})
    assert done.status_code == 303
    assert set(_products(app)) == {"OK-1", "OK-3"}
    assert _products(app)["OK-1"].on_hand == 4
    flashed = client.get("/stock").get_data(as_text=True)
    assert "1 row with errors skipped" in flashed
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "product.import")).one()
        assert event.after["skipped_lines"] == [3]


def test_a_file_with_only_errors_offers_no_skip(app, client, auth):
    auth.login_as("staff")
    body = _preview(client, b"sku,name,active\nA-1,Thing,maybe\n").get_data(as_text=True)
    assert 'data-testid="skip-errors"' not in body
    assert "Nothing will be imported until every row is right." in body
