"""Uploading documents through the app: stored once, read, listed, downloaded; bad files refused."""

import csv
import io
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.classify import categories
from app.classify.models import Category
from app.documents import service
from app.documents.models import Document, DocumentEvent, ReviewState
from app.documents.tasks import process_document
from app.extensions import db
from tests.support import documents as files
from tests.support.factories import make_document, upload


def _documents(app):
    with app.app_context():
        return db.session.scalars(select(Document).order_by(Document.id)).all()


def _blobs(app) -> list[Path]:
    root = Path(app.config["DATA_DIR"]) / "blobs"
    return [p for p in root.rglob("*") if p.is_file() and "incoming" not in p.parts and not p.name.startswith(".")]


def test_a_text_file_is_stored_read_and_shown(app, client, auth):
    auth.login_as("staff")
    response = upload(client, "delivery-note.txt", b"Delivery note 42\nPallets: 3 of green tea\n")
    assert response.status_code == 201
    (document,) = _documents(app)
    assert document.state == "processed"  # the queue runs immediately in these tests
    assert document.kind == "text"
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "Pallets: 3 of green tea" in page
    assert f"{document.sha256[:2]}/{document.sha256[2:4]}/{document.sha256}" in str(_blobs(app)[0])


def test_the_same_bytes_twice_make_one_document(app, client, auth):
    auth.login_as("staff")
    upload(client, "first.txt", b"same content here")
    again = upload(client, "second-name.txt", b"same content here")
    assert again.status_code == 200
    body = again.get_data(as_text=True)
    assert "Already uploaded on" in body
    assert "first.txt" in body
    assert len(_documents(app)) == 1
    assert len(_blobs(app)) == 1


