"""What a person files a document by: title, date, correspondent, tags, notes; the list's filters and CSV;
the date and correspondent suggested from the text until a person confirms them."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from app.documents import metadata, trash
from app.documents.models import Correspondent, Document, DocumentNote, DocumentTag
from app.documents.suggest import parse_date, suggest_correspondent, suggest_date
from app.extensions import db
from app.ops.models import AuditEvent
from app.search import indexer
from app.search.schema import SCHEMA_VERSION, build_schema
from tests.integration.test_search_index import found
from tests.integration.test_search_index import make_document as search_index_document
from tests.support.factories import make_document, upload

EXISTING_CSV_COLUMNS = [
    *("id", "filename", "state", "kind", "mime", "size", "pages", "uploaded_by", "uploaded_at", "finished_at"),
    *("sha256", "failure_reason", "category", "review_state", "confidence"),
]


def _document(app, name: str = "Invoice 12.pdf", text: str = "hello") -> int:
    with app.app_context():
        document = make_document(text=text, filename=name)
        db.session.commit()
        return document.id


def _save(client, document_id: int, **values):
    form = {"title": "", "document_date": "", "correspondent": "", "tags": ""} | values
    return client.post(f"/documents/{document_id}/details", data=form)


def _counts(app) -> tuple[int, int, int, int]:
    """Rows that a refused edit must not write: tags, notes, correspondents, audit rows."""
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (DocumentTag, DocumentNote, Correspondent, AuditEvent)
        )


# ---------------------------------------------------------------- item 1: the details and notes


def test_the_title_defaults_to_the_file_name_without_its_extension(app, client, auth):
    auth.login_as("viewer")
    document_id = _document(app, "Invoice 12.pdf")
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert '<h1 class="doc-title" data-testid="doc-title">Invoice 12</h1>' in page
    assert 'data-testid="doc-filename">Invoice 12.pdf<' in page  # the file is still named as the file
    assert "Invoice 12" in client.get("/documents").get_data(as_text=True)


def test_staff_save_the_details_in_one_audited_change_that_search_hears_of(app, client, auth, monkeypatch):
    staff = auth.login_as("staff")
    document_id = _document(app)
    noted = []
    monkeypatch.setattr(metadata.outbox, "note_change", lambda i, **kw: noted.append(i))
    response = _save(
        client,
        document_id,
        title="  April invoice  ",
        document_date="2024-04-12",
        correspondent="Valley  Mills",
        tags="Urgent, tax ,urgent,, TAX, 2024",
    )
    assert response.status_code == 303
    with app.app_context():
        document = db.session.get(Document, document_id)
        assert document.title == "April invoice"
        assert document.document_date == date(2024, 4, 12)
        assert document.correspondent.name == "Valley Mills"
        assert document.tag_names == ["2024", "tax", "urgent"]
        assert not document.date_suggested
        assert not document.correspondent_suggested
        audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "document.details")).all()
        assert len(audits) == 1
        assert audits[0].actor_id == staff.id
        assert audits[0].before["title"] is None
        assert audits[0].after["correspondent"] == "Valley Mills"
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "correspondent.create")) == 1
    assert noted == [document_id]  # the index re-reads the document (drained after the commit)
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "April invoice" in page
    assert "2024-04-12" in page
    assert "Valley Mills" in page


def test_a_known_correspondent_is_chosen_whatever_the_case_and_the_same_save_changes_nothing(app, client, auth):
    auth.login_as("staff")
    first, second = _document(app, "a.txt"), _document(app, "b.txt")
    _save(client, first, correspondent="Valley Mills")
    _save(client, second, correspondent="valley mills")
    with app.app_context():
        assert db.session.scalar(select(func.count(Correspondent.id))) == 1
        assert db.session.get(Document, second).correspondent.name == "Valley Mills"
    before = _counts(app)
    _save(client, second, title="b", correspondent="Valley Mills")  # "b" is the default title: no change
    assert _counts(app) == before
    assert "Valley Mills" in client.get(f"/documents/{first}").get_data(as_text=True)  # in the choices list


@pytest.mark.parametrize(
    ("values", "sentence"),
    [
        ({"document_date": "2024-02-31"}, "is not a date"),
        ({"document_date": "next tuesday"}, "is not a date"),
        ({"tags": "x" * 2000}, "a tag has at most 50 characters"),
        ({"tags": ", ".join(f"t{i}" for i in range(51))}, "at most 50"),
        ({"title": "t" * 300}, "at most 255"),
        ({"correspondent": "c" * 300}, "at most 200"),
    ],
)
def test_bad_details_get_a_400_with_a_sentence_and_write_nothing(app, client, auth, values, sentence):
    auth.login_as("staff")
    document_id = _document(app)
    before = _counts(app)
    response = _save(client, document_id, **({"tags": "keep", "correspondent": "New One"} | values))
    assert response.status_code == 400
    assert sentence in response.get_data(as_text=True)
    assert _counts(app) == before
    with app.app_context():
        document = db.session.get(Document, document_id)
        assert document.title is None
        assert document.document_date is None
        assert document.correspondent_id is None


def test_notes_are_appended_with_who_and_when(app, client, auth):
    staff = auth.login_as("staff")
    document_id = _document(app)
    assert client.post(f"/documents/{document_id}/notes", data={"body": "Paid by bank transfer."}).status_code == 303
    assert client.post(f"/documents/{document_id}/notes", data={"body": "Second <b>note</b>"}).status_code == 303
    with app.app_context():
        notes = metadata.notes_of(document_id)
        assert [n.body for n in notes] == ["Paid by bank transfer.", "Second <b>note</b>"]
        assert all(n.user_id == staff.id for n in notes)
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "document.note")) == 2
    auth.logout()
    auth.login_as("viewer")
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "Paid by bank transfer." in page
    assert "Second &lt;b&gt;note&lt;/b&gt;" in page
    assert staff.email in page
    assert 'data-testid="add-note"' not in page  # viewers read, staff write
    assert 'data-testid="details-form"' not in page


@pytest.mark.parametrize(("body", "sentence"), [("   ", "Write something"), ("n" * 2001, "at most 2,000")])
def test_an_empty_or_long_note_is_refused(app, client, auth, body, sentence):
    auth.login_as("staff")
    document_id = _document(app)
    before = _counts(app)
    response = client.post(f"/documents/{document_id}/notes", data={"body": body})
    assert response.status_code == 400
    assert sentence in response.get_data(as_text=True)
    assert _counts(app) == before


def test_viewers_cannot_change_details_or_add_notes_and_csrf_is_checked(app, client, auth):
    auth.login_as("viewer")
    document_id = _document(app)
    assert _save(client, document_id, title="mine").status_code == 403
    assert client.post(f"/documents/{document_id}/notes", data={"body": "hi"}).status_code == 403
    auth.logout()
    auth.login_as("staff")
    refused = client.post(f"/documents/{document_id}/details", data={"title": "x"}, csrf=False)
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(Document, document_id).title is None


def test_a_purge_takes_the_tags_and_notes_with_the_document(app, client, auth):
    auth.login_as("staff")
    upload(client, "gone.txt", b"to be purged")
    with app.app_context():
        document_id = db.session.scalar(select(Document.id))
    _save(client, document_id, tags="old")
    client.post(f"/documents/{document_id}/notes", data={"body": "bye"})
    client.post(f"/documents/{document_id}/delete")
    with app.app_context():
        trash.purge_document(document_id, user_id=None)
        assert db.session.scalar(select(func.count(DocumentTag.id))) == 0
        assert db.session.scalar(select(func.count(DocumentNote.id))) == 0


# ---------------------------------------------------------------- item 2: the list and its CSV


def test_the_list_filters_by_tag_and_correspondent_and_the_csv_has_the_new_columns(app, client, auth):
    auth.login_as("staff")
    tagged, other = _document(app, "tagged.txt"), _document(app, "other.txt")
    _save(client, tagged, title="Tagged one", document_date="2024-04-12", correspondent="Valley Mills", tags="urgent")
    _save(client, other, correspondent="Hill Farm", tags="later")
    by_tag = client.get("/documents?tag=URGENT").get_data(as_text=True)
    assert "Tagged one" in by_tag
    assert "other.txt" not in by_tag
    with app.app_context():
        hill = db.session.scalar(select(Correspondent.id).where(Correspondent.name == "Hill Farm"))
    by_correspondent = client.get(f"/documents?correspondent={hill}").get_data(as_text=True)
    assert "other.txt" in by_correspondent
    assert "Tagged one" not in by_correspondent
    listed = client.get("/documents").get_data(as_text=True)
    assert "2024-04-12" in listed
    assert "Valley Mills" in listed
    assert "tagged.txt" in listed
    rows = list(csv.DictReader(io.StringIO(client.get("/documents.csv?tag=urgent").get_data(as_text=True))))
    assert [(r["title"], r["document_date"], r["correspondent"], r["tags"]) for r in rows] == [
        ("Tagged one", "2024-04-12", "Valley Mills", "urgent")
    ]
    header = next(csv.reader(io.StringIO(client.get("/documents.csv").get_data(as_text=True))))
    assert header[:15] == EXISTING_CSV_COLUMNS
    assert header[15:] == ["title", "document_date", "correspondent", "tags"]
    assert client.get("/documents?correspondent=99999").status_code == 400  # not a choice
    assert client.get("/documents?tag=" + "x" * 60).status_code == 400


def test_the_list_filters_by_the_documents_own_date_and_refuses_a_bad_one(app, client, auth):
    auth.login_as("staff")
    march, may = _document(app, "march.txt"), _document(app, "may.txt")
    _document(app, "undated.txt")  # listed by its title: the file name without its extension
    _save(client, march, title="March bill", document_date="2024-03-31")
    _save(client, may, title="May bill", document_date="2024-05-01")

    def listed(query: str) -> set[str]:
        page = client.get(f"/documents?{query}").get_data(as_text=True)
        return {title for title in ("March bill", "May bill", "undated") if title in page}

    assert listed("dated_from=2024-04-01") == {"May bill"}  # an undated document is in no date range
    assert listed("dated_until=2024-03-31") == {"March bill"}
    assert listed("dated_from=2024-03-01&dated_until=2024-05-31") == {"March bill", "May bill"}
    assert listed("") == {"March bill", "May bill", "undated"}
    rows = list(csv.DictReader(io.StringIO(client.get("/documents.csv?dated_from=2024-05-01").get_data(as_text=True))))
    assert [r["title"] for r in rows] == ["May bill"]
    refused = client.get("/documents?dated_from=31.03.2024")
    assert refused.status_code == 400
    assert "Document date from" in refused.get_data(as_text=True)


# ---------------------------------------------------------------- item 3: suggestions from the text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invoice date: 2024-04-12\nDue 2024-05-12", date(2024, 4, 12)),
        ("Date: 12.04.2024", date(2024, 4, 12)),
        ("Dated 12/04/2024", date(2024, 4, 12)),
        ("Invoice Date 12 April 2024", date(2024, 4, 12)),
        ("Date: April 12, 2024", date(2024, 4, 12)),
        ("Date: 1.2.2024 and Invoice date: 2024-04-12", date(2024, 4, 12)),  # the invoice date wins
        ("Date: 2024-01-01\nDate: 2024-02-02", None),  # two candidates: nothing is clear
        ("Delivered 2024-04-12", None),  # no label
        ("Date: 31.02.2024", None),  # not a day
    ],
)
def test_a_date_is_suggested_only_after_a_label_and_only_when_clear(text, expected):
    assert suggest_date(text) == expected


def test_parse_date_reads_the_common_forms():
    assert parse_date("12 Apr 2024") == date(2024, 4, 12)
    assert parse_date("2024-4-12") == date(2024, 4, 12)
    assert parse_date("12/04/2024 garbage") is None


def test_a_known_correspondent_is_suggested_when_exactly_one_name_appears():
    known = [(1, "Valley Mills"), (2, "Hill Farm"), (3, "Mills")]
    assert suggest_correspondent("From VALLEY\nMILLS Ltd", known) is None  # "Mills" appears too: two candidates
    assert suggest_correspondent("From Hill Farm, Ltd", known) == 2
    assert suggest_correspondent("Hillfarming news", known) is None  # whole words only


def test_processing_suggests_and_a_person_confirms_by_button_or_by_saving(app, client, auth):
    staff = auth.login_as("staff")
    with app.app_context():
        db.session.add(Correspondent(name="Valley Mills", name_key="valley mills"))
        db.session.commit()
    upload(client, "inv.txt", b"Valley Mills Ltd\nInvoice date: 12.04.2024\nTotal 12.00")
    upload(client, "other.txt", b"Valley Mills again\nDated 2024-05-01")
    with app.app_context():
        first, second = db.session.scalars(select(Document).order_by(Document.id)).all()
        assert first.document_date == date(2024, 4, 12)
        assert first.date_suggested
        assert first.correspondent.name == "Valley Mills"
        assert first.correspondent_suggested
        first_id, second_id = first.id, second.id
    page = client.get(f"/documents/{first_id}").get_data(as_text=True)
    assert 'data-testid="confirm-suggestions"' in page
    assert "suggested" in page
    assert client.post(f"/documents/{first_id}/details/confirm").status_code == 303
    _save(client, second_id, document_date="2024-05-02", correspondent="Valley Mills")
    with app.app_context():
        first, second = db.session.get(Document, first_id), db.session.get(Document, second_id)
        assert not first.date_suggested
        assert not first.correspondent_suggested
        assert first.document_date == date(2024, 4, 12)
        assert (second.document_date, second.date_suggested, second.correspondent_suggested) == (
            date(2024, 5, 2),
            False,
            False,
        )
        confirmed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.confirm_suggestions"))
        assert confirmed.actor_id == staff.id
        assert confirmed.after["correspondent"] == "Valley Mills"
        # A value a person confirmed is never replaced when the text is read again.
        metadata.apply_suggestions(first_id, "Invoice date: 2025-01-01")
        db.session.commit()
        assert db.session.get(Document, first_id).document_date == date(2024, 4, 12)
    assert 'data-testid="confirm-suggestions"' not in client.get(f"/documents/{first_id}").get_data(as_text=True)


# ---------------------------------------------------------------- item 4: search


def _filed(document_id: int, **values: str) -> None:
    """Save details through the service, then apply the search outbox (as the worker does after the commit)."""
    form = {"title": "", "document_date": "", "correspondent": "", "tags": ""} | values
    metadata.update_details(document_id, metadata.read_details(**form), user_id=None)
    indexer.drain()


def test_search_finds_documents_by_tag_correspondent_and_title_words(app):
    with app.app_context():
        mills = search_index_document("a.txt", "sacks of flour")
        farm = search_index_document("b.txt", "crates of apples")
        plain = search_index_document("c.txt", "more sacks of flour")
        _filed(mills, title="Spring quince order", correspondent="Valley  Mills", tags="Urgent, tax 2024")
        _filed(farm, correspondent="Hill Farm", tags="later")
        assert found("tag:urgent") == [mills]
        assert found("tag:URGENT") == [mills]
        assert found('tag:"tax 2024"') == [mills]
        assert found('correspondent:"Valley Mills"') == [mills]
        assert found('correspondent:"valley mills"') == [mills]
        assert found('correspondent:"Hill Farm"') == [farm]
        assert found("quince") == [mills]  # a word of the title only
        assert set(found("flour")) == {mills, plain}
        assert found("flour -tag:urgent") == [plain]
        _filed(mills, title="Spring quince order", correspondent="Valley Mills", tags="done")
        assert found("tag:urgent") == []  # a changed tag leaves the index at once
        assert found("tag:done") == [mills]
        assert indexer.verify().stale == []  # the checksums cover the new fields


def test_the_schema_version_was_bumped_so_an_old_index_is_rebuilt():
    assert SCHEMA_VERSION >= 2
    assert {"title", "tag", "correspondent"} <= set(build_schema().names())
