"""Issue 12, findings 2 and 9: a trashed document shows nothing of itself to non-admins; lists leave the text out.

One rule (app/documents/visibility.py) answers every route that shows a document or anything of it:
a document in the trash is for admins only; viewers and staff get a 404 that names neither the file
nor its text. Thumbnails are private to the browser, and list pages and exports never load the text.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import event

from app.documents import service
from app.documents.models import Document
from app.extensions import db
from tests.support import documents as files

SECRET = "Quarterly salaries 4471"
NAME = "payroll-q3.pdf"


def _trashed_pdf(app, tmp_path: Path) -> int:
    """A processed PDF (text and thumbnail) moved to the trash, as staff would."""
    pdf = files.make_text_pdf(tmp_path / NAME, [SECRET, "Confidential"])
    with app.app_context():
        document_id = service.ingest(io.BytesIO(pdf.read_bytes()), NAME, user_id=None).document.id
        db.session.expire_all()  # processed by the (immediate) task: read what it stored
        document = db.session.get(Document, document_id)
        assert document.state == "processed"
        assert document.has_thumbnail
        assert SECRET in document.text
        service.delete_document(document.id, user_id=None)
        return document.id


def _routes(document_id: int) -> list[str]:
    """Every GET that shows a document or a part of it."""
    base = f"/documents/{document_id}"
    return [base, f"{base}/status", f"{base}/thumbnail.png", f"{base}/download"]


@pytest.mark.parametrize("role", ["viewer", "staff"])
def test_a_trashed_document_shows_nothing_of_itself_to_viewers_and_staff(app, client, auth, tmp_path, role):
    document_id = _trashed_pdf(app, tmp_path)
    auth.login_as(role)

    for url in _routes(document_id):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 404, url
        assert f"Document number {document_id} is in the trash" in body, url
        assert SECRET not in body, url
        assert NAME not in body, url
        assert response.mimetype == "text/html", url  # the error page, never the PNG or the file
    fragment = client.get(f"/documents/{document_id}/status", htmx=True)
    assert fragment.status_code == 404
    assert NAME not in fragment.get_data(as_text=True)

    # The review queue does not open it either: asked for by number, it starts at the top of the queue.
    review = client.get(f"/review?at={document_id}").get_data(as_text=True)
    assert SECRET not in review
    assert NAME not in review
    if role == "staff":
        decided = client.post(f"/review/{document_id}", data={"category_id": ""})
        assert decided.status_code == 404
        assert NAME not in decided.get_data(as_text=True)
        retried = client.post(f"/documents/{document_id}/retry")
        assert retried.status_code == 404
        # Asking to delete it again sends staff to the trash, where it can be restored.
        again = client.get(f"/documents/{document_id}/delete")
        assert again.status_code == 303
        assert again.headers["Location"].endswith("/documents/trash")


def test_the_trash_links_only_admins_to_a_trashed_document_and_staff_still_restore_it(app, client, auth, tmp_path):
    document_id = _trashed_pdf(app, tmp_path)
    link = f'href="/documents/{document_id}"'

    auth.login_as("staff")
    trash_page = client.get("/documents/trash").get_data(as_text=True)
    assert NAME in trash_page
    assert link not in trash_page
    assert 'data-testid="restore"' in trash_page
    auth.logout()

    auth.login_as("admin")
    trash_page = client.get("/documents/trash").get_data(as_text=True)
    assert link in trash_page
    page = client.get(f"/documents/{document_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="deleted"' in html
    assert SECRET in html
    assert 'data-testid="restore"' in html
    preview = client.get(f"/documents/{document_id}/thumbnail.png")
    assert preview.status_code == 200
    preview.close()
    download = client.get(f"/documents/{document_id}/download")
    assert download.status_code == 200
    download.close()
    auth.logout()

    auth.login_as("staff")
    restored = client.post(f"/documents/{document_id}/restore", data={"back": "trash"})
    assert restored.status_code == 303
    shown = client.get(f"/documents/{document_id}")
    assert shown.status_code == 200  # out of the trash: visible to everyone again
    assert SECRET in shown.get_data(as_text=True)


def test_thumbnails_are_cached_by_the_browser_only(app, client, auth, tmp_path):
    pdf = files.make_text_pdf(tmp_path / "menu.pdf", ["Spring menu"])
    with app.app_context():
        document_id = service.ingest(io.BytesIO(pdf.read_bytes()), "menu.pdf", user_id=None).document.id
    auth.login_as("viewer")

    response = client.get(f"/documents/{document_id}/thumbnail.png")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.cache_control.private
    assert not response.cache_control.public
    assert response.cache_control.max_age == 3600
    response.close()


_TEXT_COLUMN = re.compile(r"\bdocuments\.text\b(?!_)", re.IGNORECASE)


def test_list_pages_and_exports_do_not_load_the_documents_text(app, client, auth):
    with app.app_context():
        for n in range(3):
            service.ingest(io.BytesIO(f"Long letter number {n} ".encode() * 50), f"letter-{n}.txt", user_id=None)
        trashed = service.ingest(io.BytesIO(b"An old letter for the bin"), "old.txt", user_id=None).document.id
        service.delete_document(trashed, user_id=None)
    auth.login_as("viewer")
    statements: list[str] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        listing = client.get("/documents")
        export = client.get("/documents.csv")
        export_text = export.get_data(as_text=True)  # streamed: read it while listening
        trash_page = client.get("/documents/trash")
        trash_export = client.get("/documents/trash.csv").get_data(as_text=True)
        search_export = client.get("/search.csv?q=letter").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    assert listing.status_code == 200
    assert "letter-2.txt" in listing.get_data(as_text=True)
    assert "letter-0.txt" in export_text
    assert trash_page.status_code == 200
    assert "old.txt" in trash_export
    assert "letter-1.txt" in search_export
    document_reads = [s for s in statements if re.search(r"\bFROM documents\b", s, re.IGNORECASE)]
    assert document_reads, "the pages read no documents at all?"
    loading_text = [s for s in document_reads if _TEXT_COLUMN.search(s)]
    assert loading_text == []
