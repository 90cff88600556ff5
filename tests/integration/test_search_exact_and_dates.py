"""Exact words first, the document date in the search box and the filters, and titles in the results."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from app.documents.models import Document
from app.extensions import db
from app.search import indexer
from app.search.outbox import note_change
from app.search.service import SearchFilters, more_like_this, search
from tests.integration.test_search_index import found, make_document


@pytest.fixture
def app(search_app):
    """Every test here runs on Whoosh (SQLite, PostgreSQL) and on PostgreSQL full-text search."""
    return search_app


FILLER = "Goods received in good order at the warehouse on the agreed date with the usual paperwork. "


def indexed(*documents: tuple[str, str]) -> list[int]:
    ids = [make_document(filename, text) for filename, text in documents]
    indexer.drain()
    return ids


def describe(document_id: int, **values) -> None:
    """Give a document a title or a date, as its page does (the change reaches the index through the outbox)."""
    document = db.session.get(Document, document_id)
    for name, value in values.items():
        setattr(document, name, value)
    note_change(document_id)
    db.session.commit()
    indexer.drain()


# ---------------------------------------------------------------- exact forms rank first


def test_the_page_with_the_exact_word_ranks_above_pages_with_its_relatives(app):
    with app.app_context():
        relatives = indexed(
            *[(f"omit-{n}.txt", FILLER + "Fields left empty are omitted; omit the rest. " * 3) for n in range(6)]
        )
        (exact,) = indexed(("rules.txt", FILLER * 2 + "Omitting a field is allowed."))
        result = search("omitting")
        assert result.hits[0].document_id == exact
        assert result.total == 7  # the relatives are still found, below it
        assert set(found("omitted")) == {exact, *relatives}
        assert found("omitted")[0] in relatives


def test_exact_forms_still_fold_case_and_accents(app):
    with app.app_context():
        plain, accented = indexed(("a.txt", FILLER + "the cafes nearby"), ("b.txt", FILLER + "one Café downstairs"))
        assert found("CAFÉ")[0] == accented
        assert found("cafe")[0] == accented
        assert found("cafes")[0] == plain


def test_phrases_and_prefixes_keep_working_and_prefixes_reach_exact_forms(app):
    with app.app_context():
        delivered, note = indexed(
            ("a.txt", "The pallets were delivered on Monday."), ("b.txt", "Please find the credit note attached.")
        )
        assert found("deliver*") == [delivered]  # "delivered" is stemmed to "deliv", which "deliver*" misses
        assert found("deliv*") == [delivered]
        assert found('"credit note"') == [note]
        assert found('"note credit"') == []
        assert "<mark>delivered</mark>" in str(search("deliver*").hits[0].snippet)


def test_did_you_mean_still_offers_real_words(app):
    with app.app_context():
        indexed(("a.txt", FILLER + "warehouse"))
        assert search("warehuose").correction == "warehouse"


# ---------------------------------------------------------------- the document date


def test_the_search_box_finds_documents_by_their_date(app):
    with app.app_context():
        march, april, last_year, undated = indexed(*[(f"{n}.txt", "invoice for tea") for n in range(4)])
        describe(march, document_date=date(2024, 3, 15))
        describe(april, document_date=date(2024, 4, 1))
        describe(last_year, document_date=date(2023, 12, 31))
        assert set(found("date:2024")) == {march, april}
        assert found("date:2024-03") == [march]
        assert found("date:2024-3") == [march]
        assert found("date:2024-03-15 invoice") == [march]
        assert found("date:2024-03-14") == []
        assert set(found("date:[2023-12 to 2024-03]")) == {march, last_year}
        assert set(found("date:[2024-04 TO 2024-12-31]")) == {april}
        assert set(found("tea [2024 to]")) == {march, april}
        assert undated not in found("invoice date:[1900 to 2100]")


def test_a_date_that_is_not_one_gets_a_message_not_an_error(app):
    with app.app_context():
        (document_id,) = indexed(("a.txt", "invoice for tea"))
        for query in ["date:2024-13", "date:tomorrow", "date:24", "date:2024-02-30", "date:[2024-13 to 2025]"]:
            result = search(query)
            assert result.total == 0, query
            assert "is not a date, so it was left out; write date:2024, date:2024-03" in result.message, query
        result = search("tea date:2024-13")
        assert [hit.document_id for hit in result.hits] == [document_id]  # the rest of the search still runs
        assert '"2024-13" is not a date' in result.message
        backwards = search("date:[2024-05 to 2024-03]")
        assert backwards.message == "The date range 2024-05 to 2024-03 ends before it starts."


def test_the_document_date_filter_leaves_out_other_and_undated_documents(app):
    with app.app_context():
        march, april, undated = indexed(*[(f"{n}.txt", "invoice for tea") for n in range(3)])
        describe(march, document_date=date(2024, 3, 15))
        describe(april, document_date=date(2024, 4, 1))
        assert set(found("tea", filters=SearchFilters(dated_from=date(2024, 3, 15)))) == {march, april}
        assert found("tea", filters=SearchFilters(dated_until=date(2024, 3, 15))) == [march]
        assert found("tea", filters=SearchFilters(dated_from=date(2024, 3, 16), dated_until=date(2024, 4, 1))) == [
            april
        ]
        everything = search("", filters=SearchFilters(dated_from=date(2000, 1, 1)))
        assert {hit.document_id for hit in everything.hits} == {march, april}
        assert undated not in {hit.document_id for hit in everything.hits}


# ---------------------------------------------------------------- titles


def test_hits_carry_the_title_from_the_database(app):
    with app.app_context():
        named, plain = indexed(("scan-0001.pdf", FILLER + "oolong"), ("oolong-note.txt", FILLER + "oolong"))
        document = db.session.get(Document, named)
        document.title = "Oolong contract 2024"  # not re-indexed: the title shown is read for the page
        db.session.commit()
        titles = {hit.document_id: (hit.title, hit.filename) for hit in search("oolong").hits}
        assert titles == {named: ("Oolong contract 2024", "scan-0001.pdf"), plain: ("oolong-note", "oolong-note.txt")}
        assert [hit.title for hit in more_like_this(plain)] == ["Oolong contract 2024"]


def test_the_results_page_links_the_title_and_shows_the_file_name_and_date(app, client, auth):
    auth.login_as("staff")
    with app.app_context():
        (document_id,) = indexed(("scan-0001.pdf", "Invoice for jasmine tea"))
        describe(document_id, title="Jasmine invoice", document_date=date(2024, 3, 15))
    html = client.get("/search?q=jasmine", htmx=True).get_data(as_text=True)
    link = r'<a href="/documents/\d+"><strong>Jasmine invoice</strong></a> '
    assert re.search(link + r'<small class="hit-filename">scan-0001.pdf</small>', html)
    assert '<small class="hit-date" title="Document date">2024-03-15</small>' in html

    rows = list(
        csv.DictReader(io.StringIO(client.get("/search.csv?q=jasmine").get_data(as_text=True).lstrip("\ufeff")))
    )
    assert [(row["title"], row["filename"], row["document_date"]) for row in rows] == [
        ("Jasmine invoice", "scan-0001.pdf", "2024-03-15")
    ]


def test_the_page_filters_by_document_date_and_explains_a_bad_one(app, client, auth):
    auth.login_as("viewer")
    with app.app_context():
        march, _undated = indexed(("march.txt", "jasmine tea"), ("undated.txt", "jasmine tea"))
        describe(march, document_date=date(2024, 3, 15))
    page = client.get("/search?q=jasmine&dated_from=2024-03-01&dated_until=2024-03-31")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'data-testid="result-count">1<', html)
    assert "Document date from: 2024-03-01" in html
    assert "Document date to: 2024-03-31" in html
    assert re.search(r'<label for="dated_from"[^>]*>Document date from</label>', html)

    backwards = client.get("/search?q=jasmine&dated_from=2024-04-01&dated_until=2024-03-01")
    assert backwards.status_code == 400
    assert "The document date range ends before it starts." in backwards.get_data(as_text=True)

    typed = client.get("/search", query_string={"q": "jasmine date:2024-13"}, htmx=True)
    assert typed.status_code == 200
    assert "is not a date, so it was left out; write date:2024" in typed.get_data(as_text=True)
