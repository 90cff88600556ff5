"""Deleting and purging documents: out of every list at once, back by uploading again, gone for good on purge."""

from pathlib import Path

from sqlalchemy import select

from app.documents.models import Document
from app.documents.storage import thumbnail_path
from app.extensions import db
from app.search.service import search
from tests.support import documents as files
from tests.support.factories import upload


def _document(app, name: str) -> Document:
    with app.app_context():
        return db.session.scalar(select(Document).where(Document.filename == name))


def test_a_deleted_document_leaves_the_lists_and_counts_at_once(app, client, auth):
    auth.login_as("staff")
    upload(client, "keep.txt", b"Delivery note for keeping")
    upload(client, "drop.txt", b"Delivery note for dropping")
    dropped = _document(app, "drop.txt")
    with app.app_context():
        assert search("dropping").total == 1

    response = client.post(f"/documents/{dropped.id}/delete")

    assert response.status_code == 303
    listing = client.get("/documents").get_data(as_text=True)
    assert "drop.txt was moved to the trash." in listing  # the message
    assert ">keep.txt</a>" in listing
    assert ">drop.txt</a>" not in listing
    assert "processed 1" in listing
    assert "drop.txt" not in client.get("/documents.csv").get_data(as_text=True)
    assert "drop.txt" not in client.get("/review").get_data(as_text=True)
    page = client.get(f"/documents/{dropped.id}")  # in the trash: for admins only (issue 12)
    assert page.status_code == 404
    assert "Delivery note for dropping" not in page.get_data(as_text=True)
    assert client.get(f"/documents/{dropped.id}/download").status_code == 404
    again = client.post(f"/documents/{dropped.id}/delete")
    assert again.status_code == 409
    with app.app_context():
        assert search("dropping").total == 0  # gone from the search as well
        assert search("keeping").total == 1


def test_viewers_cannot_delete_and_only_admins_purge(app, client, auth, make_user):
    staff = make_user("staff")
    auth.login(staff.email)
    upload(client, "a.txt", b"Some letter")
    document = _document(app, "a.txt")
    auth.logout()
    auth.login_as("viewer")
    assert client.post(f"/documents/{document.id}/delete").status_code == 403
    auth.logout()
    auth.login(staff.email)
    client.post(f"/documents/{document.id}/delete")
    assert client.post(f"/documents/{document.id}/purge").status_code == 403
    assert _document(app, "a.txt").text == "Some letter"


def test_uploading_a_deleted_documents_bytes_again_restores_it(app, client, auth):
    auth.login_as("staff")
    upload(client, "memo.txt", b"Memo about the spring order")
    document = _document(app, "memo.txt")
    client.post(f"/documents/{document.id}/delete")

    back = upload(client, "memo-again.txt", b"Memo about the spring order")

    assert back.status_code == 201
    restored = _document(app, "memo.txt")
    assert restored.id == document.id
    assert restored.deleted_at is None
    with app.app_context():
        assert search("spring").total == 1


def test_purge_removes_the_document_for_good_and_the_same_bytes_make_a_new_one(app, client, auth, tmp_path):
    """Since the trash (issue 10) a purge removes the row too; before, it kept the row without file and text."""
    auth.login_as("admin")
    scan = files.make_text_pdf(tmp_path / "invoice.pdf", ["Invoice 77", "Total due 120.00 EUR"])
    data = scan.read_bytes()
    upload(client, "invoice.pdf", data)
    document = _document(app, "invoice.pdf")
    with app.app_context():
        blob = Path(app.config["DATA_DIR"]) / "blobs" / document.sha256[:2] / document.sha256[2:4] / document.sha256
        preview = thumbnail_path(document.sha256)
    assert blob.exists()
    assert preview.exists()
    assert client.post(f"/documents/{document.id}/purge").status_code == 409  # delete first

    client.post(f"/documents/{document.id}/delete")
    download = client.get(f"/documents/{document.id}/download")
    assert download.get_data() == data  # admins still can, until purged
    download.close()
    response = client.post(f"/documents/{document.id}/purge")

    assert response.status_code == 303
    assert not blob.exists()
    assert not preview.exists()
    assert _document(app, "invoice.pdf") is None  # the row, its text and history are gone
    assert client.get(f"/documents/{document.id}").status_code == 404
    assert client.get(f"/documents/{document.id}/download").status_code == 404

    again = upload(client, "invoice-again.pdf", data)
    assert again.status_code == 201  # new, not "already uploaded"
    fresh = _document(app, "invoice-again.pdf")
    assert fresh.deleted_at is None
    assert fresh.state == "processed"  # read again from scratch
    assert "Invoice 77" in fresh.text
    assert blob.exists()
    assert "invoice-again.pdf" in client.get("/documents").get_data(as_text=True)
    with app.app_context():
        assert search("invoice").total == 1
