"""Work that never ends (issue 12, finding 8): a time limit per document, a sweeper that tells stuck from slow, and
Word zip bombs that fail once with a reason.

The time limit and the sweeper are proven on real parts: a Huey consumer process on Redis and PostgreSQL,
writing real heartbeats, reading real scanned PDFs in its reader process.
"""

from __future__ import annotations

import io
import socket
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

from app.db_types import utcnow
from app.documents import service
from app.documents.models import Document, DocumentEvent
from app.extensions import db
from app.ops import workers
from app.ops.models import WorkerHeartbeat
from tests.support import documents as files
from tests.support import services
from tests.support.consumer import shared_setup, wait_for_state
from tests.support.factories import make_document

TIME_LIMIT = 6  # seconds: a new reader process starts well within it; thirty scanned pages never finish in it


def _scanned_pdf(folder: Path, pages: int) -> Path:
    """An image-only PDF of `pages` pages: each one must go through OCR, so reading it takes a while."""
    page = files.make_scanned_pdf(folder / "page.pdf", ["DELIVERY NOTE 5150", "CRATES OF RED TEA"])
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_page(PdfReader(page).pages[0])
    path = folder / f"scan-{pages}.pdf"
    with path.open("wb") as out:
        writer.write(out)
    return path


def _upload(app, path: Path) -> int:
    with app.app_context(), path.open("rb") as stream:
        return service.ingest(stream, path.name, user_id=None).document.id


def _events(app, document_id: int) -> list[str]:
    with app.app_context():
        query = select(DocumentEvent.event).where(DocumentEvent.document_id == document_id).order_by(DocumentEvent.id)
        return list(db.session.scalars(query))


def _reader_processes(parent: int) -> list[int]:
    """Pids of the reader processes a consumer runs (its children started from app.documents.extract.child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
        if ppid == parent and b"app.documents.extract.child" in command:
            found.append(int(entry.name))
    return found


# ---------------------------------------------------------------- the time limit per document


def test_a_document_over_the_time_limit_fails_once_with_a_sentence_and_the_worker_goes_on(tmp_path, postgres_url):
    env = {"QM_TASK_TIMEOUT_SECONDS": str(TIME_LIMIT)}
    with shared_setup(tmp_path, postgres_url, name="limit", env=env, TASK_TIMEOUT_SECONDS=TIME_LIMIT) as pair:
        app_with, start_consumer = pair
        app = app_with(services.TEST_REDIS_URL)
        consumer = start_consumer()  # one worker: the next document waits for the slow one
        slow = _upload(app, _scanned_pdf(tmp_path, pages=30))
        after = _upload(
            app, files.make_text_file(tmp_path / "note.txt", "Credit note 12 for a cracked teapot", "utf-8")
        )

        failed = wait_for_state(app, slow, {"processed", "failed"})
        assert failed.state == "failed"
        assert failed.failure_reason.startswith(
            f"Reading this file took longer than {TIME_LIMIT} seconds, so it was stopped"
        )
        assert "QM_TASK_TIMEOUT_SECONDS" in failed.failure_reason
        assert failed.attempts == 0  # failed once: no retry was scheduled, none will be
        assert _events(app, slow) == ["uploaded", "processing", "failed"]
        # The work itself was stopped: the reader that was at it is gone (killed, not left running beside the next).
        next_one = wait_for_state(app, after, {"processed", "failed"}, timeout=60)
        assert next_one.state == "processed"
        assert "cracked teapot" in next_one.text
        assert len(_reader_processes(consumer.pid)) == 1  # the fresh reader that read the note
        time.sleep(TIME_LIMIT / 2)
        assert _events(app, slow) == ["uploaded", "processing", "failed"]
        consumer.kill()  # its reader goes with its process group


# ---------------------------------------------------------------- the sweeper: stuck or still running


@pytest.fixture
def beating(tmp_path, postgres_url):
    """Consumers that beat every second (stale after three missed beats); documents count as stuck after 1 s."""
    env = {"QM_STUCK_AFTER_SECONDS": "1", "QM_HEARTBEAT_SECONDS": "1"}
    with shared_setup(tmp_path, postgres_url, name="beat", env=env, STUCK_AFTER_SECONDS=1, HEARTBEAT_SECONDS=1) as pair:
        yield pair


def test_the_sweeper_leaves_alone_a_document_its_worker_is_still_reading(beating, tmp_path):
    app_with, start_consumer = beating
    app = app_with(services.TEST_REDIS_URL)
    consumer = start_consumer()
    document_id = _upload(app, _scanned_pdf(tmp_path, pages=12))
    wait_for_state(app, document_id, {"processing"}, timeout=30)
    for _ in range(2):  # past STUCK_AFTER_SECONDS, twice: a slow document, not a stuck one
        time.sleep(2)
        with app.app_context():
            swept = service.sweep_stuck()
            document = db.session.get(Document, document_id)
            heartbeat = db.session.scalars(select(WorkerHeartbeat)).one()
            assert swept.requeued == []
            assert swept.failed == []
            assert document.state == "processing"
            assert document.attempts == 0
            assert document.claimed_by == heartbeat.name == f"{socket.gethostname()}:{consumer.pid}:{heartbeat.queue}"
    assert "requeued" not in _events(app, document_id)
    consumer.kill()  # a graceful stop would wait for all twelve pages


def test_a_document_whose_worker_stopped_beating_is_resent_and_read_once(beating, tmp_path):
    app_with, start_consumer = beating
    app = app_with(services.TEST_REDIS_URL)
    first = start_consumer()
    document_id = _upload(app, _scanned_pdf(tmp_path, pages=3))
    wait_for_state(app, document_id, {"processing"}, timeout=30)
    first.kill()  # SIGKILL: its task is lost with it, and its heartbeat row stays behind, going stale
    deadline = time.monotonic() + 30
    with app.app_context():
        claimant = db.session.get(Document, document_id).claimed_by
        # The sweeper runs again and again (every minute in production): it re-sends the document on its first
        # run after the heartbeat went stale, and not before.
        while True:
            stale = not workers.beating({claimant})
            swept = service.sweep_stuck()
            if swept.requeued or swept.failed:
                break
            assert not stale, "the worker stopped beating, yet the sweeper left its document alone"
            assert time.monotonic() < deadline, "the killed consumer's heartbeat never went stale"
            time.sleep(0.5)
    assert swept.requeued == [document_id]
    assert swept.failed == []
    assert any("stopped beating" in (e.detail or "") for e in _event_rows(app, document_id, "requeued"))
    start_consumer()
    document = wait_for_state(app, document_id, {"processed", "failed"})
    assert document.state == "processed"
    assert "DELIVERY" in document.text.upper()
    assert document.attempts == 1
    assert _events(app, document_id).count("processed") == 1


def _event_rows(app, document_id: int, event: str) -> list[DocumentEvent]:
    with app.app_context():
        query = select(DocumentEvent).where(DocumentEvent.document_id == document_id, DocumentEvent.event == event)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_a_beating_workers_document_is_resent_only_once_far_past_the_time_limit(app):
    """The sweeper's rule on both databases: a live claimant protects a document until its time limit (and a margin)."""
    from app.queue import huey

    huey.immediate = False  # re-sent documents go to this app's own SQLite queue; no worker takes them
    with app.app_context():
        app.config["STUCK_AFTER_SECONDS"] = 60
        app.config["TASK_TIMEOUT_SECONDS"] = 1800
        now = utcnow()
        alive = workers.WorkerIdentity("host-a", 4242, app.config["QUEUE_NAME"], False, 2, "thread", now)
        gone = workers.WorkerIdentity("host-b", 4343, app.config["QUEUE_NAME"], False, 2, "thread", now)
        workers.write_heartbeat(alive, now)
        workers.write_heartbeat(gone, now - timedelta(minutes=10))  # ten minutes without a beat: stale

        def processing(name: str, claimed_by: str | None, minutes: int) -> int:
            started = now - timedelta(minutes=minutes)
            document = make_document(
                filename=f"{name}.pdf",
                mime="application/pdf",
                kind="pdf",
                state="processing",
                state_changed_at=started,
                processing_started_at=started,
                claimed_by=claimed_by,
            )
            db.session.commit()
            return document.id

        slow = processing("a", alive.name, minutes=20)  # slow, past STUCK_AFTER, within the 30-minute limit
        overdue = processing("b", alive.name, minutes=40)  # its worker beats, but the limit passed long ago
        orphaned = processing("c", gone.name, minutes=20)  # its worker stopped beating
        unknown = processing("d", None, minutes=20)  # claimed outside a consumer: nothing says it is alive

        swept = service.sweep_stuck(now=now)
        assert sorted(swept.requeued) == sorted([overdue, orphaned, unknown])
        assert db.session.get(Document, slow).state == "processing"


