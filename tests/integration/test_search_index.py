"""The search index kept in step with the database: the outbox drain, rebuilds, drift checks, the CLI."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from whoosh import index as whoosh_index

from app.classify.models import Category
from app.documents.models import Document
from app.extensions import db
from app.queue import huey
from app.search import index as search_index
from app.search import indexer, writer_lock
from app.search import service as search_service
from app.search.cli import search_cli
from app.search.models import SearchOutbox
from app.search.outbox import note_change, request_drain
from app.search.schema import SCHEMA_VERSION
from tests.support import factories

# ---------------------------------------------------------------- helpers shared by the search tests


def category_id(name: str) -> int:
    """The id of a category with this name, created if missing."""
    existing = db.session.scalar(select(Category.id).where(Category.name == name))
    if existing is not None:
        return existing
    category = Category(name=name)
    db.session.add(category)
    db.session.commit()
    return category.id


def make_document(
    filename: str,
    text: str,
    *,
    category: str | None = None,
    state: str = "processed",
    uploaded_at: datetime | None = None,
    uploaded_by: int | None = None,
    review_state: str | None = None,
    kind: str = "text",
    note: bool = True,
) -> int:
    """A document row as the pipeline leaves it, with its outbox row, committed (the index is not touched)."""
    document = factories.make_document(
        text=text,
        filename=filename,
        kind=kind,
        state=state,
        category_id=category_id(category) if category else None,
        uploaded_by=uploaded_by,
        uploaded_at=uploaded_at or datetime.now(UTC),
        review_state=review_state,
    )
    if note:
        note_change(document.id)
    db.session.commit()
    return document.id


def delete_document(document_id: int) -> None:
    """Mark a document deleted, with its outbox row, as the documents service does."""
    document = db.session.get(Document, document_id)
    document.deleted_at = datetime.now(UTC)
    note_change(document_id, deleted=True)
    db.session.commit()


def outbox_rows() -> int:
    return db.session.scalar(select(func.count(SearchOutbox.id)))


def indexed_ids() -> set[int]:
    with search_index.open_current().searcher() as searcher:
        return {int(fields["id"]) for fields in searcher.all_stored_fields()}


def found(query: str, **kwargs) -> list[int]:
    return [hit.document_id for hit in search_service.search(query, **kwargs).hits]


# ---------------------------------------------------------------- the drain


def test_a_drain_indexes_processed_documents_and_empties_the_outbox(app):
    with app.app_context():
        ids = [make_document(f"note-{n}.txt", f"crates of oolong number{n}") for n in range(3)]
        assert outbox_rows() == 3
        assert indexer.drain() == 3
        assert outbox_rows() == 0
        assert indexed_ids() == set(ids)
        assert found("oolong")
        assert set(found("oolong")) == set(ids)
        assert indexer.drain() == 0  # nothing left: a second run is a no-op


def test_request_drain_runs_the_drain_task(app):
    with app.app_context():
        document_id = make_document("teapot.txt", "a cast iron teapot")
        request_drain()  # immediate queue in tests: the task runs here and now
        assert outbox_rows() == 0
        assert found("teapot") == [document_id]


def test_only_processed_documents_that_are_not_deleted_are_indexed(app):
    with app.app_context():
        kept = make_document("kept.txt", "lemon curd jars")
        queued = make_document("queued.txt", "lemon curd jars", state="queued")
        failed = make_document("failed.txt", "lemon curd jars", state="failed")
        gone = make_document("gone.txt", "lemon curd jars")
        delete_document(gone)
        indexer.drain()
        assert indexed_ids() == {kept}
        assert {kept, queued, failed, gone} & set(found("lemon")) == {kept}


def test_a_document_deleted_later_leaves_the_index(app):
    with app.app_context():
        document_id = make_document("jam.txt", "strawberry jam")
        indexer.drain()
        delete_document(document_id)
        indexer.drain()
        assert document_id not in indexed_ids()


def test_a_row_for_a_document_that_no_longer_exists_removes_its_entry(app):
    with app.app_context():
        document_id = make_document("purged.txt", "quince paste")
        indexer.drain()
        document = db.session.get(Document, document_id)
        db.session.delete(document)
        note_change(document_id, deleted=True)
        db.session.commit()
        indexer.drain()
        assert document_id not in indexed_ids()


def test_a_crash_between_the_index_commit_and_the_outbox_delete_is_repaired_next_time(app, monkeypatch):
    with app.app_context():
        indexer.reindex()  # an (empty) index exists, so the drain goes the usual way
        ids = [make_document(f"crash-{n}.txt", f"marmalade batch{n}") for n in range(4)]
        real_forget = indexer._forget
        calls = {"n": 0}

        def crash_once(session, outbox_ids):
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("worker killed after the index commit")
            return real_forget(session, outbox_ids)

        monkeypatch.setattr(indexer, "_forget", crash_once)
        with pytest.raises(RuntimeError):
            indexer.drain()
        assert outbox_rows() == 4  # nothing forgotten: the rows are applied again next time
        assert indexed_ids() == set(ids)  # the index commit did happen
        assert indexer.drain() == 4
        assert outbox_rows() == 0
        with search_index.open_current().searcher() as searcher:
            assert searcher.doc_count() == 4  # re-applying replaced entries, it did not duplicate them
        assert indexer.verify().clean
        assert not huey.is_locked(writer_lock.LOCK_NAME)  # the crash released the lock


def test_rows_queued_during_a_drain_are_kept_and_applied(app, monkeypatch):
    with app.app_context():
        indexer.reindex()
        first = make_document("first.txt", "elderflower cordial")
        late: list[int] = []
        real_apply = indexer._apply

        def apply_while_someone_uploads(ix, session, document_ids):
            if not late:  # another request commits a document while the index is written
                late.append(make_document("late.txt", "elderflower cordial late"))
            return real_apply(ix, session, document_ids)

        monkeypatch.setattr(indexer, "_apply", apply_while_someone_uploads)
        assert indexer.drain() == 2  # the loop went round again for the late row
        assert outbox_rows() == 0
        assert indexed_ids() == {first, late[0]}


def test_a_busy_writer_lock_leaves_the_rows_for_the_next_run(app):
    with app.app_context():
        document_id = make_document("busy.txt", "blackcurrant")
        holder = writer_lock.WriterLock()
        assert holder.acquire()
        try:
            assert indexer.drain() == 0
            assert outbox_rows() == 1
        finally:
            holder.release()
        assert indexer.drain() == 1
        assert document_id in indexed_ids()


def test_a_whoosh_lock_held_elsewhere_never_surfaces_as_an_error(app):
    with app.app_context():
        make_document("first.txt", "gooseberry")
        indexer.drain()
        second = make_document("second.txt", "gooseberry fool")
        other_writer = search_index.open_current().writer()  # e.g. a process that broke the Huey lock
        try:
            assert indexer.drain() == 0
            assert outbox_rows() == 1
        finally:
            other_writer.cancel()
        assert indexer.drain() == 1
        assert second in indexed_ids()


def test_a_lock_left_by_a_dead_worker_is_taken_over(app):
    with app.app_context():
        document_id = make_document("stale.txt", "rhubarb")
        key = f"{huey.name}.lock.{writer_lock.LOCK_NAME}"
        huey.put(key, {"owner": "gone:1:x", "at": time.time() - writer_lock.LOCK_STALE_AFTER - 5})
        assert indexer.drain() == 1
        assert document_id in indexed_ids()
        assert not huey.is_locked(writer_lock.LOCK_NAME)


def test_a_long_rebuild_keeps_its_lock_alive(app):
    with app.app_context():
        lock = writer_lock.WriterLock()
        assert lock.acquire()
        try:
            first = huey.get(lock.key, peek=True)["at"]
            with lock.kept_alive(every=0.05):
                time.sleep(0.3)
            assert huey.get(lock.key, peek=True)["at"] > first
            assert not writer_lock.WriterLock().acquire()
        finally:
            lock.release()
        assert not huey.is_locked(writer_lock.LOCK_NAME)


def test_many_small_drains_do_not_pile_up_segments(app):
    with app.app_context():
        for n in range(60):
            make_document(f"small-{n}.txt", f"damson number{n}")
            indexer.drain()
        ix = search_index.open_current()
        assert len(ix._segments()) < 15
        assert ix.doc_count() == 60


# ---------------------------------------------------------------- building and rebuilding


def test_the_first_drain_builds_a_missing_index_from_the_database(app):
    with app.app_context():
        ids = [make_document(f"old-{n}.txt", "greengage", note=False) for n in range(3)]  # before search existed
        assert search_index.read_pointer(search_index.search_root()) is None
        assert search_service.search("greengage").message.startswith("Search is being prepared")
        indexer.drain()
        assert indexed_ids() == set(ids)


def test_an_index_written_with_another_schema_is_rebuilt_before_it_is_written(app):
    with app.app_context():
        document_id = make_document("v.txt", "mulberry")
        indexer.drain()
        root = search_index.search_root()
        pointer = json.loads((root / "current").read_text())
        (root / "current").write_text(json.dumps({**pointer, "schema": SCHEMA_VERSION - 1}))
        assert indexer.index_status()["index"].startswith("outdated")
        make_document("w.txt", "mulberry jam")
        indexer.drain()
        location = search_index.read_pointer(root)
        assert location.schema_version == SCHEMA_VERSION
        assert location.directory != pointer["directory"]
        assert document_id in indexed_ids()
        assert len(indexed_ids()) == 2


def test_reindex_swaps_in_a_new_directory_and_applies_changes_made_meanwhile(app, monkeypatch):
    monkeypatch.setattr(indexer, "REBUILD_BATCH", 2)
    with app.app_context():
        ids = [make_document(f"r-{n}.txt", f"apricot tray{n}") for n in range(5)]
        indexer.drain()
        before = search_index.read_pointer(search_index.search_root())
        during: list[int] = []
        seen: list[tuple[int, int]] = []

        def progress(done: int, total: int) -> None:
            seen.append((done, total))
            if not during:  # someone uploads while the new index is being built
                during.append(make_document("during.txt", "apricot during"))
                delete_document(ids[0])

        # The new document is read by a later batch; the deletion comes from the outbox after the swap.
        assert indexer.reindex(progress) == 6
        after = search_index.read_pointer(search_index.search_root())
        assert after.directory != before.directory
        assert seen[0] == (2, 5)
        assert seen[-1] == (6, 6)
        assert outbox_rows() == 0
        assert indexed_ids() == set(ids[1:]) | set(during)
        assert indexer.verify().clean
        dirs = sorted(p.name for p in search_index.search_root().iterdir() if p.is_dir())
        assert dirs == sorted({before.directory, after.directory})  # the previous one is kept for one swap


def test_a_failed_rebuild_leaves_the_live_index_alone(app, monkeypatch):
    with app.app_context():
        make_document("keep.txt", "medlar")
        indexer.drain()
        before = search_index.read_pointer(search_index.search_root())

        def broken(document):
            raise RuntimeError("disk full")

        monkeypatch.setattr(indexer, "document_fields", broken)
        with pytest.raises(RuntimeError):
            indexer.reindex()
        assert search_index.read_pointer(search_index.search_root()) == before
        assert [p.name for p in search_index.search_root().iterdir() if p.is_dir()] == [before.directory]
        assert found("medlar")


# ---------------------------------------------------------------- drift, status and the CLI


def test_verify_finds_missing_extra_and_stale_entries(app):
    with app.app_context():
        missing, extra, stale, fine = (make_document(f"d-{n}.txt", f"sloe gin{n}") for n in range(4))
        indexer.drain()
        assert indexer.verify().clean
        with search_index.open_current().writer() as writer:  # behind the outbox's back
            writer.delete_by_term("id", str(missing))
        db.session.get(Document, extra).deleted_at = datetime.now(UTC)
        db.session.get(Document, stale).filename = "renamed.txt"
        db.session.commit()
        drift = indexer.verify()
        assert (drift.missing, drift.extra, drift.stale) == ([missing], [extra], [stale])
        assert not drift.clean
        assert drift.indexed == 3
        note_change(fine)
        db.session.commit()
        assert indexer.verify().pending == 1  # queued changes are not drift


def test_cli_verify_exits_1_on_drift_and_0_after_reindex(app, runner):
    with app.app_context():
        ids = [make_document(f"c-{n}.txt", f"cloudberry{n}") for n in range(3)]
        indexer.drain()
        result = runner.invoke(search_cli, ["verify"])
        assert result.exit_code == 0, result.output
        assert "matches the database (3 documents)" in result.output
        with search_index.open_current().writer() as writer:
            writer.delete_by_term("id", str(ids[1]))
        result = runner.invoke(search_cli, ["verify"])
        assert result.exit_code == 1
        assert f"1 missing from the index: {ids[1]}" in result.output
        result = runner.invoke(search_cli, ["reindex"])
        assert result.exit_code == 0, result.output
        assert "3 documents indexed in" in result.output
        assert runner.invoke(search_cli, ["verify"]).exit_code == 0


def test_cli_verify_without_an_index_is_drift(app, runner):
    with app.app_context():
        make_document("n.txt", "bilberry", note=False)
        result = runner.invoke(search_cli, ["verify"])
        assert result.exit_code == 1
        assert "not been built" in result.output


def test_cli_drain_applies_the_outbox_and_says_how_many(app, runner):
    with app.app_context():
        make_document("a.txt", "hawthorn")
        make_document("b.txt", "hawthorn jelly")
        result = runner.invoke(search_cli, ["drain"])
        assert result.exit_code == 0, result.output
        assert "2 changes applied, 0 still waiting." in result.output


def test_index_status_for_readiness(app):
    with app.app_context():
        status = indexer.index_status()
        assert status["ok"] is False
        assert status["index"].startswith("missing")
        make_document("s.txt", "sorrel")
        indexer.drain()
        make_document("t.txt", "sorrel soup")
        status = indexer.index_status()
        assert status["ok"] is True
        assert status["index"] == "ok"
        assert status["documents"] == 1
        assert status["backlog"] == 1
        assert 0 <= status["oldest_seconds"] < 60


def test_the_searcher_follows_commits_and_swaps(app):
    with app.app_context():
        make_document("one.txt", "juniper")
        indexer.drain()
        with search_index.shared_searcher() as searcher:
            assert searcher.doc_count() == 1
        make_document("two.txt", "juniper berries")
        indexer.drain()
        with search_index.shared_searcher() as searcher:
            assert searcher.doc_count() == 2  # refreshed after the commit
        indexer.reindex()
        with search_index.shared_searcher() as searcher:
            assert searcher.doc_count() == 2  # reopened after the swap
            assert whoosh_index.exists_in(str(search_index.read_pointer(search_index.search_root()).path))
