"""Times are stored in UTC and shown in the reader's own time zone (their account setting, or their browser's)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.auth.models import User
from app.classify.models import TrainingRun
from app.db_types import utcnow
from app.extensions import db
from app.ops.models import AuditEvent
from tests.conftest import PASSWORD
from tests.support.factories import make_document

WINTER_UPLOAD = datetime(2026, 12, 1, 16, 46, 5, tzinfo=UTC)  # Berlin is on CET, UTC+1
SUMMER_UPLOAD = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)  # Berlin is on CEST, UTC+2


def _zone_of(app, user) -> str | None:
    with app.app_context():
        return db.session.get(User, user.id).time_zone


def _zone_changes(app) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.time_zone"))
        return [(event.actor_id, event.before, event.after, event.summary) for event in events]


def _documents(app) -> tuple[int, int]:
    with app.app_context():
        winter = make_document(text="Invoice", filename="winter-invoice.txt", uploaded_at=WINTER_UPLOAD)
        summer = make_document(text="Invoice", filename="summer-invoice.txt", uploaded_at=SUMMER_UPLOAD)
        db.session.commit()
        return winter.id, summer.id


def test_a_reader_in_berlin_sees_upload_times_on_berlin_clocks(app, client, auth):
    winter, summer = _documents(app)
    auth.login_as("viewer")
    client.post("/account", data={"display_name": "", "time_zone": "Europe/Berlin"})

    listing = client.get("/documents").get_data(as_text=True)
    assert "Uploaded (Europe/<wbr>Berlin)" in listing
    assert "2026-12-01 17:46" in listing  # an hour ahead of UTC in winter
    assert "2026-07-01 11:30" in listing  # two hours ahead in summer
    assert "2026-12-01 16:46" not in listing

    page = client.get(f"/documents/{winter}").get_data(as_text=True)
    assert "2026-12-01 17:46:05 CET by" in page
    assert "16:46:05" not in page
    assert "2026-07-01 11:30:00 CEST by" in client.get(f"/documents/{summer}").get_data(as_text=True)


def test_a_reader_who_has_not_chosen_a_zone_reads_utc(app, client, auth):
    winter, _ = _documents(app)
    auth.login_as("viewer")  # signs in without a browser zone, as a browser without script does
    listing = client.get("/documents").get_data(as_text=True)
    assert "Uploaded (UTC)" in listing
    assert "2026-12-01 16:46" in listing
    assert "2026-12-01 16:46:05 UTC by" in client.get(f"/documents/{winter}").get_data(as_text=True)


def test_choosing_a_zone_on_the_account_page_is_saved_and_audited(app, client, auth):
    user = auth.login_as("staff")
    page = client.get("/account").get_data(as_text=True)
    assert '<label for="time_zone">Time zone</label>' in page
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in page
    assert "until you choose one, in UTC" in page

    saved = client.post("/account", data={"display_name": "", "time_zone": "Europe/Berlin"})
    assert saved.status_code == 303
    assert _zone_of(app, user) == "Europe/Berlin"
    assert _zone_changes(app) == [
        (user.id, {"time_zone": None}, {"time_zone": "Europe/Berlin"}, f"{user.email} now reads times in Europe/Berlin")
    ]
    assert '<option selected value="Europe/Berlin">Europe/Berlin</option>' in client.get("/account").get_data(
        as_text=True
    )

    client.post("/account", data={"display_name": "", "time_zone": "Europe/Berlin"})  # saved again unchanged
    client.post("/account", data={"display_name": ""})  # a form without the field keeps the zone
    assert len(_zone_changes(app)) == 1
    client.post("/account", data={"display_name": "", "time_zone": ""})  # back to "not chosen"
    assert _zone_of(app, user) is None
    assert _zone_changes(app)[-1][2:] == ({"time_zone": None}, f"{user.email} cleared their time zone")


def test_an_unknown_zone_is_refused_with_a_message_and_nothing_is_written(app, client, auth):
    user = auth.login_as("staff")
    client.post("/account", data={"display_name": "", "time_zone": "Asia/Tokyo"})
    for bad in ("Mars/Olympus_Mons", "localtime", "europe/berlin", "Europe/Berlin/../../etc", "x" * 300):
        refused = client.post("/account", data={"display_name": "Ana", "time_zone": bad})
        assert refused.status_code == 400
        assert "is not a time zone: choose one from the list." in refused.get_data(as_text=True)
    assert _zone_of(app, user) == "Asia/Tokyo"
    with app.app_context():
        assert db.session.get(User, user.id).display_name is None  # the rest of the form was not saved either
    assert len(_zone_changes(app)) == 1


def test_sign_in_takes_the_browsers_zone_once_and_never_replaces_a_chosen_one(app, client, make_user):
    user = make_user("staff")

    def sign_in(zone: str) -> None:
        client.post("/logout")
        response = client.post("/login", data={"email": user.email, "password": PASSWORD, "time_zone": zone})
        assert response.status_code == 303

    sign_in("Not/A_Zone")  # ignored: the person still signs in, and reads UTC
    assert _zone_of(app, user) is None
    sign_in("America/New_York")
    assert _zone_of(app, user) == "America/New_York"
    assert (
        _zone_changes(app)[0][3] == f"{user.email} now reads times in America/New_York (from their browser at sign-in)"
    )

    sign_in("Asia/Tokyo")  # travelling: the zone stays what it was
    assert _zone_of(app, user) == "America/New_York"
    client.post("/account", data={"display_name": "", "time_zone": "Europe/Lisbon"})
    sign_in("America/New_York")  # a chosen zone is never replaced by a browser's
    assert _zone_of(app, user) == "Europe/Lisbon"
    assert len(_zone_changes(app)) == 2


def test_the_sign_in_form_carries_an_empty_field_for_the_browser_to_fill(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'data-browser-time-zone="" id="time_zone" name="time_zone" type="hidden" value=""' in page
    assert "<script>" not in page  # filled by static/js/app.js, never inline (CSP)


def test_a_viewer_sets_their_own_zone(app, client, auth):
    viewer = auth.login_as("viewer")
    assert client.post("/account", data={"display_name": "", "time_zone": "Australia/Sydney"}).status_code == 303
    assert _zone_of(app, viewer) == "Australia/Sydney"


def test_the_retraining_schedule_sentence_is_in_the_readers_zone(app, client, auth):
    with app.app_context():
        app.config.update(RETRAIN_EVERY_HOURS=24.0, RETRAIN_MIN_REVIEWS=0)
        last = utcnow().replace(microsecond=0) - timedelta(hours=1)
        db.session.add(
            TrainingRun(trigger="manual", state="finished", progress=100, requested_at=last, finished_at=last)
        )
        db.session.commit()
    auth.login_as("admin")
    client.post("/account", data={"display_name": "", "time_zone": "Asia/Kolkata"})
    page = client.get("/admin/models").get_data(as_text=True)
    in_kolkata = last.astimezone(ZoneInfo("Asia/Kolkata"))
    due = in_kolkata + timedelta(hours=24)
    assert f"the last training was at {in_kolkata:%Y-%m-%d %H:%M} IST" in page
    assert f"so the next is due after {due:%Y-%m-%d %H:%M} IST." in page
    assert f"Training finished {in_kolkata:%Y-%m-%d %H:%M} IST" in page


def test_times_are_stored_in_utc_whatever_the_readers_zone(app, client, auth):
    auth.login_as("staff")
    client.post("/account", data={"display_name": "", "time_zone": "Pacific/Auckland"})
    before = utcnow()
    client.post("/account", data={"display_name": "Kiri"})  # writes an audit row stamped now
    with app.app_context():
        stamped = db.session.scalar(select(func.max(AuditEvent.at)))
    assert stamped.utcoffset() == timedelta(0)
    assert abs(stamped - before) < timedelta(minutes=1)
