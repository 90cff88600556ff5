"""The trash: confirm, restore, the purge (complete, crash-safe, audited), retention, the pages, the daily task."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.classify import categories
from app.classify import service as classify_service
from app.classify.models import Category, Review, ReviewLease, ReviewSkip
from app.db_types import utcnow
from app.documents import errors, processing, service, trash
from app.documents.cli import documents_cli
from app.documents.models import Document, DocumentEvent
from app.documents.storage import blob_store, thumbnail_path
from app.documents.tasks import purge_trash_daily
from app.extensions import db
from app.ops.models import AuditEvent
from app.queue import huey
from app.search import indexer
from app.search.service import search
from tests.support import documents as files
from tests.support.factories import make_document

PAST_THE_PERIOD = timedelta(days=31)  # TRASH_DAYS is 30 by default


class Killed(BaseException):
    """Stands for the process dying (SIGKILL, power loss): nothing in the app catches it."""


# ---------------------------------------------------------------- helpers


def _ingest(data: bytes, name: str, user_id: int | None = None) -> int:
    """Upload through the service, as the upload page and `flask documents import` do (processed at once here)."""
    return service.ingest(io.BytesIO(data), name, user_id=user_id).document.id


def _trashed(data: bytes, name: str) -> tuple[int, str]:
    document_id = _ingest(data, name)
    service.delete_document(document_id, user_id=None)
    return document_id, db.session.get(Document, document_id).sha256


def _indexed_ids() -> set[int]:
    from app.search import index as search_index

    with search_index.open_current().searcher() as searcher:
        return {int(fields["id"]) for fields in searcher.all_stored_fields()}


def _index_anyway(document_id: int) -> None:
    """Write a document's entry straight into the index, whatever its state (drift, for the purge to repair)."""
    from app.search import index as search_index

    writer = search_index.open_current(for_writing=True).writer()
    writer.update_document(**indexer.document_fields(db.session.get(Document, document_id)))
    writer.commit()


def _found(words: str) -> set[int]:
    return {hit.document_id for hit in search(words).hits}


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _exists(document_id: int) -> bool:
    return db.session.scalar(select(func.count(Document.id)).where(Document.id == document_id)) == 1


def _a_new_document(document_id: int) -> bool:
    """Made by this upload, not the old one brought back (SQLite may hand a purged row's id out again)."""
    events = db.session.scalars(select(DocumentEvent.event).where(DocumentEvent.document_id == document_id))
    return "deleted" not in list(events)


def _consistent(document_id: int, sha256: str) -> None:
    """The promise of the purge, whatever point it reached: no blob without its row, no index entry for it."""
    if not _exists(document_id):
        assert not blob_store().exists(sha256), "a blob outlived its document row"
        assert not thumbnail_path(sha256).exists(), "a thumbnail outlived its document row"
    assert document_id not in _indexed_ids()
    assert indexer.verify().clean


# ---------------------------------------------------------------- the purge


