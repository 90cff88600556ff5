"""Admins keep the list of document categories: seeded defaults, create, retire, bring back."""

from sqlalchemy import select

from app.classify.models import Category, ModelVersion
from app.extensions import db
from app.ops.models import AuditEvent


def _names(app, active_only=False):
    with app.app_context():
        query = select(Category.name).order_by(Category.name)
        if active_only:
            query = query.where(Category.active.is_(True))
        return list(db.session.scalars(query))


def test_seeding_adds_the_defaults_once(app, runner):
    first = runner.invoke(args=["categories", "seed"])
    assert "10 default categories added; 10 in all." in first.output
    again = runner.invoke(args=["categories", "seed"])
    assert "0 default categories added; 10 in all." in again.output
    assert {"invoice", "credit note", "purchase order", "delivery note", "certificate", "other"} <= set(_names(app))


def test_cli_create_list_deactivate(app, runner):
    assert runner.invoke(args=["categories", "create", "Customs Form", "--description", "Import papers"]).exit_code == 0
    duplicate = runner.invoke(args=["categories", "create", "customs   form"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    assert runner.invoke(args=["categories", "deactivate", "customs form"]).exit_code == 0
    assert "customs form" not in _names(app, active_only=True)
    listing = runner.invoke(args=["categories", "list"]).output
    assert "customs form" in listing
    assert "(inactive)" in listing
    assert runner.invoke(args=["categories", "deactivate", "nothing like it"]).exit_code == 1


def test_admin_page_adds_and_retires_categories(app, client, auth):
    auth.login_as("admin")
    created = client.post("/admin/categories", data={"name": "Customs form", "description": "", "colour": "#112233"})
    assert created.status_code == 303
    with app.app_context():
        category_id = db.session.scalar(select(Category.id).where(Category.name == "customs form"))
    bad = client.post("/admin/categories", data={"name": "x", "colour": "red"})
    assert bad.status_code == 400
    assert "A colour like #2563eb." in bad.get_data(as_text=True)
    assert client.post(f"/admin/categories/{category_id}/deactivate").status_code == 303
    assert "customs form" not in _names(app, active_only=True)
    assert client.post(f"/admin/categories/{category_id}/activate").status_code == 303
    assert "customs form" in _names(app, active_only=True)


def test_staff_cannot_manage_categories(app, client, auth):
    auth.login_as("staff")
    assert client.get("/admin/categories").status_code == 403
    assert client.post("/admin/categories", data={"name": "sneaky", "colour": "#000000"}).status_code == 403
    assert _names(app) == []


def test_only_one_model_version_can_be_active(app):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        for number in (1, 2):
            db.session.add(
                ModelVersion(filename=f"m{number}.onnx", sha256="0" * 64, training_size=1, metrics={}, active=True)
            )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_an_admin_changes_a_categorys_description_and_colour_and_it_is_audited(app, client, auth):
    auth.login_as("admin")
    client.post("/admin/categories", data={"name": "Customs form", "description": "Import papers", "colour": "#112233"})
    with app.app_context():
        category_id = db.session.scalar(select(Category.id).where(Category.name == "customs form"))
    page = client.get(f"/admin/categories/{category_id}/edit").get_data(as_text=True)
    assert 'value="Import papers"' in page
    saved = client.post(
        f"/admin/categories/{category_id}/edit",
        data={"description": "Papers for goods from abroad", "colour": "#AA0000"},
    )
    assert saved.status_code == 303
    listing = client.get("/admin/categories").get_data(as_text=True)
    assert "Papers for goods from abroad" in listing
    assert 'fill="#aa0000"' in listing  # the swatch shows the new colour
    with app.app_context():
        category = db.session.get(Category, category_id)
        assert (category.name, category.colour) == ("customs form", "#aa0000")  # the name the models answer with stays
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "category.update"))
        assert event.before == {"description": "Import papers", "colour": "#112233"}
        assert event.after == {"description": "Papers for goods from abroad", "colour": "#aa0000"}


def test_a_bad_colour_is_refused_with_a_sentence_and_changes_nothing(app, client, auth):
    auth.login_as("admin")
    client.post("/admin/categories", data={"name": "Customs form", "description": "Import papers", "colour": "#112233"})
    with app.app_context():
        category_id = db.session.scalar(select(Category.id).where(Category.name == "customs form"))
    refused = client.post(f"/admin/categories/{category_id}/edit", data={"description": "New", "colour": "red"})
    assert refused.status_code == 400
    assert "A colour like #2563eb." in refused.get_data(as_text=True)
    assert client.get("/admin/categories/999999/edit").status_code == 404
    with app.app_context():
        category = db.session.get(Category, category_id)
        assert (category.description, category.colour) == ("Import papers", "#112233")
