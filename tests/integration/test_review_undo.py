"""Undo on the review page: a reviewer takes back their own newest decisions one by one, on the server."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.classify import categories
from app.classify.models import Category, Review
from app.documents.models import Document
from app.extensions import db
from app.ops.models import AuditEvent
from tests.conftest import Client
from tests.integration.test_review_queue import _item, _waiting


@pytest.fixture
def seeded(app):
    with app.app_context():
        categories.ensure_default_categories()


def _state(app, document_id: int) -> tuple[str | None, str | None, str | None]:
    with app.app_context():
        document = db.session.get(Document, document_id)
        name = document.category.name if document.category else None
        return document.review_state, name, document.review_reason


def _other_client(app, make_user, role: str = "staff") -> tuple[Client, object]:
    user = make_user(role)
    other = app.test_client()
    assert other.post("/login", data={"email": user.email, "password": "a-long-test-password"}).status_code == 303
    return other, user


def test_twelve_decisions_are_undone_one_by_one_newest_first(app, client, auth, seeded):
    ids = [_waiting(app, f"doc{i:02}.txt", 0.1 + i * 0.01) for i in range(12)]
    before = {document_id: _state(app, document_id) for document_id in ids}
    user = auth.login_as("staff")
    with app.app_context():
        receipt = db.session.scalar(select(Category.id).where(Category.name == "receipt"))
    for number, document_id in enumerate(ids):
        # Half accepted, half filed elsewhere: undo must put back what was there, whichever it was.
        data = {} if number % 2 else {"category_id": receipt}
        assert client.post(f"/review/{document_id}", data=data, htmx=True).status_code == 200

    # The page offers to undo the newest decision, after a reload too: the history is on the server.
    page = client.get("/review").get_data(as_text=True)
    assert 'data-testid="undo"' in page
    assert "Undo filing doc11.txt under invoice" in page

    for document_id in reversed(ids):
        response = client.post("/review/undo", data={}, htmx=True)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        filename = f"doc{ids.index(document_id):02}.txt"
        assert f"Undone: {filename} is no longer filed under" in html
        assert _item(html) == str(document_id)  # the document comes back as the current item
        assert _state(app, document_id) == before[document_id]

    with app.app_context():
        # Removed, not kept: training and the acceptance rate read every review row as a decision.
        assert db.session.scalar(select(func.count(Review.id))) == 0
        undone = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "document.review_undone")).all()
        assert len(undone) == 12
        assert {event.actor_id for event in undone} == {user.id}
        assert undone[0].before["review_state"] == "reviewed"
        assert undone[0].after["review_state"] == "needs_review"
    # Nothing left: a sentence, a 400, and nothing written.
    response = client.post("/review/undo", data={}, htmx=True)
    assert response.status_code == 400
    assert "There is no decision of yours left to undo." in response.get_data(as_text=True)
    assert 'data-testid="undo"' not in client.get("/review").get_data(as_text=True)


def test_undo_is_per_reviewer_and_leaves_a_colleagues_later_decision_alone(app, client, auth, make_user, seeded):
    mine = _waiting(app, "mine.txt", 0.2)
    shared = _waiting(app, "shared.txt", 0.3)
    auth.login_as("staff")
    colleague, _ = _other_client(app, make_user)
    with app.app_context():
        receipt = db.session.scalar(select(Category.id).where(Category.name == "receipt"))

    client.post(f"/review/{mine}", data={}, htmx=True)
    client.post(f"/review/{shared}", data={}, htmx=True)
    # The colleague re-files the shared one from its page: their decision now stands.
    assert colleague.post(f"/review/{shared}", data={"category_id": receipt, "back": "document"}).status_code == 303

    # The colleague has their own history: one decision, theirs.
    assert "Undo filing shared.txt under receipt" in colleague.get("/review").get_data(as_text=True)
    # Mine skips the document someone decided on since: the newest of mine that still stands is mine.txt.
    page = client.get("/review").get_data(as_text=True)
    assert "Undo filing mine.txt under invoice" in page
    client.post("/review/undo", data={}, htmx=True)
    assert _state(app, mine)[0] == "needs_review"
    assert _state(app, shared)[:2] == ("reviewed", "receipt")


def test_without_javascript_undo_redirects_to_the_document_waiting_again(app, client, auth, seeded):
    document_id = _waiting(app, "one.txt", 0.3)
    auth.login_as("staff")
    client.post(f"/review/{document_id}", data={})

    response = client.post("/review/undo", data={})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/review?at={document_id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Undone: one.txt is no longer filed under invoice; it waits for review again." in page
    assert re.search(r'data-testid="waiting-count">1<', page)


def test_a_viewer_cannot_undo(app, client, auth, seeded):
    auth.login_as("viewer")
    assert client.post("/review/undo", data={}).status_code == 403
    assert 'data-testid="undo"' not in client.get("/review").get_data(as_text=True)