def test_a_document_past_the_period_leaves_database_blobs_and_index_and_one_audit_row_counts_it(app, tmp_path):
    with app.app_context():
        categories.ensure_default_categories()
        pdf = files.make_text_pdf(tmp_path / "old.pdf", ["Invoice 9931", "Marmalade jars 240"]).read_bytes()
        old_id, old_sha = _trashed(pdf, "old.pdf")
        other_id, other_sha = _trashed(b"Credit note for marmalade lids", "lids.txt")
        live_id = _ingest(b"Delivery note: marmalade, 12 crates", "live.txt")
        invoice = db.session.scalar(select(Category.id).where(Category.name == "invoice"))
        service.restore_document(old_id, user_id=None)  # reviewed while it was live: a review row refers to it
        classify_service.review_document(old_id, invoice, user_id=None)
        service.delete_document(old_id, user_id=None)
        assert blob_store().exists(old_sha)
        assert thumbnail_path(old_sha).exists()
        # Both have a preview: the PDF its first page, the text file its opening lines.
        thumbnail_bytes = thumbnail_path(old_sha).stat().st_size + thumbnail_path(other_sha).stat().st_size
        _index_anyway(other_id)  # as if the drain after its deletion had never run: the purge must still clear it
        assert other_id in _indexed_ids()
        fresh_id, fresh_sha = _trashed(b"Packing list, marmalade", "fresh.txt")  # deleted now: inside the period
        db.session.execute(
            update(Document).where(Document.id.in_([old_id, other_id])).values(deleted_at=utcnow() - PAST_THE_PERIOD)
        )
        db.session.commit()

        run = trash.purge_trash()

        assert sorted(p.document_id for p in run.purged) == sorted([old_id, other_id])
        assert run.bytes_freed == len(pdf) + thumbnail_bytes + len(b"Credit note for marmalade lids")
        for document_id, sha in ((old_id, old_sha), (other_id, other_sha)):
            assert not _exists(document_id)
            assert not blob_store().exists(sha)
            _consistent(document_id, sha)
        assert not thumbnail_path(old_sha).exists()
        assert db.session.scalar(select(func.count()).where(DocumentEvent.document_id == old_id)) == 0
        assert db.session.scalar(select(func.count()).where(Review.document_id == old_id)) == 0
        assert _found("marmalade") == {live_id}
        # Inside the period it stays, whole: row, file, and a way back.
        assert blob_store().exists(fresh_sha)
        assert db.session.get(Document, fresh_id).deleted_at is not None
        (row,) = _audit("trash.purge")
        assert row.actor_id is None
        assert row.after["documents"] == 2
        assert row.after["bytes_freed"] == run.bytes_freed
        assert "Purged 2 documents" in row.summary

        again = trash.purge_trash()
        assert again.documents == 0
        assert _exists(fresh_id)
        assert len(_audit("trash.purge")) == 2  # one row per run, also when nothing was due


def test_every_table_that_refers_to_a_document_is_cleared_by_the_purge(app):
    """A table added later with a foreign key to documents must be handled by `trash._delete_row` too."""
    referring = {
        fk.parent.table.name
        for table in db.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "documents"
    }
    assert referring == {"document_events", "reviews", "search_documents"}


@pytest.mark.parametrize("dies_in", ["_remove_files", "_delete_row"])
def test_a_purge_killed_halfway_is_finished_by_the_next_run(app, monkeypatch, dies_in):
    with app.app_context():
        document_id, sha = _trashed(b"Quarterly statement of quince paste", "statement.txt")
        steps = {name: getattr(trash, name) for name in ("_remove_files", "_delete_row")}

        def die(*args, **kwargs):
            if dies_in == "_delete_row":
                steps["_delete_row"](*args, **kwargs)  # the deletes ran, the commit never happened
            raise Killed

        monkeypatch.setattr(trash, dies_in, die)
        with pytest.raises(Killed):
            trash.purge_trash(now=utcnow() + PAST_THE_PERIOD)
        db.session.rollback()
        monkeypatch.undo()

        half = db.session.get(Document, document_id)
        assert half is not None
        assert half.purge_started_at is not None
        assert blob_store().exists(sha) == (dies_in == "_remove_files")
        _consistent(document_id, sha)
        with pytest.raises(errors.BeingPurged):
            service.restore_document(document_id, user_id=None)
        db.session.rollback()
        assert not _audit("trash.purge")  # the killed run wrote nothing

        run = trash.purge_trash()  # a normal run a day later: no clock games, the mark is enough

        assert [p.document_id for p in run.purged] == [document_id]
        assert not _exists(document_id)
        _consistent(document_id, sha)
        assert _audit("trash.purge")[0].after["documents"] == 1