def test_a_text_layer_pdf_and_a_docx_are_read(app, client, auth, tmp_path):
    auth.login_as("staff")
    pdf = files.make_text_pdf(tmp_path / "invoice.pdf", ["Invoice 2026-117", "Total due 1,240.00 EUR"])
    docx = files.make_docx(tmp_path / "contract.docx", ["Supply contract for organic tea"], table=[["Item", "Price"]])
    assert upload(client, "invoice.pdf", pdf.read_bytes()).status_code == 201
    assert upload(client, "contract.docx", docx.read_bytes()).status_code == 201
    pdf_doc, docx_doc = _documents(app)
    assert "Total due 1,240.00 EUR" in pdf_doc.text
    assert pdf_doc.pages == 1
    assert pdf_doc.has_thumbnail
    assert "Supply contract for organic tea" in docx_doc.text
    assert set(pdf_doc.timings) >= {"extract", "thumbnail"}


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("empty.pdf", b"", 400, "is empty (0 bytes)"),
        ("setup.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, 415, "Nothing was stored"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 100, 415, "Nothing was stored"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(app, client, auth, name, data, status, message):
    auth.login_as("staff")
    response = upload(client, name, data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert _documents(app) == []
    assert _blobs(app) == []


def test_a_file_over_the_limit_gets_413_and_nothing_is_stored(app, client, auth):
    auth.login_as("staff")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = upload(client, "big.txt", b"x" * (128 * 1024))
    assert response.status_code == 413
    assert "larger than the" in response.get_data(as_text=True)
    assert _documents(app) == []
    assert _blobs(app) == []


def test_an_encrypted_pdf_fails_with_a_reason_and_can_be_retried(app, client, auth, tmp_path):
    auth.login_as("staff")
    pdf = files.make_encrypted_pdf(tmp_path / "locked.pdf", ["Secret price list"])
    upload(client, "locked.pdf", pdf.read_bytes())
    (document,) = _documents(app)
    assert document.state == "failed"
    assert "password" in document.failure_reason.lower()
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "This document could not be read." in page
    retried = client.post(f"/documents/{document.id}/retry")
    assert retried.status_code == 303
    assert _documents(app)[0].state == "failed"  # the same file fails the same way, with its reason
    assert client.post(f"/documents/{document.id}/retry", csrf=False).status_code == 400


def test_dangerous_file_names_are_stored_safely_and_shown_escaped(app, client, auth):
    auth.login_as("staff")
    name = "../../etc/<img src=x onerror=alert(1)>\x07" + "x" * 300 + ".txt"
    assert upload(client, name, b"harmless text").status_code == 201
    (document,) = _documents(app)
    assert "/" not in document.filename
    assert not document.filename.startswith("..")
    assert "\x07" not in document.filename
    assert len(document.filename) <= 255
    assert document.filename.endswith(".txt")
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "<img src=x onerror" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_download_is_the_original_bytes_as_an_attachment(app, client, auth, tmp_path):
    auth.login_as("viewer")
    with app.app_context():
        pdf = files.make_text_pdf(tmp_path / "x.pdf", ["Download me"])
        with pdf.open("rb") as stream:
            document_id = service.ingest(stream, 'quote"d; name.pdf', user_id=None).document.id
    with client.get(f"/documents/{document_id}/download") as response:
        assert response.data == pdf.read_bytes()
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert '"d;' not in response.headers["Content-Disposition"].split("filename=")[1].split(";")[0]


def test_viewers_cannotupload(app, client, auth):
    auth.login_as("viewer")
    assert upload(client, "x.txt", b"hello").status_code == 403
    assert client.get("/documents/upload").status_code == 403
    assert _documents(app) == []


def test_list_counts_filters_and_csv(app, client, auth, tmp_path):
    auth.login_as("staff")
    upload(client, "a.txt", b"alpha")
    upload(client, "b.txt", b"bravo")
    upload(client, "locked.pdf", files.make_encrypted_pdf(tmp_path / "l.pdf", ["x"]).read_bytes())
    page = client.get("/documents").get_data(as_text=True)
    assert "processed 2" in page
    assert "failed 1" in page
    failed_only = client.get("/documents?state=failed").get_data(as_text=True)
    assert "locked.pdf" in failed_only
    assert "a.txt" not in failed_only
    rows = list(csv.DictReader(io.StringIO(client.get("/documents.csv?kind=text").get_data(as_text=True))))
    assert sorted(r["filename"] for r in rows) == ["a.txt", "b.txt"]
    assert client.get("/documents?since=yesterday").status_code == 400


def test_processing_twice_changes_nothing(app):
    with app.app_context():
        document_id = service.ingest(io.BytesIO(b"run me twice"), "twice.txt", user_id=None).document.id
        assert process_document.call_local(document_id) == "not claimed"  # already done by the upload
        events = db.session.scalar(select(func.count(DocumentEvent.id)).where(DocumentEvent.document_id == document_id))
        assert events == 3  # uploaded, processing, processed


def test_the_sweeper_requeues_stuck_documents_and_gives_up_after_the_limit(app):
    from datetime import timedelta

    from app.db_types import utcnow
    from app.queue import huey

    huey.immediate = False  # queue to this app's own SQLite queue; no worker takes it
    with app.app_context():
        app.config["STUCK_AFTER_SECONDS"] = 60
        app.config["MAX_ATTEMPTS"] = 2
        document = make_document(
            filename="lost.txt", state="processing", state_changed_at=utcnow() - timedelta(minutes=5)
        )
        db.session.commit()
        later = utcnow()
        first = service.sweep_stuck(now=later)
        assert first.requeued == [document.id]
        db.session.refresh(document)
        assert document.attempts == 1
        # No worker picks it up: five minutes on it is stuck again, and the attempt limit is reached.
        second = service.sweep_stuck(now=later + timedelta(minutes=5))
        db.session.refresh(document)
        assert document.id in second.failed
        assert document.state == "failed"
        assert "did not finish after 2 attempts" in document.failure_reason


def test_ten_simultaneous_uploads_of_one_file_make_one_document(app):
    barrier = threading.Barrier(10)
    outcomes, errors = [], []

    def upload():
        with app.app_context():
            barrier.wait()
            try:
                outcome = service.ingest(io.BytesIO(b"one file, ten uploads"), "same.txt", user_id=None)
                outcomes.append((outcome.document.id, outcome.duplicate))
            except Exception as error:  # collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=upload) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(outcomes) == 10
    assert len({document_id for document_id, _ in outcomes}) == 1
    assert sum(1 for _, duplicate in outcomes if not duplicate) == 1
    assert len(_documents(app)) == 1


def test_broken_files_are_stored_and_fail_with_a_plain_reason(app, client, auth, tmp_path):
    auth.login_as("staff")
    truncated = files.make_truncated_pdf(tmp_path / "cut.pdf", ["Half a price list"])
    bomb = files.make_decompression_bomb_png(tmp_path / "bomb.png")
    assert upload(client, "cut.pdf", truncated.read_bytes()).status_code == 201
    assert upload(client, "bomb.png", bomb.read_bytes()).status_code == 201
    cut, boom = _documents(app)
    assert (cut.state, boom.state) == ("failed", "failed")
    assert "damaged" in cut.failure_reason.lower() or "broken" in cut.failure_reason.lower()
    assert "so large" in boom.failure_reason
    assert cut.attempts == 0  # a permanent problem fails at once, no retries


def test_a_burst_of_200_files_in_one_post(app, client, auth):
    auth.login_as("staff")
    data = {"files": [(io.BytesIO(f"note number {i}".encode()), f"note-{i}.txt") for i in range(200)]}
    response = client.post("/documents/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 201
    documents = _documents(app)
    assert len(documents) == 200
    assert {d.state for d in documents} == {"processed"}


def test_cli_import_of_a_folder_and_status(app, runner, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for i in range(3):
        (folder / f"letter-{i}.txt").write_text(f"Letter {i} about tea")
    (folder / "tool.pdf").write_bytes(b"\x7fELF" + b"\x00" * 64)
    result = runner.invoke(args=["documents", "import", str(folder)])
    assert result.exit_code == 1  # one file was refused, and the command says so
    assert "3 new, 0 already there, 1 refused." in result.output
    assert "tool.pdf" in result.output
    again = runner.invoke(args=["documents", "import", str(folder / "letter-0.txt")])
    assert "0 new, 1 already there, 0 refused." in again.output
    status = runner.invoke(args=["documents", "status"])
    assert "processed   3" in status.output


def test_the_document_page_reloads_itself_when_processing_ends(app, client, auth):
    auth.login_as("viewer")
    with app.app_context():
        document_id = service.ingest(io.BytesIO(b"finished already"), "done.txt", user_id=None).document.id
    on_page = client.get(
        f"/documents/{document_id}/status",
        headers={"HX-Request": "true", "HX-Current-URL": f"http://x/documents/{document_id}"},
    )
    assert on_page.headers["HX-Refresh"] == "true"
    on_list = client.get(
        f"/documents/{document_id}/status", headers={"HX-Request": "true", "HX-Current-URL": "http://x/documents"}
    )
    assert "HX-Refresh" not in on_list.headers
    assert 'data-state="processed"' in on_list.get_data(as_text=True)
    assert "hx-trigger" not in on_list.get_data(as_text=True)  # finished: the widget stops asking


def test_an_upload_says_where_each_processed_file_ended(app, client, auth):
    """The live status of an upload ends with its category, or with a link to review it."""
    with app.app_context():
        categories.ensure_default_categories()
        invoice = db.session.scalar(select(Category).where(Category.name == "invoice"))
        filed = make_document(
            text="Invoice 7", filename="filed.txt", category_id=invoice.id, review_state=ReviewState.AUTO_ACCEPTED
        ).id
        waiting = make_document(text="Hm", filename="unsure.txt", review_state=ReviewState.NEEDS_REVIEW).id
        queued = make_document(filename="later.txt").id
        db.session.commit()
    auth.login_as("staff")
    assert "filed as invoice by the model" in client.get(f"/documents/{filed}/status").get_data(as_text=True)
    unsure = client.get(f"/documents/{waiting}/status").get_data(as_text=True)
    assert "waiting for review" in unsure
    assert f'href="/review?at={waiting}"' in unsure
    assert "doc-filed" not in client.get(f"/documents/{queued}/status").get_data(as_text=True)
    fresh = upload(client, "note.txt", b"A short note about tea").get_data(as_text=True)
    assert "waiting for review" in fresh  # processed at once here (no model yet): it waits for a person
