"""The alerts page, the bell and notifications, the account setting and `flask alerts`, as people use them."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select, text

from app.extensions import db
from app.notify.models import Notification
from app.stock import alerts
from app.stock.ledger import add_stock, remove_stock
from app.stock.models import StockAlert
from tests.support.factories import make_product


def _product(sku: str, *, on_hand: int, threshold: int, reorder: int = 0) -> int:
    return make_product(sku, name=f"Name of {sku}", on_hand=on_hand, threshold=threshold, reorder=reorder)


def _low_and_restored(app) -> dict[str, int]:
    """OPEN-1 low now (2 of 5), CLOSED-1 low once and restored, FINE-1 never low."""
    with app.app_context():
        ids = {
            "OPEN-1": _product("OPEN-1", on_hand=10, threshold=5, reorder=24),
            "CLOSED-1": _product("CLOSED-1", on_hand=10, threshold=5),
            "FINE-1": _product("FINE-1", on_hand=10, threshold=5),
        }
        remove_stock(ids["OPEN-1"], 8, user_id=None)
        remove_stock(ids["CLOSED-1"], 8, user_id=None)
        add_stock(ids["CLOSED-1"], 20, user_id=None)
        return ids


def test_the_alerts_page_lists_open_alerts_first_with_how_short_and_then_closed_ones(app, client, auth):
    auth.login_as("viewer")
    _low_and_restored(app)
    page = client.get("/alerts").get_data(as_text=True)
    assert page.index('data-sku="OPEN-1"') < page.index('data-sku="CLOSED-1"')
    assert 'data-sku="FINE-1"' not in page
    assert '<strong data-testid="open-count">1</strong>' in page
    open_row = page[page.index('data-sku="OPEN-1"') :].split("</tr>")[0]
    assert "<strong>2</strong> / 5 pcs" in open_row  # on hand vs threshold
    assert 'data-label="Short by" title="Units needed to be above the threshold again">4</td>' in open_row
    assert '<td class="num" data-label="Reorder">24</td>' in open_row
    closed_row = page[page.index('data-sku="CLOSED-1"') :].split("</tr>")[0]
    assert "restored" in closed_row
    assert "(to 22)" in closed_row
    assert 'data-testid="acknowledge"' not in page  # viewers look; staff act

    home = client.get("/").get_data(as_text=True)
    assert "<strong>1</strong> product is low on stock" in home  # the start page links to them
    assert 'href="/alerts?status=open"' in home

    only_open = client.get("/alerts?status=open").get_data(as_text=True)
    assert 'data-sku="OPEN-1"' in only_open
    assert 'data-sku="CLOSED-1"' not in only_open
    by_name = client.get("/alerts?q=closed").get_data(as_text=True)
    assert 'data-sku="CLOSED-1"' in by_name
    assert 'data-sku="OPEN-1"' not in by_name


def test_the_alerts_csv_holds_what_the_page_shows(app, client, auth):
    auth.login_as("viewer")
    _low_and_restored(app)
    response = client.get("/alerts.csv?status=open")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["sku"], r["status"], r["on_hand_now"], r["short_by"]) for r in rows] == [("OPEN-1", "open", "2", "4")]
    everything = list(csv.DictReader(io.StringIO(client.get("/alerts.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["sku"] for r in everything] == ["OPEN-1", "CLOSED-1"]


def test_bad_filters_get_a_message_and_a_400_never_a_500(app, client, auth):
    auth.login_as("viewer")
    response = client.get("/alerts?since=not-a-date&status=sideways")
    assert response.status_code == 400
    assert "Some filters are not valid" in response.get_data(as_text=True)
    assert client.get("/alerts.csv?since=yesterday").status_code == 400


def test_staff_acknowledge_an_alert_and_everyone_sees_who(app, client, auth):
    user = auth.login_as("staff")
    ids = _low_and_restored(app)
    with app.app_context():
        alert_id = db.session.scalar(select(StockAlert.id).where(StockAlert.product_id == ids["OPEN-1"]))
    response = client.post(f"/alerts/{alert_id}/acknowledge", htmx=True)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith(f'<tr id="alert-{alert_id}"')
    assert f'<span data-testid="acknowledged">{user.email}</span>' in fragment
    assert client.post(f"/alerts/{alert_id}/acknowledge").status_code == 303  # twice is fine
    with app.app_context():
        closed_id = db.session.scalar(select(StockAlert.id).where(StockAlert.product_id == ids["CLOSED-1"]))
    assert client.post(f"/alerts/{closed_id}/acknowledge").status_code == 409
    assert client.post("/alerts/999999/acknowledge").status_code == 404
    assert client.post(f"/alerts/{alert_id}/acknowledge", csrf=False).status_code == 400


def test_viewers_cannot_acknowledge_or_run_the_check(app, client, auth):
    auth.login_as("viewer")
    ids = _low_and_restored(app)
    with app.app_context():
        alert_id = db.session.scalar(select(StockAlert.id).where(StockAlert.product_id == ids["OPEN-1"]))
    assert client.post(f"/alerts/{alert_id}/acknowledge").status_code == 403
    assert client.post("/alerts/check").status_code == 403
    with app.app_context():
        assert db.session.get(StockAlert, alert_id).acknowledged_at is None


def test_check_now_opens_what_changed_outside_the_service(app, client, auth):
    auth.login_as("staff")
    with app.app_context():
        product_id = _product("SQL-1", on_hand=10, threshold=5)
        db.session.execute(text("UPDATE products SET on_hand = 1 WHERE id = :id"), {"id": product_id})
        db.session.commit()
    response = client.post("/alerts/check", follow_redirects=True)
    assert "1 alert(s) opened" in response.get_data(as_text=True)
    assert 'data-sku="SQL-1"' in response.get_data(as_text=True)


def test_the_bell_counts_my_unread_notices_and_reading_them_clears_it(app, client, auth, make_user):
    me = auth.login_as("staff")
    other = make_user("staff")
    _low_and_restored(app)
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="bell-count">2<' in home  # two crossings, one notice each
    assert 'hx-trigger="every 15s' in client.get("/notifications/bell", htmx=True).get_data(as_text=True)

    with app.app_context():
        mine = list(db.session.scalars(select(Notification.id).where(Notification.user_id == me.id)))
        theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == other.id))
    response = client.post(f"/notifications/{mine[0]}/read", htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "notifications-changed"  # the bell refreshes itself
    assert 'data-testid="bell-count">1<' in client.get("/notifications/bell", htmx=True).get_data(as_text=True)
    assert client.post(f"/notifications/{theirs}/read").status_code == 404  # not mine to read

    listing = client.get("/notifications?show=unread").get_data(as_text=True)
    assert listing.count('data-testid="notice"') == 1
    client.post("/notifications/read-all")
    assert 'data-testid="bell-count"' not in client.get("/notifications/bell", htmx=True).get_data(as_text=True)
    with app.app_context():  # the other person's notice is untouched
        assert db.session.get(Notification, theirs).read_at is None


def test_the_account_page_turns_alert_emails_on_and_off(app, client, auth):
    user = auth.login_as("viewer")
    page = client.get("/account").get_data(as_text=True)
    assert "Email me when a product runs low on stock" in page
    assert "Email is off on this installation" in page
    client.post("/account", data={"alert_emails": "y"})
    with app.app_context():
        from app.auth.models import User

        assert db.session.get(User, user.id).alert_emails is True
    client.post("/account", data={})
    with app.app_context():
        assert db.session.get(User, user.id).alert_emails is False


def test_the_stock_list_shows_the_threshold_and_how_short_and_the_chart_draws_the_threshold(app, client, auth):
    auth.login_as("viewer")
    ids = _low_and_restored(app)
    listing = client.get("/stock").get_data(as_text=True)
    row = listing[listing.index('data-sku="OPEN-1"') :].split("</tr>")[0]
    assert '<td class="num" data-testid="threshold">5</td>' in row
    assert '<td class="num" data-testid="short-by">4</td>' in row
    low_only = client.get("/stock?low=y").get_data(as_text=True)
    assert 'data-sku="OPEN-1"' in low_only
    assert 'data-sku="FINE-1"' not in low_only
    product_page = client.get(f"/stock/products/{ids['OPEN-1']}").get_data(as_text=True)
    assert 'data-testid="threshold-line"' in product_page
    assert "Low-stock threshold 5." in product_page


def test_flask_alerts_check_and_list(app, runner):
    with app.app_context():
        product_id = _product("CLI-1", on_hand=10, threshold=5)
        db.session.execute(text("UPDATE products SET on_hand = 0 WHERE id = :id"), {"id": product_id})
        db.session.commit()
    result = runner.invoke(args=["alerts", "check"])
    assert result.exit_code == 0, result.output
    assert "opened  CLI-1" in result.output
    assert "1 opened, 0 closed" in result.output
    again = runner.invoke(args=["alerts", "check"])
    assert "0 opened, 0 closed, 0 noticed; 1 open now." in again.output
    listing = runner.invoke(args=["alerts", "list"])
    assert "CLI-1" in listing.output
    assert "0/5 pcs, short 6" in listing.output
    with app.app_context():
        assert alerts.open_alert_count() == 1
