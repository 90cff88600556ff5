"""How well search ranks the right document, measured on real text with known right answers.

The documents are the Python standard library's docstrings (see tests/support/relevance.py);
the questions are words that occur, exactly as written, in one document only. Each set reports
recall@3 (the answer among the first three hits) and MRR (1/rank of the answer in the first ten),
and must not fall below the floor recorded here: the figure measured when the ranking last
changed, less a small margin. Raise the floor when a change improves it; a change that lowers
it has made search worse for people who remember a rare word.

The figures are printed (pytest -s, or -n 0 so the output is not a worker's): before exact
forms were indexed, and after, they are in docs/PERFORMANCE.md ("Relevance").
"""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.search import indexer
from app.search.service import search
from tests.support import factories
from tests.support.relevance import Score, questions, score, stdlib_documents

# Measured with exact forms weighed above stems (docs/PERFORMANCE.md), less a margin of 0.02.
# Before (stems only): unique words 0.960 / 0.903, shared stems 0.610 / 0.472 (recall@3 / MRR).
FLOORS = {
    "unique words": {"recall_at_3": 0.97, "mrr": 0.97},  # measured 0.990 / 0.990
    "shared stems": {"recall_at_3": 0.97, "mrr": 0.93},  # measured 0.990 / 0.958
}
# PostgreSQL full-text search (QM_SEARCH_BACKEND=postgres), the same questions, less the same margin.
POSTGRES_FLOORS = {
    "unique words": {"recall_at_3": 0.97, "mrr": 0.97},  # measured 0.990 / 0.990
    "shared stems": {"recall_at_3": 0.98, "mrr": 0.98},  # measured 1.000 / 1.000
}


# Ranking is the backend's; one database per backend is enough.
@pytest.mark.parametrize("search_app", ["sqlite", "postgres-search"], indirect=True)
def test_a_word_found_in_one_document_ranks_that_document_near_the_top(search_app, capsys, record_property):
    app = search_app
    floors = POSTGRES_FLOORS if app.config["SEARCH_BACKEND"] == "postgres" else FLOORS
    with app.app_context():
        documents = stdlib_documents()
        for filename, text in documents:
            factories.make_document(filename=filename, text=text, size=len(text.encode()))
        db.session.commit()
        started = time.monotonic()
        indexer.reindex()
        indexed = time.monotonic() - started

        def ranked(word: str) -> list[str]:
            return [hit.filename for hit in search(word, per_page=10).hits]

        started = time.monotonic()
        scores: dict[str, Score] = {name: score(asked, ranked) for name, asked in questions(documents).items()}
        searched = time.monotonic() - started

    report = [
        f"{app.config['SEARCH_BACKEND']}: relevance over {len(documents)} documents"
        f" (indexed in {indexed:.1f} s, searched in {searched:.1f} s)"
    ]
    for name, measured in scores.items():
        report.append(
            f"  {name}: {measured.asked} questions, recall@3 {measured.recall_at_3:.3f}, MRR {measured.mrr:.3f};"
            f" not in the first three: {', '.join(measured.misses[:12]) or 'none'}"
        )
        record_property(f"{name} recall@3", measured.recall_at_3)
        record_property(f"{name} MRR", measured.mrr)
    with capsys.disabled():
        print("\n" + "\n".join(report))

    assert len(documents) >= 150, "the standard library should give well over 150 documents"
    for name, measured in scores.items():
        assert measured.asked == 100, f"{name}: only {measured.asked} questions could be made"
        assert measured.recall_at_3 >= floors[name]["recall_at_3"], "\n".join(report)
        assert measured.mrr >= floors[name]["mrr"], "\n".join(report)
