"""The worker classifies every processed document with the active model, or says why a person must look."""

import io

import pytest

from app.classify import categories, registry, retraining
from app.documents import queries, service
from app.extensions import db

INVOICE = (
    "INVOICE No. 2026-4711\nACME Wholesale Ltd, 12 Harbour Road\nInvoice date 03.11.2026\n"
    "40 x Green tea 1 kg  12.50  500.00\nSubtotal 500.00 VAT 20% 100.00\nTotal amount due 600.00 EUR\n"
    "Payment terms: 30 days net. Bank transfer to IBAN GB00 1234"
)


@pytest.fixture
def trained(app):
    """Default categories and a first model, as `make run` leaves them."""
    with app.app_context():
        categories.ensure_default_categories()
        retraining.train_candidate(per_category=40, seed=1)


def _ingest(app, text: str):
    with app.app_context():
        document_id = service.ingest(io.BytesIO(text.encode()), "upload.txt", user_id=None).document.id
        db.session.expire_all()
        return queries.get_document(document_id)


def test_a_clear_invoice_gets_its_category_and_top_three(app, trained):
    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.3
    document = _ingest(app, INVOICE)
    assert document.state == "processed"
    assert document.predictions[0][0] == "invoice"
    assert len(document.predictions) == 3
    assert [p for _, p in document.predictions] == sorted((p for _, p in document.predictions), reverse=True)
    assert document.review_state == "auto_accepted"
    assert document.category.name == "invoice"
    assert document.model_version_id is not None
    assert "classify" in document.timings


def test_below_the_threshold_a_person_must_look(app, trained):
    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.999
    document = _ingest(app, INVOICE)
    assert document.review_state == "needs_review"
    assert "checked by a person" in document.review_reason
    assert document.predictions[0][0] == "invoice"  # the suggestion is kept for the reviewer


def test_without_a_model_or_without_text_documents_wait_for_review(app):
    document = _ingest(app, "Some letter about tea")
    assert document.state == "processed"  # processing never fails for want of a model
    assert document.review_state == "needs_review"
    assert document.review_reason == "There is no active model yet."
    with app.app_context():
        categories.ensure_default_categories()
        retraining.train_candidate(per_category=20, seed=3)
    blank = _ingest(app, "   \n\t  ")
    assert blank.review_state == "needs_review"
    assert blank.review_reason == "No text was found in the document."


def test_a_missing_model_file_sends_documents_to_review_with_the_reason(app, trained):
    with app.app_context():
        (registry.models_dir() / registry.active_version().filename).unlink()
        from app.classify import runtime

        runtime.clear_cache()
    document = _ingest(app, INVOICE)
    assert document.state == "processed"
    assert document.review_state == "needs_review"
    assert document.review_reason.startswith("The model could not be used:")


def test_the_document_page_shows_the_category_and_suggestions(app, client, auth, trained):
    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.3
    document = _ingest(app, INVOICE)
    auth.login_as("viewer")
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert 'data-testid="doc-category">invoice' in page
    assert "auto accepted" in page
    assert "Model&#39;s suggestions" in page or "Model's suggestions" in page


def test_a_review_files_the_document_and_records_what_the_model_said(app, trained):
    from sqlalchemy import select, update

    from app.classify import service as classify
    from app.classify.models import Category, Review
    from app.documents.models import Document
    from app.documents.tasks import process_document

    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.999
    document = _ingest(app, INVOICE)
    with app.app_context():
        credit_note = db.session.scalar(select(Category).where(Category.name == "credit note"))
        review = classify.review_document(document.id, credit_note.id, user_id=None)
        assert (review.predicted, review.accepted) == ("invoice", False)
        reviewed = queries.get_document(document.id)
        assert (reviewed.review_state, reviewed.category.name) == ("reviewed", "credit note")
        invoice = db.session.scalar(select(Category).where(Category.name == "invoice"))
        again = classify.review_document(document.id, invoice.id, user_id=None)  # re-opened and changed later
        assert again.accepted is True
        assert len(db.session.scalars(select(Review).where(Review.document_id == document.id)).all()) == 2
        categories.set_active("receipt", False, user_id=None)
        receipt = db.session.scalar(select(Category).where(Category.name == "receipt"))
        with pytest.raises(classify.ReviewError):
            classify.review_document(document.id, receipt.id, user_id=None)
        # Reprocessing keeps the person's decision.
        db.session.execute(update(Document).where(Document.id == document.id).values(state="queued"))
        db.session.commit()
        process_document.call_local(document.id)
        db.session.expire_all()
        assert queries.get_document(document.id).category.name == "invoice"
        assert queries.get_document(document.id).review_state == "reviewed"


def test_a_document_reading_like_a_reviewed_one_is_filed_the_same_way(app, trained):
    from sqlalchemy import select

    from app.classify import service as classify
    from app.classify.models import Category

    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.999
    original = _ingest(app, INVOICE)
    assert original.review_state == "needs_review"
    with app.app_context():
        contract = db.session.scalar(select(Category).where(Category.name == "contract"))
        classify.review_document(original.id, contract.id, user_id=None)
    # Other bytes (a byte-order mark), the same text: a person already decided what this is.
    twin = _ingest(app, "\ufeff" + INVOICE)
    assert twin.id != original.id
    assert twin.text_sha256 == original.text_sha256
    assert twin.review_state == "auto_accepted"
    assert twin.category.name == "contract"
    assert f"(document {original.id}), which a person filed under contract" in twin.review_reason
    # The memory of reviews puts the original's category first (the same text: 100% alike); what the model said is kept.
    assert [name for name, _ in twin.predictions[:2]] == ["contract", "invoice"]
    # A different text is not "the same text"; nearly the same, it is the memory of reviews that files it.
    other = _ingest(app, INVOICE + "\nSecond copy")
    assert other.review_reason.startswith("Like ")


def test_predict_gives_the_active_models_top_three(app, trained):
    from app.classify import service as classify

    with app.app_context():
        top = classify.predict(INVOICE)
        assert next(name for name, _ in top) == "invoice"
        assert len(top) == 3
        assert all(0 <= p <= 1 for _, p in top)
        assert classify.predict("") == []


def test_predict_without_a_model_says_so(app):
    from app.classify import runtime
    from app.classify import service as classify

    with app.app_context(), pytest.raises(runtime.ModelUnavailable, match="no active model"):
        classify.predict(INVOICE)


def test_ten_megabytes_of_text_are_classified_from_their_start_and_kept_whole(app, trained):
    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.3
    huge = INVOICE + "\n" + ("tea leaves " * 1_000_000)
    document = _ingest(app, huge)
    assert document.state == "processed"
    from app.classify import runtime
    from app.classify import service as classify

    with app.app_context():
        # The model read only the start: the same answer as for the first 20,000 characters alone.
        start = classify.predict(huge[: runtime.DEFAULT_MAX_CHARS])
        assert [name for name, _ in start] == [name for name, _ in document.predictions]
        assert classify.predict(huge[:50_000])[0][0] == start[0][0]
    assert len(document.text) >= 10_000_000  # search gets the whole text


def test_a_retired_category_the_model_still_predicts_goes_to_review(app, trained):
    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.3
    with app.app_context():
        categories.set_active("invoice", False, user_id=None)
    document = _ingest(app, INVOICE)
    assert document.review_state == "needs_review"
    assert document.category is None
    assert "'invoice', which is not an active category" in document.review_reason
