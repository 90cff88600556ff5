"""The search page says nothing about results before anything is asked, and keeps the filters in force in sight,
each with a link that removes it and one that clears them all (the words stay)."""

import re
from urllib.parse import parse_qs, urlsplit

from tests.support.factories import upload


def _query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href.replace("&amp;", "&")).query)


def test_an_empty_search_page_shows_no_count(client, auth):
    auth.login_as("viewer")
    html = client.get("/search").get_data(as_text=True)
    assert 'data-testid="search-hint"' in html
    assert "documents found" not in html
    assert 'data-testid="active-filters"' not in html
    # Once words are typed, "0 documents found" is the answer.
    html = client.get("/search?q=nothingmatchesthis", htmx=True).get_data(as_text=True)
    assert re.search(r'data-testid="result-count">0<', html)
    assert 'data-testid="search-hint"' not in html


def test_filters_in_force_are_shown_with_ways_to_clear_them(client, auth):
    auth.login_as("staff")
    upload(
        client,
        "oolong-delivery.txt",
        "Delivery note: three pallets of oolong tea delivered to the warehouse.",
        expect=201,
    )

    # A new query, typed with filters still set from before: the results fragment names each filter.
    response = client.get("/search?q=tea&state=failed&since=2020-01-02&sort=newest", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'data-testid="result-count">0<', html)
    assert 'data-testid="active-filters"' in html
    chips = dict(re.findall(r'<a href="([^"]+)" class="status filter-chip" data-filter="(\w+)"', html))
    chips = {name: href for href, name in chips.items()}
    assert set(chips) == {"state", "since"}
    assert "State: failed" in html
    assert "Uploaded from: 2020-01-02" in html
    # Removing one filter keeps the words, the order and the other filter.
    assert _query(chips["state"]) == {"q": ["tea"], "since": ["2020-01-02"], "sort": ["newest"]}
    # "Clear filters" keeps the words and the order only.
    clear = re.search(r'<a href="([^"]+)" data-testid="clear-filters">Clear filters</a>', html).group(1)
    assert _query(clear) == {"q": ["tea"], "sort": ["newest"]}
    cleared = client.get(clear.replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(r'data-testid="result-count">1<', cleared)
    assert 'data-testid="active-filters"' not in cleared


def test_a_bad_filter_can_be_cleared_too(client, auth):
    auth.login_as("viewer")
    response = client.get("/search?q=tea&since=not-a-date")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    clear = re.search(r'<a href="([^"]+)" data-testid="clear-filters">Clear filters</a>', html).group(1)
    assert _query(clear) == {"q": ["tea"]}
