"""The memory of reviews: a document like ones people filed is suggested their category at once, before any retrain."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.auth import service as users
from app.auth.models import Role
from app.classify import categories, evaluation, memory, retraining, undo
from app.classify import service as classify
from app.classify.models import Category, ModelVersion
from app.documents import queries, service
from app.documents.models import Document
from app.extensions import db
from tests.conftest import PASSWORD
from tests.support import services
from tests.support.consumer import shared_setup, wait_for_state

NEW_KIND = "customs declaration"


def customs(n: int) -> str:
    """An export declaration from the forwarder the business uses: a kind of document the first model never saw.

    customs(1) is one of the texts kept for measuring models (evaluation.is_held_out): never remembered.
    """
    return (
        f"CUSTOMS DECLARATION - EXPORT\nMRN 24GB{n:06d}A1\nDeclarant: Harbour Freight Forwarders Ltd, Pier {n % 9}\n"
        "Exporter: ACME Wholesale Ltd, 12 Harbour Road\nConsignee: Rossi Bakery, Lyon\n"
        f"Commodity code 0902 10 00 green tea\nCountry of origin CN  Procedure 10 00  Gross mass {n * 7} kg  "
        f"Net mass {n * 6} kg\nCustoms office of exit GB000{n % 5}\nStatistical value {n * 130}.00 GBP  Incoterms FOB\n"
        "Declared under the Union Customs Code, signed at Felixstowe"
    )


DELIVERY_NOTE = (
    "Delivery note 5150\nSix boxes of sencha and two crates of oolong, received in good order at the back door.\n"
    "Driver: Tom. Signature of the recipient: ______"
)


def _ingest(app, text: str, name: str) -> Document:
    """Upload a text file and let the (immediate) worker process it; the document as it is then."""
    with app.app_context():
        document_id = service.ingest(io.BytesIO(text.encode()), name, user_id=None).document.id
        db.session.expire_all()
        document = queries.get_document(document_id)
        db.session.expunge(document)
        return document


def _category_id(name: str) -> int:
    return db.session.scalar(select(Category.id).where(Category.name == name))


@pytest.fixture
def new_kind(app):
    """The default categories and a new one nobody has trained a model on; no model at all (the memory needs none)."""
    with app.app_context():
        categories.ensure_default_categories()
        categories.create_category(NEW_KIND, user_id=None)


def _file(app, document_id: int, category: str, user_id: int | None = None) -> None:
    with app.app_context():
        classify.review_document(document_id, _category_id(category), user_id=user_id)


def test_a_document_like_a_reviewed_one_is_suggested_its_category_at_once(app, new_kind, make_user):
    ana = make_user("staff")
    with app.app_context():
        users.set_display_name(ana.id, "Ana")
    first = _ingest(app, customs(2), "customs_0002.txt")
    assert first.predictions is None  # no model, nothing remembered: nobody can say yet
    _file(app, first.id, NEW_KIND, ana.id)

    second = _ingest(app, customs(3), "customs_0003.txt")
    assert second.predictions[0][0] == NEW_KIND
    assert second.review_reason.startswith(f"Like customs_0002.txt, filed as {NEW_KIND} by Ana (document {first.id}, ")
    assert second.review_state == "auto_accepted"  # the same form, nearly word for word
    assert second.category_id is not None


def test_an_undone_review_is_forgotten(app, new_kind, make_user):
    reviewer = make_user("staff")
    original = _ingest(app, customs(2), "customs_0002.txt")
    _file(app, original.id, NEW_KIND, reviewer.id)
    assert _ingest(app, customs(3), "customs_0003.txt").predictions[0][0] == NEW_KIND

    with app.app_context():
        undo.undo_last(user_id=reviewer.id)
    later = _ingest(app, customs(4), "customs_0004.txt")
    assert later.predictions is None
    assert later.review_reason == "There is no active model yet."


def test_held_out_texts_are_never_remembered(app, new_kind):
    """One reviewed text in five measures the models: the memory must not have seen it, or it would flatter them."""
    n = next(n for n in range(100, 400) if evaluation.is_held_out(customs(n)))
    held = _ingest(app, customs(n), "customs_held.txt")
    _file(app, held.id, NEW_KIND)
    with app.app_context():
        entry = db.session.get(memory.MemoryEntry, held.id)
        assert (entry.held_out, entry.features) == (True, None)
        assert memory.current().size == 0
    assert _ingest(app, customs(n + 1), "customs_next.txt").predictions is None


def test_a_rebuild_from_the_reviews_gives_the_same_answers(app, new_kind):
    filed = [(customs(n), NEW_KIND) for n in (1, 2, 3)] + [(DELIVERY_NOTE, "delivery note")]
    filed.append(("Price list 2026: sencha 12.50 per kilo, oolong 18.00 per kilo, valid from March", "price list"))
    for number, (text, category) in enumerate(filed):
        document = _ingest(app, text, f"filed_{number}.txt")
        _file(app, document.id, category)
    questions = [customs(40), DELIVERY_NOTE + "\nSecond copy", "Price list 2027: sencha 13.00 per kilo", "Hello"]
    with app.app_context():
        before = [memory.nearest(text) for text in questions]
        rows = db.session.scalar(select(func.count()).select_from(memory.MemoryEntry))
        memory.rebuild()
        memory.forget_loaded()
        after = [memory.nearest(text) for text in questions]
        assert db.session.scalar(select(func.count()).select_from(memory.MemoryEntry)) == rows
    assert [(m.document_id, m.category_key) for m in after] == [(m.document_id, m.category_key) for m in before]
    assert [m.similarity for m in after] == pytest.approx([m.similarity for m in before], abs=1e-6)


def test_a_dissimilar_document_is_left_to_the_model(app, new_kind):
    with app.app_context():
        retraining.train_candidate(per_category=20, seed=1)
    for n in range(1, 6):
        _file(app, _ingest(app, customs(n), f"customs_{n:04d}.txt").id, NEW_KIND)
    note = _ingest(app, DELIVERY_NOTE, "note.txt")
    with app.app_context():
        model_says = [[name, round(p, 4)] for name, p in classify.predict(DELIVERY_NOTE)]
        assert memory.nearest(DELIVERY_NOTE).similarity < memory.SUGGEST_AT
    assert note.predictions == model_says
    assert not memory.is_memory_reason(note.review_reason)


def test_a_document_in_the_trash_is_forgotten_until_restored(app, new_kind, monkeypatch):
    monkeypatch.setattr(memory, "CHECK_SECONDS", 0.0)  # the trash does not ring the memory's bell: its next look
    original = _ingest(app, customs(2), "customs_0002.txt")
    _file(app, original.id, NEW_KIND)
    with app.app_context():
        service.delete_document(original.id, user_id=None)
        assert memory.nearest(customs(3)) is None
        service.restore_document(original.id, user_id=None)
        assert memory.nearest(customs(3)).document_id == original.id


def test_the_review_page_and_the_document_page_link_the_document_it_is_like(app, client, auth, new_kind, monkeypatch):
    monkeypatch.setattr(memory, "AUTO_ACCEPT_AT", 1.01)  # a person looks, the memory's suggestion first
    user = auth.login_as("staff")
    original = _ingest(app, customs(2), "customs_0002.txt")
    _file(app, original.id, NEW_KIND, user.id)
    waiting = _ingest(app, customs(3), "customs_0003.txt")
    assert waiting.review_state == "needs_review"

    link = f'<a href="/documents/{original.id}" data-testid="memory-like">customs_0002.txt</a>'
    page = client.get("/review").get_data(as_text=True)
    assert link in page
    assert f", filed as {NEW_KIND} by {user.email.split('@')[0]} (" in page
    assert "Accept “customs declaration”" in page
    assert link in client.get(f"/documents/{waiting.id}").get_data(as_text=True)

    # `a` (the accept button) takes the memory's suggestion.
    assert client.post(f"/review/{waiting.id}", data={}, htmx=True).status_code == 200
    with app.app_context():
        document = db.session.get(Document, waiting.id)
        assert (document.review_state, document.category.name) == ("reviewed", NEW_KIND)


# ---------------------------------------------------------------- through a real worker


def test_five_reviews_of_a_new_kind_teach_a_running_worker_without_a_retrain(tmp_path, postgres_url):
    with shared_setup(tmp_path, postgres_url, name="memory") as (app_with, start_worker):
        app = app_with(services.TEST_REDIS_URL)
        with app.app_context():
            categories.ensure_default_categories()
            retraining.train_candidate(per_category=20, seed=1)
            new = categories.create_category(NEW_KIND, user_id=None).id
            ana = users.create_user("ana@example.com", Role.STAFF, PASSWORD, actor_id=None).id
            users.set_display_name(ana, "Ana")
        start_worker()
        with app.app_context():
            first = [
                service.ingest(io.BytesIO(customs(n).encode()), f"customs_{n:04d}.txt", user_id=None).document.id
                for n in range(1, 6)
            ]
        for document_id in first:
            assert wait_for_state(app, document_id, {"processed", "failed"}).state == "processed"
        with app.app_context():
            for document_id in first:
                classify.review_document(document_id, new, user_id=ana)
            following = service.ingest(io.BytesIO(customs(6).encode()), "customs_0006.txt", user_id=None).document.id

        document = wait_for_state(app, following, {"processed", "failed"})
        assert document.predictions[0][0] == NEW_KIND
        assert document.review_reason.startswith("Like customs_000")
        assert f", filed as {NEW_KIND} by Ana (document " in document.review_reason
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(ModelVersion)) == 1  # no retrain did it
