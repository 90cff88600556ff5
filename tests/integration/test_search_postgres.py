"""Search on PostgreSQL (QM_SEARCH_BACKEND=postgres): the drain, verify, reindex and repair on its rows, and
what it does differently from Whoosh (README, "Search on PostgreSQL"), each difference stated by a test.

The search tests that hold for both backends (relevance, the query language, malformed queries, filters,
facets, snippets, deleted documents) run on both in test_search_service.py, test_search_exact_and_dates.py,
test_search_pages.py and test_search_relevance.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from app.config import ConfigError, Settings
from app.documents.models import Document
from app.extensions import db
from app.search import backend, indexer, repair
from app.search.cli import search_cli
from app.search.models import SearchDocument, SearchWord
from app.search.outbox import note_change
from app.search.service import more_like_this, search
from tests.integration.test_search_index import delete_document, make_document, outbox_rows


@pytest.fixture
def app(search_app):
    return search_app


pytestmark = pytest.mark.parametrize("search_app", ["postgres-search"], indirect=True)


def rows() -> set[int]:
    return set(db.session.scalars(select(SearchDocument.document_id)))


def found(query: str, **kwargs) -> list[int]:
    return [hit.document_id for hit in search(query, **kwargs).hits]


# ---------------------------------------------------------------- the drain writes rows, not files


def test_the_drain_writes_rows_in_the_database_and_nothing_on_disk(app):
    with app.app_context():
        ids = [make_document(f"leaf-{n}.txt", f"darjeeling first flush number{n}") for n in range(3)]
        queued = make_document("queued.txt", "darjeeling", state="queued")
        gone = make_document("gone.txt", "darjeeling")
        delete_document(gone)
        assert indexer.drain() == 6  # the deleted one's upsert and delete
        assert outbox_rows() == 0
        assert rows() == set(ids)
        assert set(found("darjeeling")) == set(ids)
        assert queued not in found("darjeeling")
        assert indexer.drain() == 0
        assert not (Path(app.config["DATA_DIR"]) / "search").exists()  # nothing a second node could miss
        assert {"darjeeling", "flush"} <= set(db.session.scalars(select(SearchWord.word)))


def test_a_purged_document_takes_its_row_with_it(app):
    with app.app_context():
        document_id = make_document("purged.txt", "quince paste")
        indexer.drain()
        db.session.delete(db.session.get(Document, document_id))
        note_change(document_id, deleted=True)
        db.session.commit()
        assert rows() == set()  # the foreign key cascades; the drain has nothing left to remove
        indexer.drain()
        assert found("quince") == []


def test_a_change_is_found_as_soon_as_the_drain_commits(app):
    with app.app_context():
        (document_id,) = [make_document("a.txt", "macadamia")]
        indexer.drain()
        document = db.session.get(Document, document_id)
        document.text = "brazil nuts"
        note_change(document_id)
        db.session.commit()
        assert found("macadamia") == [document_id]
        indexer.drain()
        assert found("macadamia") == []
        assert found("brazil") == [document_id]


# ---------------------------------------------------------------- verify, reindex, repair


def test_verify_finds_missing_extra_and_stale_rows(app):
    with app.app_context():
        missing, extra, stale, fine = (make_document(f"d-{n}.txt", f"sloe gin{n}") for n in range(4))
        indexer.drain()
        assert indexer.verify().clean
        db.session.execute(delete(SearchDocument).where(SearchDocument.document_id == missing))
        db.session.get(Document, extra).deleted_at = datetime.now(UTC)  # behind the outbox's back
        db.session.get(Document, stale).filename = "renamed.txt"
        db.session.commit()
        drift = indexer.verify()
        assert (drift.missing, drift.extra, drift.stale) == ([missing], [extra], [stale])
        assert drift.indexed == 3
        note_change(fine)
        db.session.commit()
        assert indexer.verify().pending == 1


def test_cli_verify_exits_1_on_drift_and_0_after_reindex(app, runner):
    with app.app_context():
        ids = [make_document(f"c-{n}.txt", f"cloudberry{n}") for n in range(3)]
        indexer.drain()
        result = runner.invoke(search_cli, ["verify"])
        assert result.exit_code == 0, result.output
        assert "matches the database (3 documents)" in result.output
        db.session.execute(delete(SearchDocument).where(SearchDocument.document_id == ids[1]))
        db.session.execute(delete(SearchWord))
        db.session.commit()
        result = runner.invoke(search_cli, ["verify"])
        assert result.exit_code == 1
        assert f"1 missing from the index: {ids[1]}" in result.output
        result = runner.invoke(search_cli, ["reindex"])
        assert result.exit_code == 0, result.output
        assert "3 documents indexed in" in result.output
        assert runner.invoke(search_cli, ["verify"]).exit_code == 0
        assert "cloudberry1" in set(db.session.scalars(select(SearchWord.word)))  # the word list is rebuilt


def test_the_periodic_check_repairs_drift_through_the_outbox(app):
    with app.app_context():
        ids = [make_document(f"q-{n}.txt", f"quince jam batch{n}") for n in range(4)]
        indexer.drain()
        db.session.execute(delete(SearchDocument).where(SearchDocument.document_id == ids[0]))
        db.session.get(Document, ids[1]).text = "medlar jelly"
        db.session.get(Document, ids[2]).deleted_at = datetime.now(UTC)
        db.session.commit()
        check = repair.check(None)
        assert (check.missing, check.stale, check.extra) == (1, 1, 1)
        assert check.repaired == 3
        assert check.problem is None
        assert indexer.verify().clean
        assert found("medlar") == [ids[1]]
        assert set(found("quince")) == {ids[0], ids[3]}
        sample = repair.check("auto")
        assert sample.scope == "sample"
        assert sample.missing + sample.extra + sample.stale == 0


def test_index_status_for_readiness(app):
    with app.app_context():
        status = indexer.index_status()
        assert status["ok"] is True  # nothing to build: the rows are in the database
        assert status["documents"] == 0
        make_document("s.txt", "sorrel")
        indexer.drain()
        make_document("t.txt", "sorrel soup")
        status = indexer.index_status()
        assert status["index"].startswith("ok")
        assert (status["documents"], status["backlog"]) == (1, 1)


# ---------------------------------------------------------------- differences from Whoosh, stated


def test_difference_a_wildcard_inside_a_word_is_read_as_a_prefix(app):
    """Whoosh matches ne?t as net-t words only; tsquery has prefixes, not patterns."""
    with app.app_context():
        nest, next_, neat = (make_document(f"{w}.txt", f"the {w} one") for w in ("nest", "next", "neat"))
        indexer.drain()
        assert set(found("ne?t")) == {nest, next_, neat}
        assert set(found("nes*")) == {nest}


def test_difference_counts_are_always_exact_never_estimated(app):
    """Whoosh estimates the total and facets of a huge result from a sample; PostgreSQL counts every match."""
    with app.app_context():
        for n in range(12):
            make_document(f"e-{n}.txt", "elderflower cordial", category="drinks" if n % 3 else "food")
        indexer.drain()
        result = search("elderflower")
        assert result.estimated is False
        assert (result.total, dict(result.facets)) == (12, {"drinks": 8, "food": 4})


def test_the_setting_is_validated_and_needs_postgresql(app, tmp_path):
    base = {"QM_ENV": "testing", "DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 40}
    assert Settings.from_env(base).search_backend == "whoosh"
    assert Settings.from_env({**base, "QM_SEARCH_BACKEND": "Postgres"}).flask_config()["SEARCH_BACKEND"] == "postgres"
    with pytest.raises(ConfigError, match="QM_SEARCH_BACKEND"):
        Settings.from_env({**base, "QM_SEARCH_BACKEND": "elastic"})
    with app.app_context():
        assert backend.uses_postgres()
        assert db.session.scalar(select(func.count()).select_from(SearchDocument)) == 0


def test_more_like_this_marks_the_shared_words(app):
    with app.app_context():
        base, close, far = (
            make_document("a.txt", "cashew nuts roasted salted cashew cartons pallet"),
            make_document("b.txt", "Deliveries of roasted salted cashews in cartons"),
            make_document("c.txt", "printer toner and paper"),
        )
        indexer.drain()
        similar = more_like_this(base)
        assert [hit.document_id for hit in similar] == [close]
        assert far not in [hit.document_id for hit in similar]
        assert "<mark>cashews</mark>" in similar[0].snippet
        assert "<mark>roasted</mark>" in similar[0].snippet
