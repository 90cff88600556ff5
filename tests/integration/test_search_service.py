"""Searching: relevance, the query language, filters and facets, snippets, messages, deleted documents."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from markupsafe import Markup

from app.documents.models import Document
from app.extensions import db
from app.search import indexer
from app.search import service as search_service
from app.search.outbox import note_change
from app.search.service import SearchFilters, more_like_this, search
from tests.integration.test_search_index import delete_document, found, make_document


@pytest.fixture
def app(search_app):
    """Every test here runs on Whoosh (SQLite, PostgreSQL) and on PostgreSQL full-text search."""
    return search_app


def on_postgres(app) -> bool:
    return app.config["SEARCH_BACKEND"] == "postgres"


FILLER = "Goods received in good order at the warehouse on the agreed date with the usual paperwork. "


def indexed(*documents: tuple[str, str], **kwargs) -> list[int]:
    """Make these (filename, text) documents and apply the outbox."""
    ids = [make_document(filename, text, **kwargs) for filename, text in documents]
    indexer.drain()
    return ids


# ---------------------------------------------------------------- relevance


def test_a_unique_word_finds_its_document_first(app):
    with app.app_context():
        ids = indexed(*[(f"doc-{n}.txt", FILLER * 3) for n in range(8)], ("odd.txt", FILLER + "a crate of kumquats"))
        result = search("kumquats")
        assert result.total == 1
        assert result.hits[0].document_id == ids[-1]


def test_a_phrase_beats_the_same_words_scattered(app):
    with app.app_context():
        scattered, together = indexed(
            ("scattered.txt", "The note was brief. " + FILLER + "Credit is extended for thirty days."),
            ("together.txt", FILLER + "Please find the credit note attached."),
        )
        assert found('"credit note"') == [together]
        assert found("credit note")[0] == together
        assert set(found("credit note")) == {scattered, together}


def test_a_file_name_match_ranks_above_a_body_match(app):
    with app.app_context():
        body, name = indexed(
            ("scan-0001.pdf", FILLER + "this mentions the manifest once"),
            ("manifest.pdf", FILLER + "nothing of note here"),
        )
        assert found("manifest") == [name, body]


def test_stemming_finds_other_forms_of_a_word(app):
    with app.app_context():
        (invoices,) = indexed(("a.txt", "Three invoices were paid; deliveries arrive on Monday."))
        assert found("invoice") == [invoices]
        assert found("INVOICING") == [invoices]
        assert found("delivery") == [invoices]


def test_accents_are_folded_both_ways(app):
    with app.app_context():
        cafe, naive = indexed(("menu.txt", "Café au lait for the staff room"), ("n.txt", "a naive reading"))
        assert found("cafe") == [cafe]
        assert found("CAFÉ") == [cafe]
        assert found("naïve") == [naive]


# ---------------------------------------------------------------- the query language


def test_query_syntax(app):
    with app.app_context():
        pears, apples, both = indexed(
            ("pears.txt", "ripe pears from the orchard"),
            ("apples.txt", "crisp apples from the orchard"),
            ("both.txt", "pears and apples in one crate"),
        )
        assert set(found("pears apples")) == {both}  # all words by default
        assert set(found("pears OR apples")) == {pears, apples, both}
        assert set(found("orchard -apples")) == {pears}
        assert set(found("orchard NOT pears")) == {apples}
        assert set(found("(pears OR apples) AND crate")) == {both}
        assert set(found("orch*")) == {pears, apples}
        assert set(found("filename:apples")) == {apples}
        assert set(found('"from the orchard"')) == {pears, apples}


def test_category_in_the_query_and_as_a_filter(app):
    with app.app_context():
        invoice, credit, plain = (
            make_document("i.txt", "parcel for Smith", category="invoice"),
            make_document("c.txt", "parcel for Jones", category="credit note"),
            make_document("p.txt", "parcel for Brown"),
        )
        indexer.drain()
        assert found("category:invoice") == [invoice]
        assert found('category:"credit note" parcel') == [credit]
        assert found("category:credit-note") == [credit]
        assert found("category:Credit_Note") == [credit]
        result = search("parcel", filters={"category": "Credit Note"})
        assert [hit.document_id for hit in result.hits] == [credit]
        assert result.total == 1
        # Facets count the query without the category filter, so the other choices stay visible.
        assert dict(result.facets) == {"invoice": 1, "credit note": 1}
        assert result.hits[0].category == "credit note"
        assert {plain, invoice, credit} == set(found("parcel"))


def test_filters_state_review_uploader_kind_and_dates(app, make_user):
    with app.app_context():
        alice, bob = make_user("staff", email="alice@example.com"), make_user("staff", email="bob@example.com")
        early = make_document(
            "e.txt",
            "walnut shipment",
            uploaded_at=datetime(2024, 1, 10, 9, tzinfo=UTC),
            uploaded_by=alice.id,
            review_state="needs_review",
        )
        late = make_document(
            "l.pdf",
            "walnut shipment",
            uploaded_at=datetime(2024, 3, 31, 23, tzinfo=UTC),
            uploaded_by=bob.id,
            review_state="reviewed",
            kind="pdf",
        )
        indexer.drain()

        def ids(**filters):
            return {hit.document_id for hit in search("walnut", filters=filters).hits}

        assert ids(uploader=alice.id) == {early}
        assert ids(uploader="BOB@example.com") == {late}
        assert ids(uploader=str(bob.id)) == {late}
        assert ids(review="needs_review") == {early}
        assert ids(kind="pdf") == {late}
        assert ids(state="processed") == {early, late}
        assert ids(since=date(2024, 3, 31)) == {late}
        assert ids(until=date(2024, 3, 30)) == {early}
        assert ids(since=date(2024, 1, 10), until=date(2024, 3, 31)) == {early, late}
        assert ids(since=date(2024, 4, 1)) == set()
        assert search("", filters=SearchFilters(uploader=alice.id)).total == 1  # filters alone list documents


def test_sorting_and_pages(app):
    with app.app_context():
        ids = [
            make_document(f"n{n}.txt", "hazelnut " * (n + 1), uploaded_at=datetime(2024, 1, n + 1, tzinfo=UTC))
            for n in range(7)
        ]
        indexer.drain()
        newest = search("hazelnut", sort="newest", per_page=3)
        assert [hit.document_id for hit in newest.hits] == ids[::-1][:3]
        assert (newest.total, newest.pages, newest.has_next, newest.has_previous) == (7, 3, True, False)
        assert newest.hits[0].score is None
        last = search("hazelnut", sort="newest", per_page=3, page=3)
        assert [hit.document_id for hit in last.hits] == [ids[0]]
        assert not last.has_next
        oldest = search("hazelnut", sort="oldest", per_page=3, page=2)
        assert [hit.document_id for hit in oldest.hits] == ids[3:6]
        pages = [search("hazelnut", per_page=2, page=n) for n in (1, 2, 3, 4)]
        seen = [hit.document_id for result in pages for hit in result.hits]
        assert sorted(seen) == sorted(ids)
        assert len(set(seen)) == 7
        scores = [hit.score for hit in pages[0].hits + pages[1].hits]
        assert scores == sorted(scores, reverse=True)
        assert search("hazelnut", sort="sideways").sort == "relevance"


def test_did_you_mean(app):
    with app.app_context():
        indexed(("a.txt", "Invoices for pistachio kernels"), ("b.txt", "pistachio shells"))
        result = search("pistacho invoices")
        assert result.total == 0
        assert result.correction == "pistachio invoices"
        assert search("pistachio").correction is None  # only when it differs
        assert search("category:pistacho").correction is None


# ---------------------------------------------------------------- malformed queries

MALFORMED = [
    '"unclosed',
    'credit "note',
    "AND AND",
    "OR",
    "NOT",
    "(((",
    ")))",
    "(almond",
    "almond)",
    "category:",
    'category:"',
    ":",
    "*",
    "?",
    "**",
    "a*",
    "*almond",
    "-",
    "--",
    "-almond",
    "NOT almond",
    "almond AND",
    "OR almond",
    "almond^",
    "almond^^2",
    "[a TO z]",
    "{",
    "\\",
    "'",
    "almond\x00kernels",
    "\x00",
    "😀",
    "almond 😀",
    "\u202e",
    "almond " * 300,
    "(" * 500,
    '"' * 51,
    "x" * 5000,
    "filename:",
    "uploaded:yesterday",
    "id:1",
    "almond~",
    "%_%",
    "<script>alert(1)</script>",
    "'; DROP TABLE documents; --",
    "the of and",
    "almond (-kernels)",
    "\ud800",
    "category:[a TO z] almond",
]


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_queries_never_raise(app, query):
    with app.app_context():
        indexed(("a.txt", "almond kernels, blanched"))
        result = search(query)
        assert result.message or result.hits or result.total == 0
        assert isinstance(result.total, int)


def test_malformed_queries_explain_and_still_search_the_words(app):
    with app.app_context():
        (almond,) = indexed(("a.txt", "almond kernels, blanched"))
        result = search("(((almond")
        assert [hit.document_id for hit in result.hits] == [almond]
        assert "brackets" in result.message
        result = search('"almond kernels')
        assert result.hits
        assert "quote" in result.message
        assert "Type a word" in search("AND AND").message
        assert "leave words out" in search("-almond").message
        assert "two letters" in search("*").message
        assert search("*").total == 0
        assert "two letters" in search("a*").message
        long = search("almond " + "x" * 600)
        assert "500 characters" in long.message
        assert search("almond\x00").hits


# ---------------------------------------------------------------- snippets

TAG = re.compile(r"<[^>]*>")


def test_snippets_mark_the_words_and_escape_everything_else(app):
    with app.app_context():
        indexed(
            (
                '<img src=x onerror="alert(1)">.txt',
                "Before <script>alert('x')</script> the saffron & <b>bold</b> threads after",
            )
        )
        result = search("saffron")
        hit = result.hits[0]
        assert isinstance(hit.snippet, Markup)
        assert set(TAG.findall(str(hit.snippet))) == {"<mark>", "</mark>"}
        assert "<mark>saffron</mark>" in hit.snippet
        assert "&lt;script&gt;" in hit.snippet
        assert "&amp;" in hit.snippet
        assert hit.filename == '<img src=x onerror="alert(1)">.txt'  # plain text: the template escapes it
        assert not isinstance(hit.filename, Markup)
        for query in ("script", "img", "onerror", "alert", "bold"):
            for other in search(query).hits:
                assert set(TAG.findall(str(other.snippet))) <= {"<mark>", "</mark>"}


def test_a_file_name_only_match_shows_the_start_of_the_text(app):
    with app.app_context():
        indexed(("tamarind.txt", "<i>Paste</i> " + "word " * 200))
        snippet = str(search("tamarind").hits[0].snippet)
        assert snippet.startswith("&lt;i&gt;Paste&lt;/i&gt; word")
        assert snippet.endswith("…")
        assert len(snippet) < 300


def test_snippet_of_a_stemmed_and_accented_match(app):
    with app.app_context():
        indexed(("a.txt", FILLER * 5 + "Two Cafés ordered more crates. " + FILLER * 5))
        snippet = str(search("cafe").hits[0].snippet)
        assert "<mark>Cafés</mark>" in snippet
        assert len(snippet) < 600


def test_a_long_document_shows_each_searched_word_where_it_occurs(app):
    """Passages come from around the words, wherever they are, for each word searched."""
    with app.app_context():
        body = FILLER * 300 + "The kumquat crates arrived. " + FILLER * 200 + "Invoice for quinces. " + FILLER * 50
        assert len(body) > 40_000
        indexed(("long.txt", body))
        snippet = str(search("kumquat quinces").hits[0].snippet)
        assert "<mark>kumquat</mark>" in snippet
        assert "<mark>quinces</mark>" in snippet
        assert snippet.startswith("… ")  # an excerpt, and it says so
        assert snippet.endswith(" …")
        assert snippet.count("…") == 3  # two passages, not the filler between them
        assert len(snippet) < 800


def test_a_word_found_in_two_places_shows_both(app):
    with app.app_context():
        indexed(("d.txt", FILLER * 20 + "Twelve kumquat jars. " + FILLER * 20 + "Kumquat invoice paid. " + FILLER * 5))
        snippet = str(search("kumquat").hits[0].snippet)
        assert snippet.count("<mark>") == 2
        assert "jars" in snippet
        assert "invoice paid" in snippet


def test_stemmed_words_that_are_not_prefixes_of_their_stem_are_still_marked(app):
    with app.app_context():
        indexed(("b.txt", FILLER * 5 + "Two deliveries for the companies were counted. " + FILLER * 5))
        snippet = str(search("delivery company").hits[0].snippet)  # stems "deliveri" and "compani"
        assert "<mark>deliveries</mark>" in snippet
        assert "<mark>companies</mark>" in snippet


def test_short_stems_that_are_not_prefixes_are_marked(app):
    with app.app_context():
        indexed(("c.txt", FILLER * 5 + "Two days late, said Zoë. " + FILLER * 5))
        snippet = str(search("day zoe").hits[0].snippet)  # stems "dai" and "zoe"
        assert "<mark>days</mark>" in snippet
        assert "<mark>Zoë</mark>" in snippet


# ---------------------------------------------------------------- deleted documents


def test_a_deleted_document_vanishes_at_once_and_after_the_drain(app):
    with app.app_context():
        kept, deleted = indexed(("kept.txt", "chestnut flour"), ("deleted.txt", "chestnut flour"))
        delete_document(deleted)  # its 'delete' waits in the outbox: the index still has it
        result = search("chestnut")
        assert [hit.document_id for hit in result.hits] == [kept]
        assert result.total == 1
        assert search("chestnut", sort="newest").total == 1
        indexer.drain()
        assert found("chestnut") == [kept]


def test_a_deleted_document_without_an_outbox_row_is_still_left_out(app):
    with app.app_context():
        kept, deleted = indexed(("kept.txt", "pecan halves"), ("deleted.txt", "pecan halves"))
        db.session.get(Document, deleted).deleted_at = datetime.now(UTC)  # a writer that forgot the outbox
        db.session.commit()
        result = search("pecan")
        assert [hit.document_id for hit in result.hits] == [kept]
        assert result.total == 1


def test_more_like_this(app):
    with app.app_context():
        base, close, far, gone = indexed(
            ("a.txt", "cashew nuts roasted salted cashew cartons pallet"),
            ("b.txt", "roasted salted cashew nuts in cartons"),
            ("c.txt", "printer toner and paper"),
            ("d.txt", "cashew nuts roasted salted cartons"),
        )
        delete_document(gone)
        similar = [hit.document_id for hit in more_like_this(base)]
        assert similar[0] == close
        assert base not in similar
        assert gone not in similar
        assert far not in similar
        assert more_like_this(gone) == []


def test_changes_show_up_after_the_drain(app):
    with app.app_context():
        (document_id,) = indexed(("a.txt", "macadamia"))
        document = db.session.get(Document, document_id)
        document.text = "brazil nuts"
        note_change(document_id)
        db.session.commit()
        assert found("macadamia") == [document_id]  # until the drain the index has the old words
        indexer.drain()
        assert found("macadamia") == []
        assert found("brazil") == [document_id]
        assert search("brazil").total == 1
        assert search("brazil", sort="newest").total == 1


def test_search_before_any_index_exists(app):
    with app.app_context():
        result = search_service.search("anything")
        assert result.total == 0
        if on_postgres(app):
            # A difference (README): PostgreSQL's rows live in the database, so there is no index to prepare.
            assert result.message is None
        else:
            assert "being prepared" in result.message
        assert more_like_this(1) == []


def test_a_long_page_for_a_download_gets_snippets_only_where_they_are_shown(app):
    with app.app_context():
        for n in range(130):
            make_document(f"fig-{n}.txt", f"fig jam jar{n}")
        indexer.drain()
        result = search("fig", per_page=10_000)
        assert result.total == 130
        assert len(result.hits) == 130
        assert result.pages == 1
        assert sum(1 for hit in result.hits if str(hit.snippet)) == search_service.SNIPPET_HITS
        assert all(str(hit.snippet) == "" for hit in search("fig", per_page=10_000, snippets=False).hits)
        assert search("fig", filters={"category": "no such category"}).total == 0
