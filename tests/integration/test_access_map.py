"""Every route needs a session except the few that must not, and admin routes need an admin.

These walk the app's whole URL map, so a route added later is covered without
anyone writing a test for it.
"""

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from app.auth.access import is_public_endpoint

# /metrics is public only for the sign-in guard: it checks its readers itself (inside the deployment or
# the metrics token), because Prometheus scrapes without a session (tests/integration/test_metrics.py).
PUBLIC = {"auth.login", "ops.healthz", "ops.metrics", "ops.readyz", "static"}


def _url_for_rule(app, rule) -> str:
    """A concrete URL for a rule, with a harmless value in each variable part."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        else:
            values[name] = "x"
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=sorted(rule.methods)[0])


def _rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def test_only_the_agreed_endpoints_are_public(app):
    with app.test_request_context():
        public = {rule.endpoint for rule in app.url_map.iter_rules() if is_public_endpoint(rule.endpoint)}
    assert public == PUBLIC


def test_every_other_route_sends_anonymous_visitors_to_sign_in(app, client):
    token = client.csrf_token()
    checked = 0
    for rule in _rules(app):
        if rule.endpoint in PUBLIC:
            continue
        url = _url_for_rule(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 302, f"{method} {url} answered {response.status_code}"
            assert response.headers["Location"].startswith("/login"), f"{method} {url}"
            htmx = client.open(url, method=method, data={"csrf_token": token}, headers={"HX-Request": "true"})
            assert htmx.status_code == 401, f"htmx {method} {url}"
            assert htmx.headers["HX-Redirect"].startswith("/login"), f"htmx {method} {url}"
            checked += 1
    assert checked >= 10  # the walk really walked


# ---------------------------------------------------------------- the role matrix

ROLES = ("anonymous", "viewer", "staff", "admin")
# What each role gets: "login" (sent to sign in), "refused" (403) or "allowed" (past the access check:
# the page, or a 4xx about the request itself, such as a missing record or an empty form).
EVERYONE = ("allowed", "allowed", "allowed", "allowed")
SIGNED_IN = ("login", "allowed", "allowed", "allowed")
STAFF = ("login", "refused", "allowed", "allowed")
ADMIN = ("login", "refused", "refused", "allowed")

# Every route of the app, by endpoint and method. A route missing here fails the walk below:
# whoever adds a route decides here who may use it.
MATRIX: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("auth.login", "GET"): EVERYONE,
    ("auth.login", "POST"): EVERYONE,
    ("auth.logout", "POST"): SIGNED_IN,
    ("auth.account", "GET"): SIGNED_IN,
    ("auth.account", "POST"): SIGNED_IN,
    ("auth.change_password", "GET"): SIGNED_IN,
    ("auth.change_password", "POST"): SIGNED_IN,
    ("ops.healthz", "GET"): EVERYONE,
    ("ops.readyz", "GET"): EVERYONE,
    ("ops.metrics", "GET"): EVERYONE,  # checks its reader itself (tests/integration/test_metrics.py)
    ("main.index", "GET"): SIGNED_IN,
    ("main.status", "GET"): SIGNED_IN,
    ("main.admin", "GET"): ADMIN,
    # documents
    ("documents.index", "GET"): SIGNED_IN,
    ("documents.export", "GET"): SIGNED_IN,
    ("documents.show", "GET"): SIGNED_IN,
    ("documents.status", "GET"): SIGNED_IN,
    ("documents.thumbnail", "GET"): SIGNED_IN,
    ("documents.download", "GET"): SIGNED_IN,
    ("documents.upload_page", "GET"): STAFF,
    ("documents.upload", "POST"): STAFF,
    ("documents.retry", "POST"): STAFF,
    ("documents.confirm_delete", "GET"): STAFF,
    ("documents.delete", "POST"): STAFF,
    ("documents.restore", "POST"): STAFF,
    ("documents.confirm_purge", "GET"): ADMIN,
    ("documents.purge", "POST"): ADMIN,
    ("documents.trash_page", "GET"): SIGNED_IN,  # names and dates only; opening one is for admins
    ("documents.trash_csv", "GET"): SIGNED_IN,
    ("documents.edit_details", "POST"): STAFF,
    ("documents.confirm_suggestions", "POST"): STAFF,
    ("documents.add_note", "POST"): STAFF,
    ("correspondents.index", "GET"): SIGNED_IN,
    ("correspondents.export", "GET"): SIGNED_IN,
    ("correspondents.rename_page", "GET"): STAFF,
    ("correspondents.rename", "POST"): STAFF,
    ("correspondents.confirm_delete", "GET"): STAFF,
    ("correspondents.delete", "POST"): STAFF,
    # review and search
    ("review.index", "GET"): SIGNED_IN,
    ("review.decide", "POST"): STAFF,
    ("review.accept_selected", "POST"): STAFF,
    ("review.skip", "POST"): STAFF,
    ("review.undo", "POST"): STAFF,
    ("search.index", "GET"): SIGNED_IN,
    ("search.export", "GET"): SIGNED_IN,
    # stock
    ("stock.products", "GET"): SIGNED_IN,
    ("stock.products_csv", "GET"): SIGNED_IN,
    ("stock.product", "GET"): SIGNED_IN,
    ("stock.ledger", "GET"): SIGNED_IN,
    ("stock.ledger_csv", "GET"): SIGNED_IN,
    ("stock.adjust", "POST"): STAFF,
    ("stock.count", "POST"): STAFF,
    ("stock.new_product", "GET"): STAFF,
    ("stock.new_product", "POST"): STAFF,
    ("stock.edit_product", "GET"): STAFF,
    ("stock.edit_product", "POST"): STAFF,
    ("stock.import_products", "GET"): STAFF,
    ("stock.import_products", "POST"): STAFF,
    ("stock.confirm_import", "POST"): STAFF,
    ("stock.confirm_import_valid", "GET"): STAFF,
    # orders
    ("orders.index", "GET"): SIGNED_IN,
    ("orders.export", "GET"): SIGNED_IN,
    ("orders.show", "GET"): SIGNED_IN,
    ("orders.new", "GET"): STAFF,
    ("orders.new", "POST"): STAFF,
    ("orders.new_line", "GET"): STAFF,
    ("orders.place", "POST"): STAFF,
    ("orders.fulfil", "POST"): STAFF,
    ("orders.cancel", "POST"): STAFF,
    ("orders.confirm_cancel", "GET"): STAFF,
    ("orders.edit", "GET"): STAFF,
    ("orders.edit", "POST"): STAFF,
    ("orders.lookup", "GET"): STAFF,
    # alerts and notifications
    ("alerts.index", "GET"): SIGNED_IN,
    ("alerts.export", "GET"): SIGNED_IN,
    ("alerts.acknowledge", "POST"): STAFF,
    ("alerts.check_now", "POST"): STAFF,
    ("notify.index", "GET"): SIGNED_IN,
    ("notify.bell", "GET"): SIGNED_IN,
    ("notify.mark_read", "POST"): SIGNED_IN,
    ("notify.mark_all_read", "POST"): SIGNED_IN,
    # administration
    ("classify.index", "GET"): ADMIN,
    ("classify.index", "POST"): ADMIN,
    ("classify.set_active", "POST"): ADMIN,
    ("classify.edit", "GET"): ADMIN,
    ("classify.edit", "POST"): ADMIN,
    ("models.index", "GET"): ADMIN,
    ("models.show", "GET"): ADMIN,
    ("models.run", "GET"): ADMIN,
    ("models.promote", "POST"): ADMIN,
    ("models.retrain", "POST"): ADMIN,
    ("users.index", "GET"): ADMIN,
    ("users.export", "GET"): ADMIN,
    ("users.create", "POST"): ADMIN,
    ("users.activate", "POST"): ADMIN,
    ("users.deactivate", "POST"): ADMIN,
    ("users.set_role", "POST"): ADMIN,
    ("users.reset_password", "GET"): ADMIN,
    ("users.reset_password", "POST"): ADMIN,
    ("ops.audit_log", "GET"): ADMIN,
    ("ops.audit_log_csv", "GET"): ADMIN,
    ("ops.system", "GET"): ADMIN,
}


def _routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route, with harmless values in its variable parts."""
    return [
        (rule.endpoint, method, _url_for_rule(app, rule))
        for rule in _rules(app)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def _outcome(response) -> str:
    if response.status_code == 302 and response.headers.get("Location", "").startswith("/login"):
        return "login"
    if response.status_code == 403:
        return "refused"
    assert response.status_code < 500, f"answered {response.status_code}"
    return "allowed"


def test_every_route_has_an_entry_in_the_role_matrix(app):
    walked = {(endpoint, method) for endpoint, method, _ in _routes(app)}
    assert walked - MATRIX.keys() == set(), "routes nobody decided on: add them to MATRIX"
    assert MATRIX.keys() - walked == set(), "MATRIX names routes that no longer exist"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_matrix_says_on_every_route(app, client, auth, make_user, role):
    make_user("viewer", "someone-else@example.com")  # user 1: what the /admin/users/1/... routes act on
    if role != "anonymous":
        auth.login_as(role)
    token = client.csrf_token()  # a real token: what is checked here is the role, not CSRF
    wrong = []
    for endpoint, method, url in _routes(app):
        if endpoint == "auth.logout":
            continue  # it would end the session the walk needs; tests/integration/test_sign_in.py covers it
        expected = MATRIX[(endpoint, method)][ROLES.index(role)]
        got = _outcome(client.open(url, method=method, data={"csrf_token": token}))
        if got != expected:
            wrong.append(f"{method} {url}: {got}, expected {expected}")
    assert wrong == [], f"as {role}:\n" + "\n".join(wrong)


def test_every_state_change_refuses_a_request_without_a_csrf_token(app, client, auth, make_user):
    """As an admin, who passes every role check: only the missing token stops these."""
    make_user("viewer", "someone-else@example.com")
    auth.login_as("admin")
    checked = 0
    for endpoint, method, url in _routes(app):
        if method == "GET" or endpoint == "auth.login":
            continue
        for headers in ({}, {"HX-Request": "true"}):
            response = client.open(url, method=method, data={"note": "x"}, headers=headers)
            assert response.status_code == 400, f"{method} {url} {headers}: {response.status_code}"
            assert "security token" in response.get_data(as_text=True), f"{method} {url}"
        checked += 1
    assert checked >= 30
    assert client.get("/").status_code == 200  # still signed in: nothing above was carried out


def test_public_routes_answer_without_a_session(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/metrics").status_code == 200  # the test client connects from 127.0.0.1
    with client.get("/static/css/app.css") as static:
        assert static.status_code == 200