def test_the_same_bytes_uploaded_mid_purge_are_refused_and_nothing_is_stored(app, monkeypatch):
    with app.app_context():
        data = b"Price list for elderflower cordial"
        document_id, sha = _trashed(data, "prices.txt")

        def dies(*args, **kwargs):
            raise Killed

        monkeypatch.setattr(trash, "_delete_row", dies)
        with pytest.raises(Killed):
            trash.purge_document(document_id, user_id=None)  # dies after removing the file
        db.session.rollback()
        assert not blob_store().exists(sha)

        def fails(*args, **kwargs):
            raise OSError("the worker's disk is gone")

        monkeypatch.setattr(trash, "_delete_row", fails)  # the purge the refusal asks for fails too

        with pytest.raises(errors.BeingPurged, match=r"being removed from the trash.*try again in a minute"):
            _ingest(data, "prices-again.txt")
        db.session.rollback()
        assert not blob_store().exists(sha)  # nothing stored: the upload's own copy went too
        assert db.session.get(Document, document_id).purge_started_at is not None  # the finish task died as well

        monkeypatch.undo()
        with pytest.raises(errors.BeingPurged):  # this time the purge it asks for finishes (immediate queue)
            _ingest(data, "prices-again.txt")
        db.session.rollback()
        assert not _exists(document_id)
        new_id = _ingest(data, "prices-again.txt")  # "try again in a minute": now it is a new document
        assert _a_new_document(new_id)
        assert _found("elderflower") == {new_id}
        assert blob_store().exists(sha)


def test_a_blob_named_by_another_document_row_stays(app, monkeypatch):
    """Two purges of one document race; the first finishes and the same bytes come back as a new document
    before the second reaches the files. The second must leave the new document's blob alone.

    (`documents.sha256` is unique, so two rows share a blob only across time like this.)
    """
    with app.app_context():
        data = b"Certificate of origin: heather honey"
        _old_id, sha = _trashed(data, "origin.txt")
        remove_files, delete_row = trash._remove_files, trash._delete_row
        came_back = []

        def meanwhile_the_first_purge_finishes_and_the_file_is_uploaded_again(facts):
            remove_files(facts)  # the first purge, steps (c) and (d)
            delete_row(facts)
            db.session.commit()
            came_back.append(_ingest(data, "origin-again.txt"))
            return remove_files(facts)  # the second purge's step (c), with what it read before

        monkeypatch.setattr(trash, "_remove_files", meanwhile_the_first_purge_finishes_and_the_file_is_uploaded_again)
        run = trash.purge_trash(now=utcnow() + PAST_THE_PERIOD)
        monkeypatch.undo()

        assert run.documents == 0  # the other purge removed it
        (new_id,) = came_back
        assert _a_new_document(new_id)
        assert db.session.scalar(select(func.count()).where(Document.filename == "origin.txt")) == 0
        assert blob_store().exists(sha)
        again = db.session.get(Document, new_id)
        assert again.state == "processed"
        assert "heather honey" in again.text
        assert _found("heather") == {new_id}
        assert indexer.verify().clean


def test_bytes_whose_purge_finished_between_storing_and_looking_up_are_stored_again(app, monkeypatch):
    with app.app_context():
        data = b"Invoice for beeswax candles"
        document_id, sha = _trashed(data, "candles.txt")
        trash._start(document_id, utcnow(), start=True)  # a purge began (and was interrupted)
        store_class = type(blob_store())
        put = store_class.put

        def put_then_the_purge_finishes(self, stream, *, max_bytes):
            blob = put(self, stream, max_bytes=max_bytes)
            monkeypatch.setattr(store_class, "put", put)
            trash.finish_purge(document_id)  # removes the file we just wrote, then the row
            return blob

        monkeypatch.setattr(store_class, "put", put_then_the_purge_finishes)
        new_id = _ingest(data, "candles-again.txt")

        assert _a_new_document(new_id)
        assert blob_store().exists(sha)
        assert db.session.get(Document, new_id).state == "processed"


def test_a_document_a_worker_is_reading_waits_for_the_next_run(app):
    """A purge never starts under a worker (its thumbnail would outlive the row), nor a worker under a purge."""
    with app.app_context():
        document_id, sha = _trashed(b"Order confirmation, white peony", "peony.txt")
        db.session.execute(update(Document).where(Document.id == document_id).values(state="processing"))
        db.session.commit()

        run = trash.purge_trash(now=utcnow() + PAST_THE_PERIOD)
        assert run.waiting == [document_id]
        assert run.documents == 0
        with pytest.raises(errors.DocumentStateError, match="being read by a worker"):
            trash.purge_document(document_id, user_id=None)
        db.session.rollback()
        assert blob_store().exists(sha)

        db.session.execute(update(Document).where(Document.id == document_id).values(state="queued"))
        db.session.commit()
        trash._start(document_id, utcnow(), start=True)
        assert not processing.claim(document_id)  # a late task finds it being purged and leaves it


