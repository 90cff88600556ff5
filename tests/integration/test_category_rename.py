"""An admin renames a category: every page, filter and search shows the new name, and the models go on filing
under it (they answer with the category's key, the name it was created with)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.classify import categories, registry
from app.classify.models import Category
from app.documents.models import Document, ReviewState
from app.extensions import db
from app.ops.models import AuditEvent
from app.search import indexer
from app.search import service as search_service
from app.search.outbox import note_change
from tests.support.factories import make_document


@pytest.fixture
def seeded(app):
    with app.app_context():
        categories.ensure_default_categories()
        return db.session.scalar(select(Category.id).where(Category.name == "invoice"))


def _rename(client, category_id: int, name: str, **fields):
    """Post the edit form as the browser does: the other fields as they stand unless `fields` change them."""
    page = client.get(f"/admin/categories/{category_id}/edit").get_data(as_text=True)
    inputs = [tag for tag in re.findall(r"<input [^>]*>", page) if re.search(r'name="(description|colour)"', tag)]
    shown = {re.search(r'name="(\w+)"', tag)[1]: html.unescape(re.search(r'value="([^"]*)"', tag)[1]) for tag in inputs}
    assert set(shown) == {"description", "colour"}
    data = {"name": name, **shown, **fields}
    return client.post(f"/admin/categories/{category_id}/edit", data=data)


def _filed_and_waiting(app, invoice_id: int) -> tuple[int, int]:
    """One document filed under invoice (and indexed), one waiting with the model's suggestion "invoice"."""
    with app.app_context():
        filed = make_document(text="Invoice for forty sacks of flour", category_id=invoice_id, review_state="reviewed")
        waiting = make_document(
            text="Amount due for the oats",
            filename="oats.txt",
            review_state=ReviewState.NEEDS_REVIEW,
            category_id=invoice_id,
            predictions=[["invoice", 0.55], ["receipt", 0.3], ["other", 0.15]],
            confidence=0.55,
        )
        note_change(filed.id)
        db.session.commit()
        indexer.drain()
        return filed.id, waiting.id


def test_a_renamed_category_shows_its_new_name_everywhere_and_is_searched_by_it(app, client, auth, seeded):
    filed, waiting = _filed_and_waiting(app, seeded)
    auth.login_as("admin")

    saved = _rename(client, seeded, "Supplier bill")

    assert saved.status_code == 303
    assert "Category supplier bill saved (was invoice)." in client.get("/admin/categories").get_data(as_text=True)
    with app.app_context():
        category = db.session.get(Category, seeded)
        assert (category.name, category.key) == ("supplier bill", "invoice")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "category.update"))
        assert event.summary == "Renamed category invoice to supplier bill"
        assert (event.before, event.after) == ({"name": "invoice"}, {"name": "supplier bill"})
        indexer.drain()  # the worker applies the outbox the rename wrote
        # Both are found under the new name (the waiting one by the model's choice), none under the old one.
        found = search_service.search('category:"supplier bill"').hits
        assert sorted(h.document_id for h in found) == [filed, waiting]
        assert search_service.search("category:invoice").hits == []
    # The review page names the model's suggestion by the new name, and accepting it files there.
    review = client.get(f"/review?at={waiting}").get_data(as_text=True)
    assert re.search(r"supplier bill</span> <strong>55%", review)
    assert "Accept “supplier bill”" in review
    assert client.post(f"/review/{waiting}", data={}).status_code == 303
    with app.app_context():
        document = db.session.get(Document, waiting)
        assert (document.category_id, document.review_state) == (seeded, "reviewed")
    shown = client.get(f"/documents/{waiting}").get_data(as_text=True)
    assert "the model said supplier bill" in shown
    assert "supplier bill 55%" in shown


def test_the_models_answer_still_reaches_the_renamed_category(app, seeded):
    with app.app_context():
        categories.update_category(seeded, name="supplier bill", description=None, colour="#2563eb", user_id=None)
        # A new category may take the old name; the models' "invoice" still means the renamed one.
        newcomer = categories.create_category("Invoice", user_id=None)
        assert newcomer.key == "invoice 2"
        assert registry.snapshot().categories["invoice"] == seeded
        assert registry.snapshot().categories["invoice 2"] == newcomer.id
        # Seeding again does not bring back a renamed default under its old name.
        assert categories.ensure_default_categories() == 0
        assert categories.find("supplier bill").id == seeded


def test_a_name_another_category_has_is_refused_and_nothing_changes(app, client, auth, seeded):
    auth.login_as("admin")
    with app.app_context():
        receipt = db.session.scalar(select(Category.id).where(Category.name == "receipt"))

    refused = _rename(client, seeded, "  RECEIPT ", description="Changed too")

    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "A category &#39;receipt&#39; already exists." in page
    assert "invoice</h1>" in page  # the page still names the category as it is
    blank = _rename(client, seeded, "   ")
    assert blank.status_code == 400
    assert "A category needs a name." in blank.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Category, seeded).name == "invoice"
        assert db.session.get(Category, seeded).description != "Changed too"
        assert db.session.get(Category, receipt).name == "receipt"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "category.update")) is None


def test_the_command_line_renames_and_lists_what_the_models_call_it(app, runner, seeded):
    renamed = runner.invoke(args=["categories", "rename", "invoice", "Supplier bill"])
    assert renamed.exit_code == 0, renamed.output
    assert "Category invoice is now called supplier bill." in renamed.output
    assert "(the models know it as invoice)" in runner.invoke(args=["categories", "list"]).output
    taken = runner.invoke(args=["categories", "rename", "supplier bill", "receipt"])
    assert taken.exit_code == 1
    assert "A category 'receipt' already exists." in taken.output
    unknown = runner.invoke(args=["categories", "rename", "nothing like it", "x"])
    assert unknown.exit_code == 1
    assert "There is no category 'nothing like it'." in unknown.output
