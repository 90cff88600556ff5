"""The review queue: order, filters, decisions one by one or in bulk, counts, roles and bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.classify import categories
from app.classify.models import Category, Review
from app.documents.models import Document, ReviewState
from app.extensions import db
from app.ops.models import AuditEvent
from tests.support.factories import make_document


@pytest.fixture
def seeded(app):
    with app.app_context():
        categories.ensure_default_categories()


def _waiting(app, name: str, confidence: float | None, predicted: str | None = "invoice", **columns) -> int:
    """A processed document the model was unsure about (as the classify step leaves it)."""
    with app.app_context():
        category = db.session.scalar(select(Category).where(Category.name == predicted)) if predicted else None
        predictions = None
        if predicted is not None:
            rest = (1 - confidence) / 2
            predictions = [[predicted, confidence], ["receipt", rest], ["other", rest]]
        document = make_document(
            text=f"Text of {name}. " * 5,
            filename=name,
            review_state=ReviewState.NEEDS_REVIEW,
            category_id=category.id if category else None,
            predictions=predictions,
            confidence=confidence,
            review_reason="The model is not sure." if predicted else "No text was found in the document.",
            **columns,
        )
        db.session.commit()
        return document.id


def _item(html: str) -> str | None:
    match = re.search(r'data-testid="review-item" data-document="(\d+)"', html)
    return match.group(1) if match else None


def _count(html: str, category: str) -> int:
    return int(re.search(rf'data-testid="count-{category}">(\d+)<', html).group(1))


def test_the_least_sure_document_comes_first_with_its_suggestions(app, client, auth, seeded):
    sure = _waiting(app, "sure.txt", 0.8)
    unsure = _waiting(app, "unsure.txt", 0.31)
    blank = _waiting(app, "blank.txt", None, predicted=None)
    auth.login_as("staff")

    page = client.get("/review").get_data(as_text=True)

    assert _item(page) == str(blank)  # no suggestion at all sorts before the lowest probability
    assert "No text was found in the document." in page
    order = [int(i) for i in re.findall(r'name="document_id" value="(\d+)"', page)]
    assert order == [blank, unsure, sure]
    page = client.get(f"/review?at={unsure}").get_data(as_text=True)
    assert _item(page) == str(unsure)
    assert "2 of 3" in page
    assert "Text of unsure.txt." in page
    assert re.search(r"invoice</span> <strong>31%", page)
    assert 'data-key="a"' in page
    assert "Accept “invoice”" in page


def test_accept_files_the_document_and_the_next_one_swaps_in_with_the_counts(app, client, auth, seeded):
    first = _waiting(app, "first.txt", 0.2)
    second = _waiting(app, "second.txt", 0.4)
    user = auth.login_as("staff")
    before = client.get("/review").get_data(as_text=True)
    assert _count(before, "invoice") == 0

    response = client.post(f"/review/{first}", data={}, htmx=True)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _item(html) == str(second)
    assert "Filed first.txt under invoice." in html
    assert (
        'id="review-counts" class="counts" data-testid="review-counts" aria-label="Counts" hx-swap-oob="true"' in html
    )
    assert _count(html, "invoice") == 1
    assert re.search(r'data-testid="waiting-count">1<', html)
    assert response.headers["HX-Push-Url"] == f"/review?at={second}"
    with app.app_context():
        document = db.session.get(Document, first)
        assert (document.review_state, document.category.name) == ("reviewed", "invoice")
        review = db.session.scalar(select(Review))
        assert (review.user_id, review.predicted, review.accepted) == (user.id, "invoice", True)
        assert review.confidence == pytest.approx(0.2)
        entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.review"))
        assert entry.actor_id == user.id
        assert "first.txt" in entry.summary


def test_picking_another_category_records_that_the_model_was_wrong(app, client, auth, seeded):
    document_id = _waiting(app, "letter.txt", 0.35)
    auth.login_as("staff")
    with app.app_context():
        correspondence = db.session.scalar(select(Category.id).where(Category.name == "correspondence"))

    html = client.post(f"/review/{document_id}", data={"category_id": correspondence}, htmx=True).get_data(as_text=True)

    assert 'data-testid="queue-empty"' in html
    assert _count(html, "correspondence") == 1
    assert _count(html, "invoice") == 0
    with app.app_context():
        review = db.session.scalar(select(Review))
        assert (review.predicted, review.chosen_category_id, review.accepted) == ("invoice", correspondence, False)
        entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.review"))
        assert "(model said invoice)" in entry.summary


def test_next_previous_and_skip_step_through_the_queue_and_wrap(app, client, auth, seeded):
    ids = [_waiting(app, f"d{i}.txt", 0.1 * (i + 1)) for i in range(3)]
    auth.login_as("viewer")

    def step(at, move):
        response = client.get(f"/review?at={at}&move={move}", htmx=True)
        assert response.status_code == 200
        return int(_item(response.get_data(as_text=True)))

    assert step(ids[0], "next") == ids[1]
    assert step(ids[1], "skip") == ids[2]
    assert step(ids[2], "next") == ids[0]  # wraps round
    assert step(ids[0], "previous") == ids[2]
    assert step(ids[2], "previous") == ids[1]
    # Nothing was decided by moving around.
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 0


def test_filters_by_suggestion_uploader_and_date(app, client, auth, make_user, seeded):
    uploader = make_user("staff")
    old = datetime.now(UTC) - timedelta(days=10)
    invoice = _waiting(app, "invoice.txt", 0.5, uploaded_by=uploader.id)
    receipt = _waiting(app, "receipt.txt", 0.4, predicted="receipt", uploaded_at=old)
    auth.login_as("staff")
    with app.app_context():
        receipt_id = db.session.scalar(select(Category.id).where(Category.name == "receipt"))

    def listed(query):
        page = client.get(f"/review?{query}").get_data(as_text=True)
        return [int(i) for i in re.findall(r'name="document_id" value="(\d+)"', page)]

    assert listed("") == [receipt, invoice]
    assert listed(f"category={receipt_id}") == [receipt]
    assert listed(f"uploader={uploader.id}") == [invoice]
    assert listed(f"since={(datetime.now(UTC) - timedelta(days=1)).date()}") == [invoice]
    assert listed(f"until={(old + timedelta(days=1)).date()}") == [receipt]
    # Decisions keep the filters: the next item comes from the filtered queue.
    response = client.post(f"/review/{receipt}?category={receipt_id}", data={}, htmx=True)
    assert 'data-testid="queue-empty"' in response.get_data(as_text=True)
    bad = client.get("/review?since=yesterday")
    assert bad.status_code == 400
    assert "Some filters are not valid" in bad.get_data(as_text=True)


def test_bulk_accept_takes_the_suggestions_of_the_selected_documents_only(app, client, auth, seeded):
    one = _waiting(app, "one.txt", 0.3)
    two = _waiting(app, "two.txt", 0.4, predicted="receipt")
    _waiting(app, "three.txt", 0.5)
    blank = _waiting(app, "blank.txt", None, predicted=None)
    auth.login_as("staff")

    # First the question: how many documents go under which category; nothing is written yet.
    question = client.post("/review/accept", data={"document_id": [one, two, blank]}, htmx=True)
    assert question.status_code == 200
    asked = question.get_data(as_text=True)
    assert re.search(r"<strong>2 documents</strong> will be filed", asked)
    assert "<strong>1</strong> under invoice" in asked
    assert "<strong>1</strong> under receipt" in asked
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 0

    response = client.post("/review/accept", data={"document_id": [one, two, blank], "confirm": "yes"}, htmx=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Accepted 2 suggestions." in html
    assert "blank.txt has no suggestion to accept." in html
    assert _item(html) == str(blank)
    assert _count(html, "invoice") == 1
    assert _count(html, "receipt") == 1
    with app.app_context():
        states = dict(db.session.execute(select(Document.filename, Document.review_state)).all())
        assert states == {
            "one.txt": "reviewed",
            "two.txt": "reviewed",
            "three.txt": "needs_review",
            "blank.txt": "needs_review",
        }
        assert db.session.scalar(select(func.count(Review.id)).where(Review.accepted.is_(True))) == 2


def test_bulk_accept_with_nothing_selected_says_so_and_writes_nothing(app, client, auth, seeded):
    _waiting(app, "one.txt", 0.3)
    auth.login_as("staff")

    response = client.post("/review/accept", data={}, htmx=True)

    assert response.status_code == 400
    assert "Select at least one document to accept." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 0


def test_without_javascript_a_decision_redirects_to_the_next_item(app, client, auth, seeded):
    first = _waiting(app, "first.txt", 0.2)
    second = _waiting(app, "second.txt", 0.4)
    auth.login_as("staff")

    response = client.post(f"/review/{first}", data={})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/review?at={second}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Filed first.txt under invoice." in page


def test_viewers_can_look_but_not_decide(app, client, auth, seeded):
    document_id = _waiting(app, "one.txt", 0.3)
    auth.login_as("viewer")

    page = client.get("/review").get_data(as_text=True)
    assert "one.txt" in page
    assert 'data-testid="accept"' not in page
    assert client.post(f"/review/{document_id}", data={}).status_code == 403
    assert client.post("/review/accept", data={"document_id": document_id}).status_code == 403
    with app.app_context():
        assert db.session.get(Document, document_id).review_state == "needs_review"


@pytest.mark.parametrize(
    ("category_id", "status", "message"),
    [
        ("abc", 400, "Choose a category from the list."),
        ("999", 400, "Choose an active category."),
        ("retired", 400, "Choose an active category."),
    ],
)
def test_a_bad_category_is_refused_and_nothing_changes(app, client, auth, seeded, category_id, status, message):
    document_id = _waiting(app, "one.txt", 0.3)
    if category_id == "retired":
        with app.app_context():
            categories.set_active("contract", False, user_id=None)
            category_id = str(db.session.scalar(select(Category.id).where(Category.name == "contract")))
    auth.login_as("staff")

    response = client.post(f"/review/{document_id}", data={"category_id": category_id}, htmx=True)

    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Document, document_id).review_state == "needs_review"
        assert db.session.scalar(select(func.count(Review.id))) == 0


def test_unknown_and_unprocessed_documents_are_refused(app, client, auth, seeded):
    document_id = _waiting(app, "one.txt", 0.3)
    with app.app_context():
        db.session.get(Document, document_id).state = "processing"
        db.session.commit()
    auth.login_as("staff")

    assert client.post("/review/424242", data={}).status_code == 404
    response = client.post(f"/review/{document_id}", data={"category_id": "1"}, htmx=True)
    assert response.status_code == 400
    assert "can be reviewed once it is processed" in response.get_data(as_text=True)


def test_a_filed_document_can_be_reopened_and_the_counts_follow(app, client, auth, seeded):
    document_id = _waiting(app, "one.txt", 0.3)
    auth.login_as("staff")
    client.post(f"/review/{document_id}", data={}, htmx=True)
    with app.app_context():
        receipt = db.session.scalar(select(Category.id).where(Category.name == "receipt"))

    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert 'name="back" value="document"' in page
    response = client.post(f"/review/{document_id}", data={"category_id": receipt, "back": "document"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/documents/{document_id}"
    page = client.get("/review").get_data(as_text=True)
    assert _count(page, "invoice") == 0
    assert _count(page, "receipt") == 1
    listing = client.get("/documents").get_data(as_text=True)
    assert re.search(r'data-testid="category-count-receipt">1<', listing)
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 2


def test_without_javascript_bulk_accept_asks_on_a_page_of_its_own_then_files(app, client, auth, seeded):
    one = _waiting(app, "one.txt", 0.3)
    two = _waiting(app, "two.txt", 0.4)
    _waiting(app, "three.txt", 0.5, predicted="receipt")
    auth.login_as("staff")

    # Select-all without JavaScript: the header box alone stands for every document listed.
    question = client.post("/review/accept", data={"all": "1"})

    page = question.get_data(as_text=True)
    assert question.status_code == 200
    assert "<h1>Accept the suggestions?</h1>" in page
    assert "<strong>3 documents</strong> will be filed" in page
    assert "<strong>2</strong> under invoice" in page
    assert "<strong>1</strong> under receipt" in page
    assert 'data-testid="bulk-confirm-no"' in page  # and a way back
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 0
    ids = [int(i) for i in re.findall(r'name="document_id" value="(\d+)"', page)]
    assert sorted(ids[:2]) == [one, two]

    done = client.post("/review/accept", data={"document_id": ids, "confirm": "yes"})

    assert done.status_code == 303
    assert "Accepted 3 suggestions." in client.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Review.id))) == 3


def test_bulk_accept_of_nothing_acceptable_says_so_and_writes_nothing(app, client, auth, seeded):
    blank = _waiting(app, "blank.txt", None, predicted=None)
    auth.login_as("staff")

    response = client.post("/review/accept", data={"document_id": [blank]}, htmx=True)

    assert response.status_code == 400
    assert "None of the selected documents has a suggestion that can be accepted now." in response.get_data(
        as_text=True
    )


def test_a_successful_action_clears_the_previous_error_message(app, client, auth, seeded):
    first = _waiting(app, "first.txt", 0.2)
    _waiting(app, "second.txt", 0.3)
    auth.login_as("staff")
    error = client.post(f"/review/{first}", data={"category_id": "abc"}, htmx=True)
    assert error.headers["HX-Retarget"] == "#messages"

    for response in (
        client.get(f"/review?at={first}&move=next", htmx=True),
        client.post(f"/review/{first}", data={}, htmx=True),
    ):
        html = response.get_data(as_text=True)
        assert '<div id="messages" aria-live="polite" hx-swap-oob="innerHTML"></div>' in html


def test_the_list_rows_carry_their_document_so_the_highlight_can_follow(app, client, auth, seeded):
    first = _waiting(app, "first.txt", 0.2)
    second = _waiting(app, "second.txt", 0.3)
    auth.login_as("staff")

    page = client.get(f"/review?at={second}").get_data(as_text=True)

    assert f'<tr data-document="{first}">' in page
    assert f'<tr data-document="{second}" aria-current="true">' in page
    assert 'data-testid="select-all"' in page


TABLE = (
    "Qty  Item              Price   Total\n"
    "12   Green tea 1 kg    14.00  168.00\n"
    "3    Oolong 250 g       9.50   28.50\n"
    "1    Delivery           5.10    5.10\n"
    "Total due 201.60 EUR\n"
)


def test_a_table_like_excerpt_keeps_its_lines_and_is_marked_tabular(app, client, auth, seeded):
    from app.classify.review_views import excerpt_is_tabular

    assert excerpt_is_tabular(TABLE)
    assert excerpt_is_tabular("a\tb\nc\td\ne\tf\n")
    assert not excerpt_is_tabular("Dear Ms Weber,\nthank you for your letter.\nKind regards\nAnna")
    assert not excerpt_is_tabular(None)
    document_id = _waiting(app, "table.txt", 0.2)
    with app.app_context():
        db.session.get(Document, document_id).text = TABLE
        db.session.commit()
    auth.login_as("staff")

    page = client.get(f"/review?at={document_id}").get_data(as_text=True)

    assert 'class="doc-text review-excerpt tabular"' in page
    assert "12   Green tea 1 kg    14.00  168.00\n3    Oolong" in page  # line breaks and spacing as they were


def test_the_queue_names_documents_by_their_title_with_the_file_name_beside(app, client, auth, seeded):
    titled = _waiting(app, "scan_0042.pdf", 0.3, title="Valley Mills invoice March")
    plain = _waiting(app, "oats-order.txt", 0.4)
    auth.login_as("staff")

    page = client.get(f"/review?at={titled}").get_data(as_text=True)

    assert re.search(r'data-testid="item-name">Valley Mills invoice March</a>', page)
    assert '<span data-testid="item-file">scan_0042.pdf</span>' in page
    assert re.search(r'title="scan_0042.pdf">Valley Mills invoice March</a>', page)  # the list beside it
    assert re.search(rf'at={plain}" title="oats-order.txt">oats-order</a>', page)  # no title: the file name's stem
