"""README claim: AES-encrypted PDFs that need no password open, for real.

The requirements list `cryptography` so that pypdf can undo AES itself. The older test in
test_extract.py replaces pypdf's decryption to prove the pdfium fallback; these tests replace
nothing: the PDF is encrypted with AES by pypdf, read through the real extraction, and uploaded
through the app to the document page. A PDF whose AES lock needs a password still fails once,
with its reason.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PasswordType, PdfReader, PdfWriter
from sqlalchemy import select

from app.documents import extract
from app.documents.extract import EncryptedPdf
from app.documents.models import Document
from app.extensions import db
from tests.support import documents as files
from tests.support.factories import upload

AES = ["AES-128", "AES-256"]


def make_aes_pdf(path: Path, lines: list[str], algorithm: str, user_password: str = "") -> Path:
    """A typed PDF locked with AES; an empty user password is the common 'owner password only' kind."""
    writer = PdfWriter(clone_from=PdfReader(BytesIO(files.text_pdf_bytes([lines]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    with path.open("wb") as out:
        writer.write(out)
    return path


@pytest.mark.parametrize("algorithm", AES)
def test_an_aes_encrypted_pdf_is_really_encrypted_and_pypdf_opens_it_itself(tmp_path, algorithm):
    """The file under test is what the claim is about: AES, and opened without any fallback."""
    pdf = make_aes_pdf(tmp_path / "aes.pdf", ["Quarterly tea price index"], algorithm)
    reader = PdfReader(pdf)
    assert reader.is_encrypted
    assert b"/AESV" in pdf.read_bytes()  # AESV2 (128) or AESV3 (256) in the encryption dictionary
    assert reader.decrypt("") != PasswordType.NOT_DECRYPTED  # needs `cryptography`; raises without it


@pytest.mark.parametrize("algorithm", AES)
def test_an_aes_encrypted_pdf_without_a_password_gives_its_text(tmp_path, algorithm):
    pdf = make_aes_pdf(tmp_path / "aes.pdf", ["Quarterly tea price index, page one", "Assam 12.40 EUR"], algorithm)

    result = extract.extract(pdf)

    assert "Quarterly tea price index, page one" in result.text
    assert "Assam 12.40 EUR" in result.text
    assert (result.kind, result.pages, result.pages_processed, result.ocr_pages) == ("pdf", 1, 1, 0)
    assert result.notes == []


@pytest.mark.parametrize("algorithm", AES)
def test_an_aes_pdf_that_needs_a_password_is_refused_for_good(tmp_path, algorithm):
    pdf = make_aes_pdf(tmp_path / "locked.pdf", ["Secret price list"], algorithm, user_password="open-sesame")

    with pytest.raises(EncryptedPdf) as caught:
        extract.extract(pdf)

    assert caught.value.permanent
    assert "password-protected" in str(caught.value)


def test_an_uploaded_aes_pdf_is_processed_and_its_text_is_shown(app, client, auth, tmp_path):
    """End to end through the upload, the worker's pipeline and the document page."""
    auth.login_as("staff")
    pdf = make_aes_pdf(tmp_path / "statement.pdf", ["Bank statement for March 2026", "Balance 4,711.00"], "AES-256")

    response = upload(client, "statement.pdf", pdf.read_bytes())

    assert response.status_code == 201
    with app.app_context():
        (document,) = db.session.scalars(select(Document)).all()
        assert (document.state, document.failure_reason) == ("processed", None)
        assert "Bank statement for March 2026" in document.text
        document_id = document.id
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "Balance 4,711.00" in page
