"""`flask model memory`: what the memory of reviews holds; its rows are derived from the reviews, so never lost."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from app.classify import memory
from app.extensions import db
from tests.integration.test_classify_memory import NEW_KIND, _file, _ingest, customs, new_kind  # noqa: F401


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(memory.MemoryEntry))


def test_lost_memory_rows_come_back_from_the_reviews_and_the_command_rebuilds_them(app, new_kind):  # noqa: F811
    for n in (2, 3, 5):
        document = _ingest(app, customs(n), f"customs_{n:04d}.txt")
        _file(app, document.id, NEW_KIND)
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["model", "memory"])
    assert shown.exit_code == 0, shown.output
    assert "suggests from 3 reviewed documents" in shown.output

    with app.app_context():  # an operator emptied the table, or a restore left it behind the reviews
        db.session.execute(delete(memory.MemoryEntry))
        db.session.commit()
        memory.note_change()
    assert _rows(app) == 0
    # The next document still gets the suggestion: the worker sees reviews without rows and recomputes them.
    assert _ingest(app, customs(40), "customs_0040.txt").predictions[0][0] == NEW_KIND
    assert _rows(app) == 3

    rebuilt = runner.invoke(args=["model", "memory", "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Rebuilt from the reviews: 3 reviewed documents" in rebuilt.output
    assert "suggests from 3 reviewed documents" in rebuilt.output
    assert _ingest(app, customs(41), "customs_0041.txt").predictions[0][0] == NEW_KIND
