"""Leases and skips: two reviewers never get the same document at once, and skip sends one to the end of a queue."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.classify import categories, leases
from app.classify.models import Review, ReviewLease, ReviewSkip
from app.db_types import utcnow
from app.documents.models import Document
from app.extensions import db
from tests.integration.test_review_queue import _item, _waiting
from tests.integration.test_review_undo import _other_client


@pytest.fixture
def seeded(app):
    with app.app_context():
        categories.ensure_default_categories()


def _listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-document="(\d+)"', html)]


def _lease(app, document_id: int) -> tuple[int, object] | None:
    with app.app_context():
        lease = db.session.get(ReviewLease, document_id)
        return (lease.user_id, lease.expires_at) if lease else None


def test_two_reviewers_get_different_documents_and_cannot_decide_each_others(app, client, auth, make_user, seeded):
    first = _waiting(app, "first.txt", 0.2)
    second = _waiting(app, "second.txt", 0.3)
    third = _waiting(app, "third.txt", 0.4)
    alice = auth.login_as("staff")
    bob_client, bob = _other_client(app, make_user)

    assert _item(client.get("/review").get_data(as_text=True)) == str(first)
    lease = _lease(app, first)
    assert lease[0] == alice.id
    assert timedelta(minutes=4) < lease[1] - utcnow() <= timedelta(minutes=5)

    bob_page = bob_client.get("/review").get_data(as_text=True)
    assert _item(bob_page) == str(second)  # the next one: Alice holds the first
    assert _listed(bob_page) == [second, third]
    assert "1 being reviewed by others" in bob_page
    assert _lease(app, second)[0] == bob.id

    # Bob opens Alice's document by its address: he may look, not decide.
    looked = bob_client.get(f"/review?at={first}").get_data(as_text=True)
    assert _item(looked) == str(first)
    assert "is reviewing this document until" in looked
    assert 'data-testid="accept"' not in looked
    refused = bob_client.post(f"/review/{first}", data={}, htmx=True)
    assert refused.status_code == 409
    assert f"{alice.email} is reviewing first.txt" in refused.get_data(as_text=True)
    # Bulk accept passes over it too, and says so.
    bulk = bob_client.post("/review/accept", data={"document_id": [first, third], "confirm": "yes"}, htmx=True)
    assert f"{alice.email} is reviewing first.txt." in bulk.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Document, first).review_state == "needs_review"
        assert db.session.scalar(select(func.count(Review.id)).where(Review.document_id == first)) == 0

    # Alice decides: her lease ends and she is handed the next document nobody holds.
    response = client.post(f"/review/{first}", data={}, htmx=True)
    assert response.status_code == 200
    assert _lease(app, first) is None
    with app.app_context():
        # Bob's bulk accept filed the third; Bob still holds the second: nothing is left for Alice.
        assert db.session.get(Document, third).review_state == "reviewed"
    assert 'data-testid="queue-empty"' in response.get_data(as_text=True)


def test_an_expired_lease_lets_the_next_reviewer_in(app, client, auth, make_user, seeded):
    first = _waiting(app, "first.txt", 0.2)
    _waiting(app, "second.txt", 0.3)
    auth.login_as("staff")
    bob_client, bob = _other_client(app, make_user)
    client.get("/review")
    with app.app_context():
        db.session.execute(update(ReviewLease).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    assert _item(bob_client.get("/review").get_data(as_text=True)) == str(first)
    assert _lease(app, first)[0] == bob.id


def test_moving_on_lets_go_of_the_previous_item(app, client, auth, make_user, seeded):
    first = _waiting(app, "first.txt", 0.2)
    second = _waiting(app, "second.txt", 0.3)
    auth.login_as("staff")
    bob_client, _ = _other_client(app, make_user)
    client.get("/review")
    assert _item(client.get(f"/review?at={first}&move=next", htmx=True).get_data(as_text=True)) == str(second)

    assert _lease(app, first) is None  # one current item per reviewer
    assert _item(bob_client.get("/review").get_data(as_text=True)) == str(first)


def test_skip_sends_the_document_to_the_end_of_this_reviewers_queue_only(app, client, auth, make_user, seeded):
    ids = [_waiting(app, f"d{i}.txt", 0.1 * (i + 1)) for i in range(3)]
    alice = auth.login_as("staff")
    client.get("/review")

    response = client.post(f"/review/{ids[0]}/skip", data={}, htmx=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Skipped d0.txt: it is at the end of your queue." in html
    assert _item(html) == str(ids[1])
    assert _listed(html) == [ids[1], ids[2], ids[0]]
    assert _lease(app, ids[0]) is None
    # Next (j) only moves: from the last unskipped one it reaches the skipped one, then wraps round.
    assert _item(client.get(f"/review?at={ids[2]}&move=next", htmx=True).get_data(as_text=True)) == str(ids[0])
    assert _item(client.get(f"/review?at={ids[0]}&move=next", htmx=True).get_data(as_text=True)) == str(ids[1])
    assert _item(client.get(f"/review?at={ids[1]}&move=previous", htmx=True).get_data(as_text=True)) == str(ids[0])
    # Skipped twice: the order of skipping decides.
    client.post(f"/review/{ids[1]}/skip", data={}, htmx=True)
    assert _listed(client.get("/review").get_data(as_text=True)) == [ids[2], ids[0], ids[1]]
    # Nobody else's order changes, and nothing was decided.
    viewer, _ = _other_client(app, make_user, "viewer")
    assert _listed(viewer.get("/review").get_data(as_text=True)) == ids
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 0
        assert db.session.scalar(select(func.count()).select_from(ReviewSkip)) == 2
        assert db.session.scalar(select(ReviewSkip.user_id).limit(1)) == alice.id
    # Deciding forgets the skips of the document.
    client.post(f"/review/{ids[0]}", data={}, htmx=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReviewSkip)) == 1


def test_without_javascript_skip_redirects_to_the_next_item(app, client, auth, seeded):
    first = _waiting(app, "first.txt", 0.2)
    second = _waiting(app, "second.txt", 0.3)
    auth.login_as("staff")

    response = client.post(f"/review/{first}/skip", data={})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/review?at={second}"
    assert client.post("/review/424242/skip", data={}).status_code == 404


def test_concurrent_requests_for_one_document_lease_it_once(app, make_user, seeded, request):
    """Eight reviewers ask for the same document at the same moment: exactly one holds it."""
    if "postgresql" not in request.node.callspec.id:
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    document_id = _waiting(app, "contested.txt", 0.2)
    users = [make_user("staff").id for _ in range(8)]
    barrier = threading.Barrier(len(users))
    results: dict[int, bool] = {}

    def take(user_id: int) -> None:
        with app.app_context():
            barrier.wait()
            results[user_id] = leases.take_lease(document_id, user_id)
            db.session.remove()

    threads = [threading.Thread(target=take, args=(user_id,)) for user_id in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [user_id for user_id, won in results.items() if won]
    assert len(results) == len(users)
    assert len(winners) == 1
    assert _lease(app, document_id)[0] == winners[0]
