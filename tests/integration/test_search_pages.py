"""The search page over real uploads: as-you-type fragments, highlights, facets, filters, CSV, bad queries."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from app.classify import categories
from app.classify import service as classify
from app.classify.models import Category
from app.documents.models import Document
from app.extensions import db
from tests.support.factories import upload


@pytest.fixture
def app(search_app):
    """Every test here runs on Whoosh (SQLite, PostgreSQL) and on PostgreSQL full-text search."""
    return search_app


LETTERS = {
    "jasmine-invoice.txt": "Invoice 4711 for twelve boxes of jasmine tea, total due 240.00 EUR.",
    "oolong-delivery.txt": "Delivery note: three pallets of oolong tea delivered to the warehouse.",
    "cups-letter.txt": "Dear Ms Weber, the stoneware cups you ordered will arrive next week.",
}


def _ids(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(Document.filename, Document.id)).all())


def _file_under(app, name: str, category: str) -> None:
    with app.app_context():
        document = db.session.scalar(select(Document).where(Document.filename == name))
        chosen = db.session.scalar(select(Category).where(Category.name == category))
        classify.review_document(document.id, chosen.id, user_id=None)


def _hits(html: str) -> list[str]:
    """The file names of the hits, in order (each shown beside its title, which here is the name without .txt)."""
    hit = r'<li class="hit" data-document="\d+">\s*<a href="[^"]+"><strong>[^<]+</strong></a> '
    return re.findall(hit + r'<small class="hit-filename">([^<]+)</small>', html)


def test_typing_finds_documents_by_their_words_with_highlights(app, client, auth):
    auth.login_as("staff")
    for name, text in LETTERS.items():
        upload(client, name, text, expect=201)

    response = client.get("/search?q=jasmine", htmx=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="search-results"')  # the results only, for htmx
    assert _hits(html) == ["jasmine-invoice.txt"]
    assert "<mark>jasmine</mark>" in html.lower()
    assert re.search(r'data-testid="result-count">1<', html)
    # Word endings do not matter: "delivering" finds "delivered"; the whole page works without htmx.
    page = client.get("/search?q=delivering").get_data(as_text=True)
    assert "<h1>Search</h1>" in page
    assert _hits(page) == ["oolong-delivery.txt"]
    assert sorted(_hits(client.get("/search?q=tea").get_data(as_text=True))) == [
        "jasmine-invoice.txt",
        "oolong-delivery.txt",
    ]


def test_facets_count_per_category_and_filter_when_clicked(app, client, auth):
    with app.app_context():
        categories.ensure_default_categories()
    auth.login_as("staff")
    for name, text in LETTERS.items():
        upload(client, name, text, expect=201)
    _file_under(app, "jasmine-invoice.txt", "invoice")
    _file_under(app, "oolong-delivery.txt", "delivery note")

    html = client.get("/search?q=tea", htmx=True).get_data(as_text=True)

    assert sorted(_hits(html)) == ["jasmine-invoice.txt", "oolong-delivery.txt"]
    facets = dict(re.findall(r'data-facet="([^"]+)"[^>]*>[^<]* (\d+)</a>', html))
    assert facets == {"invoice": "1", "delivery note": "1"}
    filtered = client.get("/search?q=tea&category=delivery+note", htmx=True).get_data(as_text=True)
    assert _hits(filtered) == ["oolong-delivery.txt"]
    assert _hits(client.get("/search?q=category:invoice").get_data(as_text=True)) == ["jasmine-invoice.txt"]


def test_results_download_as_csv(app, client, auth):
    auth.login_as("staff")
    for name, text in LETTERS.items():
        upload(client, name, text, expect=201)

    response = client.get("/search.csv?q=tea")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(row["filename"] for row in rows) == ["jasmine-invoice.txt", "oolong-delivery.txt"]
    ids = _ids(app)
    assert {int(row["document_id"]) for row in rows} == {ids["jasmine-invoice.txt"], ids["oolong-delivery.txt"]}
    assert all(row["url"].endswith(f"/documents/{row['document_id']}") for row in rows)


def test_a_malformed_query_gets_a_message_and_results_not_an_error(app, client, auth):
    auth.login_as("staff")
    upload(client, "jasmine-invoice.txt", LETTERS["jasmine-invoice.txt"], expect=201)
    for query in ['"jasmine', "AND AND", "(((", "jasmine)", "category:", "*", "?"]:
        response = client.get("/search", query_string={"q": query}, htmx=True)
        assert response.status_code == 200, query
    html = client.get("/search", query_string={"q": '"jasmine'}, htmx=True).get_data(as_text=True)
    assert 'data-testid="search-message"' in html
    assert _hits(html) == ["jasmine-invoice.txt"]
    too_long = client.get("/search", query_string={"q": "tea " * 200})
    assert too_long.status_code == 400
    assert "under 500 characters" in too_long.get_data(as_text=True)
    bad_date = client.get("/search?q=tea&since=soon")
    assert bad_date.status_code == 400


def test_markup_in_names_and_text_shows_as_text(app, client, auth):
    auth.login_as("staff")
    upload(
        client, "<img src=x onerror=alert(1)>.txt", "Price list <script>alert('tea')</script> for jasmine", expect=201
    )

    html = client.get("/search?q=jasmine").get_data(as_text=True)

    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_a_deleted_document_is_never_found(app, client, auth):
    auth.login_as("staff")
    for name, text in LETTERS.items():
        upload(client, name, text, expect=201)
    ids = _ids(app)

    client.post(f"/documents/{ids['jasmine-invoice.txt']}/delete")

    assert _hits(client.get("/search?q=jasmine").get_data(as_text=True)) == []
    assert _hits(client.get("/search?q=tea").get_data(as_text=True)) == ["oolong-delivery.txt"]


def test_a_document_page_shows_more_like_this(app, client, auth):
    auth.login_as("staff")
    upload(client, "tea-one.txt", "Jasmine tea and oolong tea from the Fujian estate, twelve boxes of tea.", expect=201)
    upload(client, "tea-two.txt", "Oolong tea and jasmine tea, Fujian estate, delivered in boxes.", expect=201)
    upload(client, "cups.txt", "Stoneware cups, saucers and plates for the cafe.", expect=201)
    ids = _ids(app)

    page = client.get(f"/documents/{ids['tea-one.txt']}").get_data(as_text=True)

    similar = page.split('data-testid="more-like-this"', 1)[1].split("</section>", 1)[0]
    assert "tea-two.txt" in similar
    assert "tea-one.txt" not in similar


def test_search_needs_a_session(app, client):
    response = client.get("/search?q=tea")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_misspelt_search_shows_the_corrected_results_at_once_with_a_way_back(app, client, auth):
    auth.login_as("staff")
    for name, text in LETTERS.items():
        upload(client, name, text, expect=201)

    html = client.get("/search?q=warehuose", htmx=True).get_data(as_text=True)

    assert _hits(html) == ["oolong-delivery.txt"]  # the results for the likely word, without another click
    assert 'data-testid="showing-instead"' in html
    assert "<strong>warehouse</strong>" in html
    back = re.search(r'href="([^"]+)" data-testid="search-as-typed"', html).group(1).replace("&amp;", "&")
    assert "exact=1" in back
    as_typed = client.get(back, htmx=True).get_data(as_text=True)
    assert _hits(as_typed) == []  # the words as typed, as asked
    assert 'data-testid="did-you-mean"' in as_typed  # with the suggestion still offered
    assert 'data-testid="showing-instead"' not in as_typed
