"""Segments merged a little in every drain and all at once at night: a new document never waits for a big merge."""

from __future__ import annotations

from app.search import index as search_index
from app.search import indexer, merging
from app.search.writer_lock import WriterLock
from tests.integration.test_search_index import delete_document, found, indexed_ids, make_document


def _segments() -> dict[str, int]:
    """Segment id -> documents in it (deleted ones included), as the live index has them now."""
    ix = search_index.open_current()
    return {segment.segment_id(): segment.doc_count_all() for segment in ix._segments()}


def test_one_document_drains_never_merge_a_large_segment_and_keep_few_small_ones(app, monkeypatch):
    monkeypatch.setattr(merging, "LARGEST_MERGED", 20)  # the real figure is 1,000 documents; the rule is the same
    monkeypatch.setattr(merging, "SEGMENTS_PER_TIER", 3)
    with app.app_context():
        ids = [make_document(f"bulk-{n}.txt", f"sencha crate {n}", note=False) for n in range(30)]
        indexer.reindex()
        (large,) = _segments()  # one segment of 30: "large" for this test
        for n in range(12):
            ids.append(make_document(f"new-{n}.txt", f"oolong tin {n}"))
            indexer.drain()
            segments = _segments()
            assert segments[large] == 30, "a drain merged the large segment"
            assert len(segments) <= 1 + 2 * merging.SEGMENTS_PER_TIER  # small ones were merged as they came
            assert len(found(f'"tin {n}"')) == 1  # each is findable straight after its drain
        assert indexed_ids() == set(ids)


def test_optimize_merges_everything_and_drops_deleted_entries(app):
    with app.app_context():
        ids = []
        for n in range(4):  # four drains, four segments
            ids.append(make_document(f"note-{n}.txt", f"crate of rooibos {n}"))
            indexer.drain()
        delete_document(ids[0])
        indexer.drain()
        assert len(_segments()) > 1
        result = app.test_cli_runner().invoke(args=["search", "optimize"])
        assert result.exit_code == 0, result.output
        assert "merged into one" in result.output
        assert list(_segments().values()) == [3]  # the deleted entry is gone from the files, not only masked
        assert set(found("rooibos")) == set(ids[1:])


def test_optimize_waits_for_no_one_when_another_process_writes(app):
    with app.app_context():
        make_document("note.txt", "crate of rooibos")
        indexer.drain()
        held = WriterLock()
        assert held.acquire()
        try:
            result = app.test_cli_runner().invoke(args=["search", "optimize", "--wait", "0"])
        finally:
            held.release()
        assert result.exit_code == 2
        assert "another process is writing" in result.output
