"""Hostile files, uploaded as an attacker would: each refused with a message or read safely, never served back live.

The corpus is made here, by our own code: polyglots, a PDF that carries JavaScript, an SVG and an
HTML page under image names, a ZIP bomb dressed as a Word file, a decompression-bomb PNG,
encrypted and truncated PDFs, NUL bytes, and file names with HTML, right-to-left marks and
path traversal. For each: the upload answers 201 or a 4xx with a message, never a 500; a
document that was accepted ends processed or failed once with a sentence (no retry loop, no
exception name); its page shows everything escaped; its download is an attachment the
browser is told not to sniff or run; and nothing is written outside the data folder.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from sqlalchemy import func, select

from app.documents.models import Document, DocumentEvent
from app.extensions import db
from tests.support import documents as files

SCRIPT = b"<script>alert(document.cookie)</script>"


def _pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.append(io.BytesIO(files.text_pdf_bytes([["Invoice 12 for green tea"]])))
    writer.add_open_action(JavaScript("app.alert('pwned');"))  # runs when a viewer opens it
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip_bomb_docx() -> bytes:
    """A Word file whose document.xml is 300 MB of one repeated character: a few hundred KB zipped."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><w:document><w:body><w:p><w:r><w:t>')
            chunk = b"A" * (1024 * 1024)
            for _ in range(300):
                member.write(chunk)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return out.getvalue()


def _corpus(tmp: Path) -> list[tuple[str, bytes]]:
    """(file name as uploaded, bytes) for every hostile file."""
    pdf = files.text_pdf_bytes([["Delivery note 5 for oolong"]])
    return [
        ("polyglot.pdf", pdf + b"\n<html><body>" + SCRIPT + b"</body></html>\n"),
        ("html-then-pdf.html", b"<html>" + SCRIPT + b"</html>\n" + pdf),
        ("javascript.pdf", _pdf_with_javascript()),
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">' + SCRIPT + b"<text>tea</text></svg>",
        ),
        ("photo.png", b"<!DOCTYPE html><html><body>" + SCRIPT + b"<p>not a picture</p></body></html>"),
        ("bomb.docx", _zip_bomb_docx()),
        ("bomb.png", files.make_decompression_bomb_png(tmp / "bomb.png").read_bytes()),
        ("locked.pdf", files.make_encrypted_pdf(tmp / "locked.pdf", ["Secret invoice"]).read_bytes()),
        ("cut.pdf", files.make_truncated_pdf(tmp / "cut.pdf", ["Half a delivery note"]).read_bytes()),
        ("nul.txt", b"Invoice 9\x00\x00\x00 for \x00 black tea\x00"),
        ("zeros.bin", b"\x00" * 4096),
        ('<img src=x onerror="alert(1)">.txt', b"A file name with HTML in it"),
        ("invoice\u202egnp.exe", b"A file name with a right-to-left override"),
        ("../../../../etc/passwd", b"root:x:0:0:not really:/root:/bin/sh"),
        ("..\\..\\windows\\win.ini", b"[fonts] a traversal with backslashes"),
        ("/etc/shadow", b"an absolute path as a file name"),
        ("program.exe", files.make_elf(tmp / "program").read_bytes()),
    ]


def _events(document_id: int, kind: str) -> int:
    return db.session.scalar(
        select(func.count()).where(DocumentEvent.document_id == document_id, DocumentEvent.event == kind)
    )


def test_every_hostile_file_is_refused_or_read_safely_and_never_served_live(app, client, auth, tmp_path):
    auth.login_as("staff")
    data_dir = Path(app.config["DATA_DIR"]).resolve()
    made = tmp_path / "made"
    made.mkdir()
    corpus = _corpus(made)
    before = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()}
    seen = []
    for name, content in corpus:
        response = client.post(
            "/documents/upload", data={"files": (io.BytesIO(content), name)}, content_type="multipart/form-data"
        )
        body = response.get_data(as_text=True)
        assert response.status_code < 500, f"{name}: {response.status_code}"
        assert "<script>" not in body, f"{name}: the upload answer carries live markup"
        if response.status_code >= 400:
            assert "error" in body.lower() or "not" in body.lower(), f"{name}: refused without saying why"
            seen.append((name, response.status_code, "refused"))
            continue
        with app.app_context():
            document = db.session.scalar(select(Document).order_by(Document.id.desc()))
            assert document.state in ("processed", "failed"), f"{name}: left {document.state}"
            if document.state == "failed":
                reason = document.failure_reason or ""
                assert reason.endswith((".", ")")), f"{name}: {reason!r} is not a sentence"
                assert "Error" not in reason, f"{name}: {reason!r}"
                assert "Traceback" not in reason, f"{name}: {reason!r}"
                assert _events(document.id, "failed") == 1, f"{name}: failed more than once"
            assert document.attempts <= 1, f"{name}: {document.attempts} attempts"
            assert "/" not in document.filename, document.filename
            assert "\\" not in document.filename, document.filename
            document_id, state = document.id, document.state
        page = client.get(f"/documents/{document_id}").get_data(as_text=True)
        assert "<script>alert" not in page, f"{name}: script on the document page"
        assert 'onerror="alert' not in page, f"{name}: live attribute on the page"
        assert 'onload="alert' not in page, f"{name}: live attribute on the page"
        with client.get(f"/documents/{document_id}/download") as download:
            assert download.status_code == 200, name
            assert download.headers["Content-Disposition"].startswith("attachment"), name
            assert download.headers["X-Content-Type-Options"] == "nosniff", name
            assert "sandbox" in download.headers["Content-Security-Policy"], name
            assert download.mimetype not in ("text/html", "image/svg+xml", "application/xhtml+xml"), name
        seen.append((name, 201, state))
    written = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()} - before
    assert all(data_dir in p.parents for p in written), "a file landed outside the data folder"
    assert not {p.name for p in written} & {"passwd", "shadow", "win.ini"}, "a name from an upload became a path"
    assert len(seen) == len(corpus)
    # The dangerous ones must not have been read as what they pretend to be.
    outcomes = {name: state for name, _, state in seen}
    assert outcomes["bomb.docx"] in ("failed", "refused")
    assert outcomes["bomb.png"] in ("failed", "refused")
    assert outcomes["locked.pdf"] in ("failed", "refused")
    assert outcomes["program.exe"] in ("failed", "refused")
    assert outcomes["zeros.bin"] == "refused"  # nothing readable: said at the upload, not stored


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/shadow", "..\\..\\windows\\win.ini"])
def test_a_traversal_name_is_stored_as_a_plain_name(app, client, auth, name):
    auth.login_as("staff")
    response = client.post(
        "/documents/upload",
        data={"files": (io.BytesIO(b"plain text " + name.encode()), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    with app.app_context():
        stored = db.session.scalar(select(Document.filename).order_by(Document.id.desc()))
    assert stored
    assert ".." not in stored
    assert "/" not in stored
    assert "\\" not in stored
