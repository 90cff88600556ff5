"""DECISIONS claim: "Every search stops after 2 s (SEARCH_TIME_BUDGET) and says its results and counts are
incomplete" — with what it found, never an error page.

Running out of time is made deterministic by giving the collector a clock that jumps 1,000 s each
time it is read: the first look at the clock is past any deadline, however fast the machine. The
index, the database and the page are real. The wildcard part of the budget is proved in
test_input_bounds.py; this is the matching and counting part, for best-match and date order.
"""

from __future__ import annotations

import itertools
import time
from types import SimpleNamespace

import pytest

from app.search import collect as collect_module
from app.search import service as search_service
from app.search.service import search
from tests.integration.test_search_service import indexed

SLOW = "This search took too long to finish, so the results and counts are incomplete; add words to narrow it."
DOCUMENTS = 30


def test_the_budget_is_two_seconds():
    assert search_service.SEARCH_TIME_BUDGET == 2.0


@pytest.fixture
def pallets(app):
    with app.app_context():
        return indexed(
            *((f"pallet-note-{n}.txt", f"Pallet {n} of sencha received at dock {n % 4}") for n in range(DOCUMENTS))
        )


@pytest.fixture
def jumping_clock(monkeypatch):
    """From now on every reading of the collector's clock is 1,000 s after the one before."""
    jumps = itertools.count(1)
    clock = SimpleNamespace(monotonic=lambda: time.monotonic() + 1000 * next(jumps))
    monkeypatch.setattr(collect_module, "time", clock)


def test_a_search_within_the_budget_says_nothing_about_time(app, pallets):
    with app.app_context():
        result = search("pallet")
    assert result.message is None
    assert result.total == DOCUMENTS


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_a_search_out_of_time_shows_what_it_found_and_says_so(app, pallets, jumping_clock, sort):
    with app.app_context():
        result = search("pallet", sort=sort)
    assert result.message == SLOW
    assert result.hits, "what was found before the deadline is shown"
    assert {hit.document_id for hit in result.hits} <= set(pallets)
    assert 1 <= result.total <= DOCUMENTS


def test_the_search_page_out_of_time_renders_its_results_and_the_sentence(app, client, auth, pallets, jumping_clock):
    auth.login_as("viewer")
    for htmx in (False, True):  # the full page, and the fragment that search-as-you-type swaps in
        response = client.get("/search", query_string={"q": "pallet"}, htmx=htmx)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert SLOW in page
        assert "pallet-note-" in page
