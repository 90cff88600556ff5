"""Admins read the audit log, filter it, and download what they see as CSV."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from app.extensions import db
from app.ops.models import AuditEvent


def test_changes_appear_in_the_audit_log_with_who_and_what(client, auth, make_user):
    admin = auth.login_as("admin")
    target = make_user("viewer", email="promoted@example.com")
    client.post(f"/admin/users/{target.id}/role", data={"role": "staff"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Changed promoted@example.com from viewer to staff" in page
    assert admin.email in page


def test_filters_by_action_and_by_actor(client, auth, make_user):
    admin = auth.login_as("admin")
    target = make_user("viewer", email="filtered@example.com")
    client.post(f"/admin/users/{target.id}/role", data={"role": "staff"})

    by_action = client.get("/admin/audit?action=user.set_role").get_data(as_text=True)
    assert "Changed filtered@example.com" in by_action
    assert "signed in" not in by_action

    by_system = client.get("/admin/audit?actor=system").get_data(as_text=True)
    assert "Created filtered@example.com" in by_system  # make_user acts as the system
    assert "Changed filtered@example.com" not in by_system

    by_admin = client.get(f"/admin/audit?actor={admin.id}").get_data(as_text=True)
    assert "Changed filtered@example.com" in by_admin
    assert "Created filtered@example.com" not in by_admin


def test_filters_by_date(app, client, auth, make_user):
    auth.login_as("admin")
    old = make_user("viewer", email="old.entry@example.com")
    with app.app_context():
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.target_id == str(old.id))
            .values(at=datetime.now(UTC) - timedelta(days=40))
        )
        db.session.commit()
    today = datetime.now(UTC).date()
    recent = client.get(f"/admin/audit?since={today - timedelta(days=7)}").get_data(as_text=True)
    assert "Created old.entry@example.com" not in recent
    older = client.get(f"/admin/audit?until={today - timedelta(days=30)}").get_data(as_text=True)
    assert "Created old.entry@example.com" in older


def test_htmx_filtering_returns_only_the_results(client, auth):
    auth.login_as("admin")
    response = client.get("/admin/audit?action=auth.login", htmx=True)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="audit-results">')
    assert "<html" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_a_malformed_date_is_a_400_with_a_message(client, auth):
    auth.login_as("admin")
    response = client.get("/admin/audit?since=yesterday-ish")
    assert response.status_code == 400
    assert "Some filters are not valid" in response.get_data(as_text=True)
    assert client.get("/admin/audit.csv?since=yesterday-ish").status_code == 400


def test_csv_export_uses_the_same_filters(client, auth, make_user):
    auth.login_as("admin")
    target = make_user("viewer", email="exported@example.com")
    client.post(f"/admin/users/{target.id}/role", data={"role": "staff"})
    response = client.get("/admin/audit.csv?action=user.set_role")
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == '"time","who","action","target_type","target_id","summary","request_id","ip"'  # all quoted
    assert len(lines) == 2
    assert '","user.set_role","user","' in lines[1]


def test_the_log_is_paginated(app, client, auth):
    auth.login_as("admin")
    with app.app_context():
        from app.ops import audit

        for i in range(60):
            audit.record("test.bulk", target_type="thing", target_id=i, summary=f"bulk event {i}", actor_id=None)
        db.session.commit()
    first = client.get("/admin/audit?action=test.bulk").get_data(as_text=True)
    assert "60 events." in first
    assert "Page 1 of 2" in first
    second = client.get("/admin/audit?action=test.bulk&page=2").get_data(as_text=True)
    assert "bulk event 0<" in second
    assert "bulk event 59<" not in second
