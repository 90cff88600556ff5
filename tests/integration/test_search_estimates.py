"""Huge results are counted from a sample ("about 41,000 documents"); small ones stay exact."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.search import collect, indexer
from app.search import service as search_service
from tests.integration.test_search_index import category_id
from tests.support import factories

DOCUMENTS = 300


@pytest.fixture
def many(app, monkeypatch):
    """300 documents that all say "oolong", a third of them invoices; a sample is 40 matches' worth."""
    monkeypatch.setattr(collect, "ESTIMATE_FROM", 40)
    with app.app_context():
        kinds = {name: category_id(name) for name in ("invoice", "letter")}
        for n in range(DOCUMENTS):  # one transaction: the index is built from them afterwards
            ending = "tin oolong" if n % 60 == 0 else "crate"
            text = f"oolong order {n} packed in a {ending}"
            factories.make_document(
                text=text, filename=f"doc-{n}.txt", category_id=kinds["invoice" if n % 3 == 0 else "letter"]
            )
        db.session.commit()
        indexer.reindex()


def test_a_word_in_every_document_is_counted_from_a_sample_and_says_so(app, client, auth, many):
    with app.app_context():
        result = search_service.search("oolong")
        assert result.estimated
        assert result.total == pytest.approx(DOCUMENTS, rel=0.1)
        facets = dict(result.facets)
        assert facets["invoice"] == pytest.approx(DOCUMENTS / 3, rel=0.2)
        assert facets["letter"] == pytest.approx(DOCUMENTS * 2 / 3, rel=0.2)
        assert len(result.hits) == 20  # the page itself is exact: the best 20
        filtered = search_service.search("oolong", filters={"category": "invoice"})
        assert filtered.estimated
        assert filtered.total == pytest.approx(DOCUMENTS / 3, rel=0.2)
        assert {hit.category for hit in filtered.hits} == {"invoice"}

    auth.login_as("viewer")
    html = client.get("/search?q=oolong").get_data(as_text=True)
    assert "About <span" in html
    assert 'data-estimated="true">300<' in html
    assert "counted from a sample" in html


def test_small_results_and_date_order_stay_exact(app, many):
    with app.app_context():
        rare = search_service.search("order 7")  # two words: 'order' is everywhere, '7' in one document
        assert not rare.estimated
        phrase = search_service.search('"tin oolong"')  # both words are common, the phrase is not: a sample
        assert not phrase.estimated  # would scale up to too few to trust, so it is counted exactly
        assert phrase.total == DOCUMENTS // 60
        newest = search_service.search("oolong", sort="newest")
        assert not newest.estimated
        assert newest.total == DOCUMENTS
