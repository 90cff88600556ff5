"""A person's own account page: the name pages call them by."""

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.ops.models import AuditEvent


def test_a_person_sets_the_name_pages_and_lists_call_them(app, client, auth):
    user = auth.login_as("staff")
    saved = client.post("/account", data={"display_name": "  Ana \x07 Lima  "})
    assert saved.status_code == 303
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert (stored.display_name, stored.name) == ("Ana Lima", "Ana Lima")  # spaces folded, control codes gone
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.display_name"))
        assert (event.before, event.after) == ({"display_name": None}, {"display_name": "Ana Lima"})
    assert 'value="Ana Lima"' in client.get("/account").get_data(as_text=True)
    auth.logout()
    auth.login_as("admin")
    assert "Ana Lima" in client.get("/admin/users").get_data(as_text=True)


def test_an_empty_name_falls_back_to_the_email_and_a_long_one_is_refused(app, client, auth):
    user = auth.login_as("viewer")
    client.post("/account", data={"display_name": "Bo"})
    refused = client.post("/account", data={"display_name": "x" * 81})
    assert refused.status_code == 400
    assert "At most 80 characters." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).display_name == "Bo"  # nothing written
    client.post("/account", data={"display_name": ""})
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.display_name is None
        assert stored.name == user.email.split("@")[0]


def test_the_start_page_greets_a_person_by_their_display_name(client, auth):
    user = auth.login_as("staff")
    assert f"Good to see you, {user.email.split('@')[0]}" in client.get("/").get_data(as_text=True)
    client.post("/account", data={"display_name": "Ana"})
    assert "Good to see you, Ana" in client.get("/").get_data(as_text=True)
