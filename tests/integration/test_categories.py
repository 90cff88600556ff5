"""Admins keep the list of document categories: seeded defaults, create, retire, bring back."""

from sqlalchemy import select

from app.classify.models import Category, ModelVersion
from app.extensions import db


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
