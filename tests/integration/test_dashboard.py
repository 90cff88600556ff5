"""The start page's counts: each links to its list, filtered to show as many; they poll; each role sees its own."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from app.classify.models import Category, Review
from app.db_types import utcnow
from app.documents.models import DocumentState, ReviewState
from app.extensions import db
from app.stock.alerts import open_alert_count
from app.stock.ledger import remove_stock
from app.stock.orders import create_order, place_order
from tests.support.factories import make_document, make_product

BACKGROUND = """hx-headers='{"X-QM-Background": "true"}'"""


def _card(page: str, key: str) -> tuple[str, str]:
    """The number and the link of the card `key` on the start page."""
    card = page.split(f'data-count="{key}"', 1)[1].split("</li>", 1)[0]
    href = re.search(r'<a href="([^"]+)">', card).group(1).replace("&amp;", "&")
    number = re.search(r'<strong class="dash-number">([^<]+)</strong>', card).group(1)
    return number, href


def _seed(app) -> None:
    """Two waiting for review, one processing, two queued, failed today and long ago, two low products
    (one low from the start, one that crossed its threshold), a draft and a placed order."""
    today = utcnow()
    with app.app_context():
        make_document(text="invoice", review_state=ReviewState.NEEDS_REVIEW.value)
        make_document(text="letter", review_state=ReviewState.NEEDS_REVIEW.value, confidence=0.4)
        make_document(text="filed", review_state=ReviewState.REVIEWED.value)
        make_document(state=DocumentState.PROCESSING.value)
        make_document()
        make_document()
        make_document(state=DocumentState.FAILED.value)
        make_document(state=DocumentState.FAILED.value, uploaded_at=today - timedelta(days=10))
        make_document(text="old", uploaded_at=today - timedelta(days=3))
        db.session.commit()
        make_product("QUIET-1", on_hand=2, threshold=5)  # low from the start
        crossed = make_product("LOUD-1", on_hand=10, threshold=5)
        remove_stock(crossed, 8, user_id=None)  # crosses the threshold: an open alert
        make_product("FINE-1", on_hand=50, threshold=5)
        plenty = make_product("MANY-1", on_hand=100)
        create_order(customer="Valley Mills", lines=[(plenty, 1)], user_id=None)
        placed = create_order(customer="Hill Farm", lines=[(plenty, 2)], user_id=None)
        place_order(placed.id, user_id=None)


def test_each_count_links_to_its_list_filtered_and_the_list_shows_as_many(app, client, auth):
    _seed(app)
    auth.login_as("viewer")
    page = client.get("/").get_data(as_text=True)
    with app.app_context():
        alerts = str(open_alert_count())  # whether a product low from the start has an alert is the alerts' rule
    assert alerts != "0"
    today = utcnow().date()
    week = (today - timedelta(days=6)).isoformat()
    expected = {
        "review": ("2", "/review"),
        "processing": ("1", "/documents?state=processing"),
        "failed": ("1", f"/documents?state=failed&since={week}"),
        "uploaded": ("7", f"/documents?since={today.isoformat()}"),
        "low": ("2", "/stock?low=y"),
        "alerts": (alerts, "/alerts?status=open"),
        "draft": ("1", "/orders?status=draft"),
        "placed": ("1", "/orders?status=placed"),
    }
    for key, (number, href) in expected.items():
        assert _card(page, key) == (number, href), key
    assert 'href="/documents?state=queued">and 2 queued</a>' in page

    # Each link opens its list filtered so that it shows exactly the number on the card.
    shows = {
        "review": '<strong data-testid="waiting-count">2</strong> waiting',
        "processing": "<p>1 document.",
        "failed": "<p>1 document.",
        "uploaded": "<p>7 documents.",
        "low": "<p>2 products.",
        "alerts": f'<strong data-testid="open-count">{alerts}</strong> open',
        "draft": "<p>1 order.",
        "placed": "<p>1 order.",
    }
    for key, text in shows.items():
        response = client.get(expected[key][1])
        assert response.status_code == 200, key
        assert text in response.get_data(as_text=True), key


def test_the_counts_are_a_fixed_number_of_queries_however_many_rows(app, client, auth):
    auth.login_as("admin")
    statements: list[str] = []

    def _counting(*args):
        statements.append(args[2])

    def poll() -> int:
        statements.clear()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", _counting)
        try:
            assert client.get("/", htmx=True, headers={"X-QM-Background": "true"}).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", _counting)
        return len(statements)

    empty = poll()
    _seed(app)
    with app.app_context():
        for _ in range(20):
            make_document(text="more", review_state=ReviewState.NEEDS_REVIEW.value)
            make_document(state=DocumentState.FAILED.value)
        db.session.commit()
        for n in range(10):
            make_product(f"LOW-{n}", on_hand=1, threshold=5)
    full = poll()
    assert full == empty  # no query per row (no N+1)
    counting = [s for s in statements if "count(" in s.lower() or "sum(" in s.lower()]
    assert len(counting) <= 9  # one per count: review, states, failed, today, low, alerts, orders, acceptance
    assert not any("documents.text" in s for s in statements)  # no document's text is read to count it


def test_the_counts_poll_their_own_block_every_30_seconds_as_background(app, client, auth):
    auth.login_as("staff")
    page = client.get("/").get_data(as_text=True)
    section = page.split('<section id="dashboard"', 1)[1].split(">", 1)[0]
    assert 'hx-get="/"' in section
    assert 'hx-trigger="every 30s"' in section
    assert 'hx-swap="outerHTML"' in section
    assert BACKGROUND in section
    fragment = client.get("/", htmx=True, headers={"X-QM-Background": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="dashboard"')
    assert "<html" not in fragment
    assert 'data-count="review"' in fragment
    assert 'data-testid="counted-at"' in fragment
    assert 'data-testid="start-alerts"' in fragment  # the low-stock sentence refreshes with the counts
    # The links are plain links (no hx-get on them): they work with JavaScript off.
    for card in fragment.split('class="dash-card')[1:]:
        assert "hx-" not in card.split("</li>", 1)[0]


def test_a_new_upload_shows_in_the_next_poll(app, client, auth):
    auth.login_as("staff")
    before = client.get("/", htmx=True).get_data(as_text=True)
    assert _card(before, "uploaded")[0] == "0"
    with app.app_context():
        make_document()
        db.session.commit()
    after = client.get("/", htmx=True).get_data(as_text=True)
    assert _card(after, "uploaded")[0] == "1"
    assert _card(after, "processing") == ("0", "/documents?state=processing")


ACTIONS = ("action-upload", "action-start-review", "action-new-order")
ADMIN_CARDS = ('data-count="acceptance"', 'data-count="workers"')


@pytest.mark.parametrize("role", ["viewer", "staff", "admin"])
def test_each_role_sees_the_counts_and_only_the_actions_it_may_take(app, client, auth, role):
    auth.login_as(role)
    page = client.get("/").get_data(as_text=True)
    for key in ("review", "processing", "failed", "uploaded", "low", "alerts", "draft", "placed"):
        assert f'data-count="{key}"' in page, key  # information: every role sees it
    for action in ACTIONS:
        assert (f'data-testid="{action}"' in page) == (role != "viewer"), action
    offers = ("Upload invoices", "Check the classifications", "add stock in increments", "Start reviewing")
    for offer in offers:  # the areas' descriptions too: a viewer is told what is there, not what to do
        assert (offer in page) == (role != "viewer"), offer
    if role == "viewer":
        assert 'href="/documents/upload"' not in page
        assert "Upload documents" not in page
        assert "Invoices, delivery notes, certificates and scans" in page
    for card in ADMIN_CARDS:
        assert (card in page) == (role == "admin"), card
    if role != "admin":
        assert 'href="/admin/system"' not in page
        assert 'href="/admin/models"' not in page


def test_the_admin_sees_the_models_acceptance_rate_and_the_workers(app, client, auth):
    admin = auth.login_as("admin")
    now = datetime.now(UTC)
    with app.app_context():
        category = Category(name="invoice")
        db.session.add(category)
        db.session.flush()
        document = make_document(text="x")

        def review(accepted: bool, days_ago: int, predicted: str | None = "invoice", reason=None) -> Review:
            return Review(
                document_id=document.id,
                user_id=admin.id,
                at=now - timedelta(days=days_ago),
                predicted=predicted,
                chosen_category_id=category.id,
                accepted=accepted,
                previous_review_reason=reason,
            )

        db.session.add_all(
            [
                review(True, 1),
                review(True, 5),
                review(False, 12),
                review(False, 45),  # older than 30 days: left out
                review(False, 2, predicted=None),  # nothing was suggested: nothing to keep
                review(True, 3, reason="Like bill.pdf, filed as invoice by Ana"),  # the memory's, not the model's
            ]
        )
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert _card(page, "acceptance") == ("67%", "/admin/models")
    assert "2 of 3 reviews" in page
    number, href = _card(page, "workers")
    assert href == "/admin/system"
    assert number == "Check"  # no consumer runs in this test
    assert "workers: no consumer has reported" in page


def test_with_no_reviews_the_rate_says_so(app, client, auth):
    auth.login_as("admin")
    page = client.get("/").get_data(as_text=True)
    assert _card(page, "acceptance")[0] == "none"
    assert "no reviews yet" in page