# ---------------------------------------------------------------- restore


def test_restore_within_the_period_brings_it_back_into_search(app, client, auth):
    staff = auth.login_as("staff")
    with app.app_context():
        document_id = _ingest(b"Tasting notes: smoked lapsang", "lapsang.txt", staff.id)
        assert _found("lapsang") == {document_id}
    assert client.post(f"/documents/{document_id}/delete").status_code == 303
    with app.app_context():
        assert _found("lapsang") == set()
    page = client.get("/documents/trash").get_data(as_text=True)
    assert "lapsang.txt" in page
    assert staff.email in page

    response = client.post(f"/documents/{document_id}/restore", data={"back": "trash"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/documents/trash")
    assert "lapsang.txt was restored" in client.get("/documents/trash").get_data(as_text=True)
    assert ">lapsang.txt</a>" in client.get("/documents").get_data(as_text=True)
    with app.app_context():
        assert _found("lapsang") == {document_id}
        assert indexer.verify().clean
        events = db.session.scalars(select(DocumentEvent.event).where(DocumentEvent.document_id == document_id))
        assert list(events)[-2:] == ["deleted", "restored"]
        (row,) = _audit("document.restore")
        assert row.actor_id == staff.id
    assert client.post(f"/documents/{document_id}/restore").status_code == 409  # not in the trash any more


def test_restore_is_refused_once_a_purge_has_started(app, client, auth):
    auth.login_as("staff")
    with app.app_context():
        document_id, _sha = _trashed(b"Stock take, oolong", "stocktake.txt")
        trash._start(document_id, utcnow(), start=True)
    response = client.post(f"/documents/{document_id}/restore")
    assert response.status_code == 409
    assert "being removed from the trash for good" in response.get_data(as_text=True)
    page = client.get("/documents/trash").get_data(as_text=True)
    assert "being removed now" in page
    assert 'data-testid="restore"' not in page


# ---------------------------------------------------------------- retention and the daily task


def test_retention_moves_old_documents_to_the_trash_by_the_system(app):
    with app.app_context():
        old_id = _ingest(b"Old delivery note, rooibos", "old-note.txt")
        new_id = _ingest(b"New delivery note, rooibos", "new-note.txt")
        db.session.execute(
            update(Document).where(Document.id == old_id).values(uploaded_at=utcnow() - timedelta(days=11))
        )
        db.session.commit()
        assert trash.retain() == 0  # off by default: nothing happens, nothing is written
        assert not _audit("trash.retain")

        app.config["RETAIN_DAYS"] = 10
        assert trash.retain() == 1

        db.session.expire_all()
        old, new = db.session.get(Document, old_id), db.session.get(Document, new_id)
        assert old.deleted_at is not None
        assert old.deleted_by is None
        assert new.deleted_at is None
        assert _found("rooibos") == {new_id}
        event = db.session.scalars(select(DocumentEvent).where(DocumentEvent.document_id == old_id)).all()[-1]
        assert (event.event, event.user_id) == ("deleted", None)
        assert "10 days" in event.detail
        (row,) = _audit("trash.retain")
        assert row.after["documents"] == 1
        assert row.actor_id is None
        assert trash.retain() == 0  # already in the trash
        assert len(_audit("trash.retain")) == 2


def test_the_daily_task_is_registered_and_retains_then_purges(app, monkeypatch):
    (registered,) = [t for t in huey._registry.periodic_tasks if isinstance(t, purge_trash_daily.task_class)]
    hour, minute = trash.PURGE_AT
    assert registered.validate_datetime(datetime(2027, 3, 1, hour, minute))  # every day at that minute (UTC)
    assert registered.validate_datetime(datetime(2027, 3, 2, hour, minute))
    assert not registered.validate_datetime(datetime(2027, 3, 1, hour, (minute + 1) % 60))
    assert not registered.validate_datetime(datetime(2027, 3, 1, (hour + 12) % 24, minute))
    with app.app_context():
        app.config["RETAIN_DAYS"] = 365
        trashed_id, _sha = _trashed(b"Old price list, sencha", "sencha.txt")
        kept_id = _ingest(b"Current price list, genmaicha", "genmaicha.txt")
        later = utcnow() + PAST_THE_PERIOD
        monkeypatch.setattr(trash, "utcnow", lambda: later)

        purge_trash_daily.call_local()
        db.session.expire_all()  # the task ran in its own app context and session

        assert not _exists(trashed_id)
        assert db.session.get(Document, kept_id).deleted_at is None  # 31 days old: not past a year
        assert [r.after["documents"] for r in _audit("trash.retain")] == [0]
        assert [r.after["documents"] for r in _audit("trash.purge")] == [1]


# ---------------------------------------------------------------- pages and roles


def test_delete_asks_first_on_a_page_that_needs_no_script(app, client, auth):
    auth.login_as("staff")
    with app.app_context():
        document_id = _ingest(b"Receipt for a kettle", "kettle.txt")
    show = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert f'href="/documents/{document_id}/delete"' in show

    page = client.get(f"/documents/{document_id}/delete")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Delete kettle.txt?" in html
    assert "review queue and the search at once" in html
    assert "for 30 days" in html
    assert f'action="/documents/{document_id}/delete"' in html
    assert 'method="post"' in html
    assert f'href="/documents/{document_id}" data-testid="cancel"' in html
    assert "<script" not in html.split("</head>")[1]
    with app.app_context():
        assert db.session.get(Document, document_id).deleted_at is None  # asking changes nothing
    client.post(f"/documents/{document_id}/delete")
    listing = client.get("/documents").get_data(as_text=True)
    assert "kettle.txt was moved to the trash" in listing
    assert "Trash (1)" in listing
    assert client.get(f"/documents/{document_id}/delete").status_code == 303  # already there


def test_the_trash_page_filters_pages_and_exports_the_same_rows(app, client, auth, make_user):
    staff = auth.login_as("staff")
    with app.app_context():
        mine = [_ingest(f"Crate {n} of darjeeling".encode(), f"crate-{n}.txt") for n in range(3)]
        for document_id in mine:
            service.delete_document(document_id, user_id=staff.id)
        system_id = _ingest(b"Old crate of assam", "assam.txt")
        service.delete_document(system_id, user_id=None)
        db.session.execute(
            update(Document).where(Document.id == system_id).values(deleted_at=datetime(2026, 1, 5, 12, tzinfo=UTC))
        )
        db.session.commit()

    page = client.get("/documents/trash").get_data(as_text=True)
    assert "4 documents in the trash" in page
    assert page.index("crate-2.txt") < page.index("crate-0.txt") < page.index("assam.txt")  # newest first
    assert "the system" in page
    assert 'after <time datetime="2026-02-04T12:00:00+00:00">' in page  # deleted + 30 days
    assert "crate-1.txt" not in client.get("/documents/trash?q=crate-0").get_data(as_text=True)
    system = client.get("/documents/trash?deleted_by=system").get_data(as_text=True)
    assert "assam.txt" in system
    assert "crate-0.txt" not in system
    dated = client.get("/documents/trash?since=2026-01-01&until=2026-01-31").get_data(as_text=True)
    assert "assam.txt" in dated
    assert "crate-0.txt" not in dated
    assert client.get("/documents/trash?since=yesterday").status_code == 400
    fragment = client.get("/documents/trash?q=crate", htmx=True).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="trash-results"')

    exported = client.get(f"/documents/trash.csv?deleted_by={staff.id}")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert sorted(r["filename"] for r in rows) == ["crate-0.txt", "crate-1.txt", "crate-2.txt"]
    assert {r["deleted_by"] for r in rows} == {staff.email}
    assert rows[0]["being_removed"] == "false"

    with app.app_context():
        deleted = datetime(2025, 12, 1, tzinfo=UTC)
        for n in range(50):
            make_document(filename=f"bulk-{n}.txt", deleted_at=deleted)
        db.session.commit()
    first = client.get("/documents/trash").get_data(as_text=True)
    assert "Page 1 of 2" in first  # 50 a page, newest first: the four above, then the older bulk rows
    assert "assam.txt" in first
    assert first.count('data-testid="trash-row"') == 50
    second = client.get("/documents/trash?page=2").get_data(as_text=True)
    assert "assam.txt" not in second
    assert second.count('data-testid="trash-row"') == 4
    assert "bulk-" in second


def test_roles_viewers_look_staff_restore_admins_remove_for_good(app, client, auth, make_user):
    with app.app_context():
        document_id, sha = _trashed(b"Invoice for a tea chest", "chest.txt")
        preview_bytes = thumbnail_path(sha).stat().st_size  # its opening lines drawn on a page
    auth.login_as("viewer")
    page = client.get("/documents/trash").get_data(as_text=True)
    assert "chest.txt" in page
    assert 'data-testid="restore"' not in page
    assert client.post(f"/documents/{document_id}/restore").status_code == 403
    assert client.get(f"/documents/{document_id}/delete").status_code == 403
    auth.logout()
    auth.login_as("staff")
    page = client.get("/documents/trash").get_data(as_text=True)
    assert 'data-testid="restore"' in page
    assert 'data-testid="purge-now"' not in page
    assert client.get(f"/documents/{document_id}/purge").status_code == 403
    assert client.post(f"/documents/{document_id}/purge").status_code == 403
    auth.logout()
    admin = auth.login_as("admin")
    assert 'data-testid="purge-now"' in client.get("/documents/trash").get_data(as_text=True)
    confirm = client.get(f"/documents/{document_id}/purge").get_data(as_text=True)
    assert "Remove chest.txt for good?" in confirm
    assert "cannot be undone" in confirm

    response = client.post(f"/documents/{document_id}/purge")

    assert response.status_code == 303
    assert "chest.txt was removed for good" in client.get("/documents/trash").get_data(as_text=True)
    assert client.get(f"/documents/{document_id}").status_code == 404
    with app.app_context():
        _consistent(document_id, sha)
        (row,) = _audit("document.purge")
        assert row.actor_id == admin.id
        assert row.after["bytes_freed"] == len(b"Invoice for a tea chest") + preview_bytes


def test_the_cli_lists_the_trash_and_purges_with_a_dry_run_first(app, runner, monkeypatch):
    with app.app_context():
        document_id, sha = _trashed(b"Shipping manifest, matcha", "manifest.txt")
        db.session.execute(
            update(Document).where(Document.id == document_id).values(deleted_at=utcnow() - PAST_THE_PERIOD)
        )
        db.session.commit()
        blob = Path(blob_store().local_path(sha))

    listed = runner.invoke(documents_cli, ["trash"])
    assert listed.exit_code == 0
    assert "manifest.txt" in listed.output
    assert "1 in the trash" in listed.output
    dry = runner.invoke(documents_cli, ["purge", "--dry-run"])
    assert dry.exit_code == 0
    assert "would remove" in dry.output
    assert "Nothing was changed" in dry.output
    assert blob.exists()

    monkeypatch.setattr("app.documents.cli.PROGRESS_FROM", 0)  # take the progress-bar path too
    done = runner.invoke(documents_cli, ["purge"])

    assert done.exit_code == 0, done.output
    assert "removed" in done.output
    assert "manifest.txt" in done.output
    assert "1 document(s) removed" in done.output
    assert not blob.exists()
    with app.app_context():
        assert not _exists(document_id)


def test_a_purge_forgets_who_held_or_skipped_the_document_in_review(app, make_user):
    reviewer = make_user("staff")
    with app.app_context():
        document_id, _sha = _trashed(b"Invoice held by a reviewer", "held.txt")
        db.session.add(ReviewLease(document_id=document_id, user_id=reviewer.id, expires_at=utcnow()))
        db.session.add(ReviewSkip(document_id=document_id, user_id=reviewer.id))
        db.session.commit()
        trash.purge_document(document_id, user_id=None)
        assert db.session.scalar(select(func.count()).select_from(ReviewLease)) == 0
        assert db.session.scalar(select(func.count()).select_from(ReviewSkip)) == 0
