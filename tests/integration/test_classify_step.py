"""The worker classifies every processed document with the active model, or says why a person must look."""

import io

import pytest

from app.classify import categories, registry
from app.documents import service
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
        registry.train_candidate(per_category=40, seed=1)


def _ingest(app, text: str):
    with app.app_context():
        document_id = service.ingest(io.BytesIO(text.encode()), "upload.txt", user_id=None).document.id
        db.session.expire_all()
        return service.get_document(document_id)


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
        registry.train_candidate(per_category=20, seed=3)
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
