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


@pytest.mark.parametrize("role", ["viewer", "staff"])
def test_admin_routes_refuse_everyone_but_admins(app, client, auth, role):
    auth.login_as(role)
    token = client.csrf_token()
    admin_rules = [rule for rule in _rules(app) if rule.rule.startswith("/admin")]
    assert admin_rules
    for rule in admin_rules:
        url = _url_for_rule(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 403, f"{role}: {method} {url} answered {response.status_code}"


def test_public_routes_answer_without_a_session(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/metrics").status_code == 200  # the test client connects from 127.0.0.1
    with client.get("/static/css/app.css") as static:
        assert static.status_code == 200