# ---------------------------------------------------------------- Word zip bombs


_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)


def _word_file(document_xml_parts: list[bytes], repeat: int = 1) -> bytes:
    """A .docx-shaped ZIP whose word/document.xml is the parts, the middle one repeated `repeat` times."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        head, middle, tail = document_xml_parts
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(head)
            block = middle * max(1, (1024 * 1024) // len(middle))
            for _ in range(repeat):
                member.write(block)
            member.write(tail)
    return out.getvalue()


def _failed_once(app, document_id: int) -> Document:
    with app.app_context():
        document = db.session.get(Document, document_id)
        events = list(db.session.scalars(select(DocumentEvent.event).where(DocumentEvent.document_id == document_id)))
        assert document.state == "failed", document.failure_reason
        assert document.attempts == 0
        assert events == ["uploaded", "processing", "failed"]
        db.session.expunge(document)
        return document


def test_a_word_zip_bomb_fails_once_with_a_reason_without_being_unpacked(app):
    # 40 MB of tiny paragraphs in a ~100 kB upload: lxml would build a tree of millions of elements from it.
    bomb = _word_file([b'<?xml version="1.0"?><x>', b"<y/>", b"</x>"], repeat=40)
    assert len(bomb) < 1024 * 1024
    with app.app_context():
        started = time.monotonic()
        document_id = service.ingest(io.BytesIO(bomb), "bomb.docx", user_id=None).document.id
        elapsed = time.monotonic() - started
    document = _failed_once(app, document_id)
    assert document.failure_reason.startswith("This Word file expands to more than 32 MB of text")
    assert elapsed < 15  # refused from the archive's directory, not after parsing 40 MB of XML


def test_a_word_file_whose_document_is_not_word_xml_fails_once_as_damaged(app):
    """python-docx meets a foreign root element with an AttributeError: that is damage, not a reason to retry."""
    stranger = _word_file([b'<?xml version="1.0"?><x>', b"<y/>", b"</x>"], repeat=1)
    with app.app_context():
        document_id = service.ingest(io.BytesIO(stranger), "stranger.docx", user_id=None).document.id
    document = _failed_once(app, document_id)
    assert document.failure_reason == (
        "The Word document is damaged or not in the .docx format, so its text cannot be read."
    )
