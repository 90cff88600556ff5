"""The list of correspondents: counts and dates per correspondent, its CSV, and its upkeep by staff (rename, merge
after a question, delete the unused), with the search finding the documents under the new name."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select

from app.documents import correspondents, metadata
from app.documents.models import Correspondent, Document
from app.extensions import db
from app.ops.models import AuditEvent
from app.search import indexer
from app.search.models import SearchOutbox
from tests.integration.test_labels import FormAudit
from tests.integration.test_search_index import found
from tests.integration.test_search_index import make_document as search_index_document


def _file(document_id: int, correspondent: str, document_date: str = "") -> None:
    """Give a document a correspondent (and a date) through the details service, as a person saving the form."""
    details = metadata.read_details(title="", document_date=document_date, correspondent=correspondent, tags="")
    metadata.update_details(document_id, details, user_id=None)


def _trash(document_id: int) -> None:
    db.session.get(Document, document_id).deleted_at = datetime.now(UTC)
    db.session.commit()


def _scene(app) -> dict[str, int]:
    """Valley Mills: two documents and one in the trash; Hill Farm: one; Unused Ltd: none. Indexed."""
    with app.app_context():
        mills_a = search_index_document("a.txt", "sacks of flour")
        mills_b = search_index_document("b.txt", "more sacks of flour")
        mills_gone = search_index_document("c.txt", "old sacks")
        farm = search_index_document("d.txt", "crates of apples")
        _file(mills_a, "Valley Mills", "2024-04-12")
        _file(mills_b, "Valley Mills", "2024-06-30")
        _file(mills_gone, "Valley Mills", "2025-01-01")
        _file(farm, "Hill Farm")
        _trash(mills_gone)
        db.session.add(Correspondent(name="Unused Ltd", name_key="unused ltd"))
        db.session.commit()
        indexer.drain()
        ids = dict(db.session.execute(select(Correspondent.name, Correspondent.id)).all())
        return {
            "mills": ids["Valley Mills"],
            "farm": ids["Hill Farm"],
            "unused": ids["Unused Ltd"],
            "mills_a": mills_a,
            "mills_b": mills_b,
            "mills_gone": mills_gone,
            "farm_doc": farm,
        }


def _written(app) -> tuple:
    """What a refused change must leave as it was: the correspondents, who each document names, their audit rows
    (signing in and out writes others), the search outbox."""
    with app.app_context():
        names = tuple(db.session.execute(select(Correspondent.id, Correspondent.name).order_by(Correspondent.id)))
        named = tuple(db.session.execute(select(Document.id, Document.correspondent_id).order_by(Document.id)))
        audits = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action.like("correspondent.%")))
        outbox = db.session.scalar(select(func.count(SearchOutbox.id)))
        return names, named, audits, outbox


def _rows(page: str) -> list[str]:
    return [chunk.split("</a>")[0] for chunk in page.split('data-testid="correspondent-link">')[1:]]


# ---------------------------------------------------------------- the list


def test_everyone_sees_each_correspondent_with_its_documents_counted_and_the_newest_date(app, client, auth):
    ids = _scene(app)
    auth.login_as("viewer")
    response = client.get("/documents/correspondents")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _rows(page) == ["Hill Farm", "Unused Ltd", "Valley Mills"]  # by name
    assert "3 correspondents." in page
    mills = page.split('data-testid="correspondent-link">Valley Mills')[1].split("</tr>")[0]
    assert 'data-testid="correspondent-documents">2<' in mills  # the one in the trash is not in the list it opens
    assert "+1 in the trash" in mills
    assert "2024-06-30" in mills  # the newest date among the documents the link shows, not the trashed 2025 one
    assert f'href="/documents?correspondent={ids["mills"]}"' in page
    assert 'data-testid="rename"' not in page  # viewers read, staff keep the list
    assert 'data-testid="delete"' not in page
    listed = client.get(f"/documents?correspondent={ids['mills']}").get_data(as_text=True)
    assert listed.count('data-testid="doc-link"') == 2  # the count is what the link shows


def test_the_list_is_counted_in_one_query_however_many_correspondents(app, client, auth):
    with app.app_context():
        for n in range(30):
            _file(search_index_document(f"n{n}.txt", "text"), f"Supplier {n:02d}")
        engine = db.engine
    auth.login_as("viewer")
    statements: list[str] = []

    def note(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get("/documents/correspondents").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    grouped = [s for s in statements if "FROM correspondents" in s and "GROUP BY" in s]
    assert len(grouped) == 1
    assert len(statements) < 15  # not one per row


def test_find_narrows_the_list_and_the_csv_holds_the_same_rows(app, client, auth):
    _scene(app)
    auth.login_as("viewer")
    page = client.get("/documents/correspondents?q=valley").get_data(as_text=True)
    assert _rows(page) == ["Valley Mills"]
    assert "3 correspondents, 1 shown." in page
    assert 'href="/documents/correspondents.csv?q=valley"' in page
    assert "Hill Farm" in client.get("/documents/correspondents?q=FARM", htmx=True).get_data(as_text=True)
    export = client.get("/documents/correspondents.csv?q=valley")
    assert export.status_code == 200
    assert export.headers["Content-Disposition"] == 'attachment; filename="correspondents.csv"'
    table = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [(r["name"], r["documents"], r["in_trash"], r["latest_document_date"]) for r in table] == [
        ("Valley Mills", "2", "1", "2024-06-30")
    ]
    assert list(table[0]) == correspondents.CSV_COLUMNS
    everything = list(csv.DictReader(io.StringIO(client.get("/documents/correspondents.csv").get_data(as_text=True))))
    assert [r["name"] for r in everything] == ["Hill Farm", "Unused Ltd", "Valley Mills"]


def test_a_long_list_is_paged(app, client, auth):
    with app.app_context():
        db.session.add_all(Correspondent(name=f"Firm {n:03d}", name_key=f"firm {n:03d}") for n in range(105))
        db.session.commit()
    auth.login_as("viewer")
    first = client.get("/documents/correspondents").get_data(as_text=True)
    assert len(_rows(first)) == 100
    assert "Page 1 of 2" in first
    second = client.get("/documents/correspondents?page=2").get_data(as_text=True)
    assert _rows(second) == [f"Firm {n:03d}" for n in range(100, 105)]


def test_the_documents_list_and_a_document_page_link_to_the_list(app, client, auth):
    ids = _scene(app)
    auth.login_as("viewer")
    assert 'href="/documents/correspondents"' in client.get("/documents").get_data(as_text=True)
    assert 'href="/documents/correspondents"' in client.get(f"/documents/{ids['mills_a']}").get_data(as_text=True)


def test_every_input_of_the_pages_has_a_label_and_every_button_words(app, client, auth):
    ids = _scene(app)
    auth.login_as("staff")
    pages = [
        client.get("/documents/correspondents"),
        client.get(f"/documents/correspondents/{ids['mills']}/rename"),
        client.get(f"/documents/correspondents/{ids['unused']}/delete"),
        client.post(f"/documents/correspondents/{ids['mills']}/rename", data={"name": "Hill Farm"}),  # the question
    ]
    for response in pages:
        audit = FormAudit()
        audit.feed(response.get_data(as_text=True))
        assert [field for field in audit.fields if field not in audit.labels] == [], response.request.path
        assert all(audit.buttons), response.request.path


# ---------------------------------------------------------------- rename


def test_staff_rename_a_correspondent_and_the_search_finds_its_documents_under_the_new_name(app, client, auth):
    ids = _scene(app)
    staff = auth.login_as("staff")
    page = client.get("/documents/correspondents").get_data(as_text=True)
    assert f'href="/documents/correspondents/{ids["mills"]}/rename"' in page
    form = client.get(f"/documents/correspondents/{ids['mills']}/rename").get_data(as_text=True)
    assert 'value="Valley Mills"' in form
    assert '<label for="correspondent-name">' in form
    response = client.post(f"/documents/correspondents/{ids['mills']}/rename", data={"name": "  Valley  Mills Ltd "})
    assert response.status_code == 303
    assert "Valley Mills is now called Valley Mills Ltd." in client.get("/documents/correspondents").get_data(
        as_text=True
    )
    with app.app_context():
        renamed = db.session.get(Correspondent, ids["mills"])
        assert (renamed.name, renamed.name_key) == ("Valley Mills Ltd", "valley mills ltd")
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "correspondent.rename"))
        assert audit.actor_id == staff.id
        assert audit.before == {"name": "Valley Mills"}
        assert audit.after["name"] == "Valley Mills Ltd"
        indexer.drain()
        assert sorted(found('correspondent:"Valley Mills Ltd"')) == sorted([ids["mills_a"], ids["mills_b"]])
        assert found('correspondent:"Valley Mills"') == []
        assert indexer.verify().stale == []


def test_a_change_of_case_is_a_rename_and_the_same_name_changes_nothing(app, client, auth):
    ids = _scene(app)
    auth.login_as("staff")
    assert client.post(f"/documents/correspondents/{ids['farm']}/rename", data={"name": "HILL FARM"}).status_code == 303
    with app.app_context():
        assert db.session.get(Correspondent, ids["farm"]).name == "HILL FARM"
    before = _written(app)
    response = client.post(f"/documents/correspondents/{ids['farm']}/rename", data={"name": "HILL FARM"})
    assert response.status_code == 303
    assert "already had that name; nothing changed" in client.get("/documents/correspondents").get_data(as_text=True)
    assert _written(app) == before


# ---------------------------------------------------------------- merge


def test_renaming_to_another_correspondents_name_asks_first_then_merges_and_search_follows(app, client, auth):
    ids = _scene(app)
    staff = auth.login_as("staff")
    before = _written(app)
    question = client.post(f"/documents/correspondents/{ids['mills']}/rename", data={"name": "hill farm"})
    assert question.status_code == 200
    page = question.get_data(as_text=True)
    assert "3 documents of Valley Mills will name Hill Farm (1 of them in the trash)" in " ".join(page.split())
    assert "Valley Mills disappears from the list" in page
    assert f'name="merge_into" value="{ids["farm"]}"' in page
    assert _written(app) == before  # asking writes nothing

    merged = client.post(
        f"/documents/correspondents/{ids['mills']}/rename", data={"name": "Hill Farm", "merge_into": str(ids["farm"])}
    )
    assert merged.status_code == 303
    listing = client.get("/documents/correspondents").get_data(as_text=True)
    assert "3 documents of Valley Mills now name Hill Farm; Valley Mills is gone." in listing
    assert _rows(listing) == ["Hill Farm", "Unused Ltd"]
    with app.app_context():
        assert db.session.get(Correspondent, ids["mills"]) is None
        moved = [ids["mills_a"], ids["mills_b"], ids["mills_gone"], ids["farm_doc"]]
        assert {db.session.get(Document, i).correspondent_id for i in moved} == {ids["farm"]}
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "correspondent.merge"))
        assert audit.actor_id == staff.id
        assert audit.target_id == str(ids["farm"])
        assert audit.before == {"merged_id": ids["mills"], "merged_name": "Valley Mills"}
        assert audit.after["documents_moved"] == 3
        indexer.drain()
        everything = [ids["mills_a"], ids["mills_b"], ids["farm_doc"]]
        assert sorted(found('correspondent:"Hill Farm"')) == sorted(everything)
        assert found('correspondent:"Valley Mills"') == []
        assert indexer.verify().stale == []
    farm_row = listing.split('data-testid="correspondent-link">Hill Farm')[1].split("</tr>")[0]
    assert 'data-testid="correspondent-documents">3<' in farm_row


def test_a_merge_into_a_correspondent_renamed_meanwhile_is_refused(app, client, auth):
    ids = _scene(app)
    auth.login_as("staff")
    with app.app_context():
        db.session.get(Correspondent, ids["farm"]).name = "Hill Farm & Sons"
        db.session.get(Correspondent, ids["farm"]).name_key = "hill farm & sons"
        db.session.commit()
        with pytest.raises(correspondents.CorrespondentInUse, match="called Hill Farm & Sons now"):
            correspondents.merge(ids["mills"], ids["farm"], expected_name="Hill Farm", user_id=None)
    before = _written(app)
    # The form of the old question, posted now: the name is nobody's, so it is a plain rename, never a merge.
    client.post(
        f"/documents/correspondents/{ids['unused']}/rename", data={"name": "Hill Farm", "merge_into": str(ids["farm"])}
    )
    names, named, _, _ = _written(app)
    assert named == before[1]
    assert "Hill Farm & Sons" in dict(names).values()
    assert "Hill Farm" in dict(names).values()  # Unused Ltd, renamed


def test_the_rename_service_refuses_another_correspondents_name_without_the_merge(app):
    ids = _scene(app)
    with app.app_context(), pytest.raises(correspondents.CorrespondentInUse, match="merges the two"):
        correspondents.rename(ids["mills"], "Hill farm", user_id=None)


# ---------------------------------------------------------------- delete


def test_staff_delete_a_correspondent_no_document_names_after_a_question(app, client, auth):
    ids = _scene(app)
    staff = auth.login_as("staff")
    page = client.get("/documents/correspondents").get_data(as_text=True)
    assert page.count('data-testid="delete"') == 1
    assert f'href="/documents/correspondents/{ids["unused"]}/delete"' in page
    question = client.get(f"/documents/correspondents/{ids['unused']}/delete").get_data(as_text=True)
    assert "Delete Unused Ltd?" in question
    assert client.post(f"/documents/correspondents/{ids['unused']}/delete").status_code == 303
    assert "Unused Ltd was deleted" in client.get("/documents/correspondents").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Correspondent, ids["unused"]) is None
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "correspondent.delete"))
        assert (audit.actor_id, audit.before) == (staff.id, {"name": "Unused Ltd"})


def test_a_correspondent_named_by_documents_even_in_the_trash_is_not_deleted(app, client, auth):
    ids = _scene(app)
    with app.app_context():
        _trash(ids["farm_doc"])  # Hill Farm is now named only by a document in the trash
    auth.login_as("staff")
    question = client.get(f"/documents/correspondents/{ids['mills']}/delete").get_data(as_text=True)
    assert 'data-testid="confirm"' not in question
    assert "2 documents and 1 in the trash still name Valley Mills" in " ".join(question.split())
    before = _written(app)
    for key, sentence in (("mills", "still named by 2 documents and 1 in the trash"), ("farm", "1 in the trash")):
        response = client.post(f"/documents/correspondents/{ids[key]}/delete")
        assert response.status_code == 409
        assert sentence in response.get_data(as_text=True)
    assert _written(app) == before


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("n" * 201, "The name is 201 characters long; a correspondent"),
    ],
)
def test_an_empty_or_long_name_is_refused_with_a_sentence_and_nothing_written(app, client, auth, name, sentence):
    ids = _scene(app)
    auth.login_as("staff")
    before = _written(app)
    response = client.post(f"/documents/correspondents/{ids['mills']}/rename", data={"name": name})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert sentence in page
    assert 'aria-invalid="true"' in page  # the form again, the field marked
    assert _written(app) == before


def test_a_name_of_exactly_200_characters_fits(app, client, auth):
    ids = _scene(app)
    auth.login_as("staff")
    assert client.post(f"/documents/correspondents/{ids['farm']}/rename", data={"name": "n" * 200}).status_code == 303


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "rename"), ("post", "rename"), ("get", "delete"), ("post", "delete")],
)
def test_an_unknown_correspondent_is_a_404_with_a_sentence(app, client, auth, method, path):
    _scene(app)
    auth.login_as("staff")
    before = _written(app)
    response = getattr(client, method)(f"/documents/correspondents/999/{path}", data={"name": "X"})
    assert response.status_code == 404
    assert "There is no correspondent number 999." in response.get_data(as_text=True)
    assert _written(app) == before


def test_viewers_are_refused_every_change_and_a_post_without_its_token_is_refused(app, client, auth):
    ids = _scene(app)
    auth.login_as("viewer")
    before = _written(app)
    assert client.get(f"/documents/correspondents/{ids['mills']}/rename").status_code == 403
    assert client.post(f"/documents/correspondents/{ids['mills']}/rename", data={"name": "Mine"}).status_code == 403
    merge = {"name": "Hill Farm", "merge_into": str(ids["farm"])}
    assert client.post(f"/documents/correspondents/{ids['mills']}/rename", data=merge).status_code == 403
    assert client.post(f"/documents/correspondents/{ids['unused']}/delete").status_code == 403
    auth.logout()
    auth.login_as("staff")
    refused = client.post(f"/documents/correspondents/{ids['mills']}/rename", data={"name": "Mine"}, csrf=False)
    assert refused.status_code == 400
    assert client.post(f"/documents/correspondents/{ids['unused']}/delete", csrf=False).status_code == 400
    assert _written(app) == before


def test_the_newest_date_is_empty_for_a_correspondent_without_dated_documents(app):
    ids = _scene(app)
    with app.app_context():
        rows = {
            row.name: row
            for row in correspondents.rows(correspondents.correspondent_query(correspondents.CorrespondentFilter()))
        }
        assert rows["Hill Farm"].latest_date is None
        assert rows["Hill Farm"].latest_upload is not None
        assert rows["Valley Mills"].latest_date == date(2024, 6, 30)
        assert rows["Unused Ltd"].documents == 0
        assert rows["Unused Ltd"].deletable
        assert ids["unused"] == rows["Unused Ltd"].id
