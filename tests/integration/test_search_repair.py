"""The search index heals itself: a check finds what drifted from the database, repairs it through the outbox,
and says so on the System page, in /readyz and in /metrics."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from app.db_types import utcnow
from app.documents import service as documents
from app.documents.models import Document, DocumentEvent
from app.extensions import db
from app.ops import workers
from app.search import checks, indexer, repair
from app.search import index as search_index
from app.search.cli import search_cli
from app.search.models import SearchCheck, SearchOutbox
from app.search.service import search
from tests.integration.test_metrics import scrape, value
from tests.integration.test_search_index import indexed_ids, make_document


def _found(words: str) -> set[int]:
    return {hit.document_id for hit in search(words).hits}


def _indexed_documents(count: int, word: str = "quince") -> list[int]:
    """`count` documents, each searchable for `word` plus its number, in the index and matching it."""
    ids = [make_document(f"{word}-{n}.txt", f"{word} jam batch{n}") for n in range(count)]
    indexer.drain()
    assert indexer.verify().clean
    return ids


def _lose_the_outbox() -> None:
    """The outbox rows vanish before any drain applies them (a lost write, a restored backup, a bug)."""
    db.session.execute(delete(SearchOutbox))
    db.session.commit()


def _checks() -> int:
    return db.session.scalar(select(func.count(SearchCheck.id))) or 0


# ---------------------------------------------------------------- what a check finds and repairs


def test_a_document_restored_from_the_trash_whose_outbox_row_was_lost_is_found_missing_and_reindexed(app, monkeypatch):
    with app.app_context():
        restored = documents.ingest(io.BytesIO(b"quince jam, restored"), "restored.txt", user_id=None).document.id
        other = documents.ingest(io.BytesIO(b"quince jam, kept"), "kept.txt", user_id=None).document.id
        assert _found("quince") == {restored, other}
        documents.delete_document(restored, user_id=None)
        assert restored not in _found("quince")
        # The queue lost the drain request, and the outbox row was lost with it: nothing tells the index.
        monkeypatch.setattr(documents.outbox, "request_drain", lambda: None)
        documents.restore_document(restored, user_id=None)
        _lose_the_outbox()
        assert restored not in _found("quince")

        check = repair.check(None)

        assert (check.scope, check.checked, check.missing, check.extra, check.stale) == ("full", 2, 1, 0, 0)
        assert check.repaired == 1
        assert check.unrepaired == 0
        assert check.drifted == {"missing": [restored]}
        assert _found("quince") == {restored, other}
        assert indexer.verify().clean
        assert checks.describe(check) == ["1 document was missing from the index and has been re-indexed."]


def test_an_index_entry_for_a_purged_document_is_dropped(app):
    with app.app_context():
        purged, kept = _indexed_documents(2)
        # Purged behind the outbox's back: the row is gone, its index entry is not.
        db.session.execute(delete(DocumentEvent).where(DocumentEvent.document_id == purged))
        db.session.execute(delete(Document).where(Document.id == purged))
        db.session.commit()
        assert purged in indexed_ids()

        check = repair.check(None)

        assert (check.missing, check.extra, check.stale, check.repaired) == (0, 1, 0, 1)
        assert indexed_ids() == {kept}
        assert checks.describe(check) == [
            "1 index entry for deleted or unprocessed documents was in the index and has been dropped."
        ]


def test_a_stale_entry_whose_text_changed_without_the_outbox_is_refreshed(app):
    with app.app_context():
        changed, _ = _indexed_documents(2)
        db.session.execute(update(Document).where(Document.id == changed).values(text="medlar jelly"))
        db.session.commit()
        assert _found("medlar") == set()

        check = repair.check(None)

        assert (check.missing, check.extra, check.stale, check.repaired) == (0, 0, 1, 1)
        assert _found("medlar") == {changed}
        assert indexer.verify().clean


def test_changes_waiting_in_the_outbox_are_not_drift(app):
    with app.app_context():
        _indexed_documents(1)
        make_document("waiting.txt", "rowan jelly")  # committed with its outbox row, not drained yet
        check = repair.check(None, fix=False)
        assert (check.checked, check.missing, check.unrepaired) == (1, 0, 0)
        assert checks.describe(check) == []


def test_a_sample_check_reads_only_its_sample_and_repairs_only_what_it_saw(app):
    with app.app_context():
        ids = _indexed_documents(30)
        with search_index.open_current().writer() as writer:  # every entry lost behind the outbox's back
            for document_id in ids:
                writer.delete_by_term("id", str(document_id))

        check = repair.check(5, rng=random.Random(7))

        assert (check.scope, check.population, check.checked) == ("sample", 30, 5)
        assert (check.missing, check.repaired) == (5, 5)
        assert len(indexed_ids()) == 5
        # The next full check finds the other 25, and leaves nothing behind.
        full = repair.check(None)
        assert (full.checked, full.missing, full.repaired) == (30, 25, 25)
        assert indexed_ids() == set(ids)


def test_the_hourly_sample_is_500_documents_or_two_percent_whichever_is_larger(app):
    assert repair.sample_size(30) == 500
    assert repair.sample_size(25_000) == 500
    assert repair.sample_size(100_000) == 2_000
    with app.app_context():
        _indexed_documents(3)
        check = repair.check("auto")
        assert (check.scope, check.population, check.checked) == ("sample", 3, 3)


def test_without_an_index_the_check_builds_one(app):
    with app.app_context():
        ids = [make_document(f"n-{n}.txt", f"sloe{n}", note=False) for n in range(2)]
        check = repair.check(None)
        assert check.missing == 2
        assert check.repaired == 2
        assert check.problem is None
        assert indexed_ids() == set(ids)


def test_checks_are_recorded_and_old_ones_forgotten(app):
    with app.app_context():
        _indexed_documents(1)
        old = SearchCheck(started_at=utcnow() - timedelta(days=repair.KEEP_DAYS + 1), scope="sample")
        db.session.add(old)
        db.session.commit()
        repair.check(None)
        assert _checks() == 1
        assert checks.latest_check("full").checked == 1


# ---------------------------------------------------------------- the command line


def test_cli_verify_repair_puts_the_index_right_and_a_sample_without_repair_only_reports(app, runner):
    with app.app_context():
        ids = _indexed_documents(4)
        with search_index.open_current().writer() as writer:
            writer.delete_by_term("id", str(ids[2]))

        result = runner.invoke(search_cli, ["verify", "--sample", "10"])
        assert result.exit_code == 1, result.output
        assert "Checked a sample of 4 of 4 documents" in result.output
        assert "1 document was missing from the index." in result.output
        assert "1 is not repaired" in result.output
        assert ids[2] not in indexed_ids()

        result = runner.invoke(search_cli, ["verify", "--repair"])
        assert result.exit_code == 0, result.output
        assert "Checked all 4 documents" in result.output
        assert "1 document was missing from the index and has been re-indexed." in result.output
        assert ids[2] in indexed_ids()

        result = runner.invoke(search_cli, ["verify", "--repair"])
        assert result.exit_code == 0, result.output
        assert "The index matches the database." in result.output
        assert _checks() == 3


# ---------------------------------------------------------------- where it is reported


def test_the_system_page_says_what_the_last_check_found_and_repaired(app, client, auth):
    with app.app_context():
        ids = _indexed_documents(5)
        with search_index.open_current().writer() as writer:
            for document_id in ids[:3]:
                writer.delete_by_term("id", str(document_id))
        repair.check(None)
    auth.login_as("admin")
    page = client.get("/admin/system").get_data(as_text=True)
    assert 'id="search-index"' in page
    assert "3 documents were missing from the index and have been re-indexed." in page
    assert "all 5 documents" in page


def test_the_system_page_says_when_the_index_was_never_checked(app, client, auth):
    auth.login_as("admin")
    page = client.get("/admin/system").get_data(as_text=True)
    assert "The search index has not been checked yet" in page


def test_metrics_count_drift_found_and_repaired_and_say_when_the_last_check_ran(app, client):
    before = scrape(client)
    with app.app_context():
        ids = _indexed_documents(3)
        db.session.execute(update(Document).where(Document.id == ids[0]).values(text="changed"))
        db.session.commit()
        check = repair.check(None)
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("quartermaster_search_drift_found_total", kind="stale") == 1
    assert grew("quartermaster_search_drift_found_total", kind="missing") == 0
    assert grew("quartermaster_search_drift_repaired_total") == 1
    assert value(after, "quartermaster_search_drift_last_check_found", kind="stale") == 1
    assert value(after, "quartermaster_search_drift_unrepaired") == 0
    assert (
        value(after, "quartermaster_search_drift_last_check_timestamp_seconds", scope="full")
        == check.started_at.timestamp()
    )
    assert value(after, "quartermaster_metrics_source_up", source="search_checks") == 1


def test_readyz_says_degraded_while_drift_remains_and_ok_once_repaired(app, client):
    with app.app_context():
        ids = _indexed_documents(2)
        with search_index.open_current().writer() as writer:
            writer.delete_by_term("id", str(ids[0]))
        repair.check(None, fix=False)  # found, not repaired
    response = client.get("/readyz")
    assert response.status_code == 200  # degraded is reported, never a reason to be unready
    drift = response.json["search_drift"]
    assert drift["status"] == "degraded"
    assert "left 1 drifted entry unrepaired" in drift["reasons"][0]
    assert drift["last_check"]["missing"] == 1
    assert drift["last_check"]["unrepaired"] == 1

    with app.app_context():
        repair.check(None)
    assert client.get("/readyz").json["search_drift"]["status"] == "ok"


def test_readyz_says_degraded_when_no_check_ran_for_two_hours_while_the_workers_run(app, client):
    with app.app_context():
        started = utcnow() - timedelta(hours=3)
        identity = workers.WorkerIdentity("host", 1, app.config["QUEUE_NAME"], True, 1, "thread", started)
        workers.write_heartbeat(identity)
    drift = client.get("/readyz").json["search_drift"]
    assert drift["status"] == "degraded"
    assert "no check of the search index has run" in drift["reasons"][0]

    with app.app_context():
        repair.check("auto")
    assert client.get("/readyz").json["search_drift"]["status"] == "ok"


def test_strangers_get_the_verdict_of_readyz_only(app, client):
    with app.app_context():
        repair.check(None, fix=False)
    response = client.get("/readyz", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.json == {"status": "ok"}
