"""Signed-out clients cannot make the app read a request body: they are sent to sign in first.

CSRF protection parses a POST's form; if it ran before the sign-in check, an
anonymous client trickling a body byte by byte would hold a worker thread.
"""

import io

import pytest
from flask import url_for
from werkzeug.routing import AnyConverter

from app.auth.access import is_public_endpoint

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


class UnreadableBody(io.RawIOBase):
    """A request body whose bytes never arrive: any read is a failure of the test."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self.reads += 1
        raise AssertionError("the app read the body of an anonymous request")

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        raise AssertionError("the app read the body of an anonymous request")

    def readline(self, size: int | None = -1) -> bytes:
        self.reads += 1
        raise AssertionError("the app read the body of an anonymous request")


def _state_changing_urls(app) -> list[tuple[str, str]]:
    """(method, url) for every route that changes something, except public ones (sign-in)."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if is_public_endpoint(rule.endpoint):
                continue
            # Any value the converters accept: the route must refuse before looking anything up.
            values = {
                name: sorted(converter.items)[0] if isinstance(converter, AnyConverter) else 1
                for name, converter in rule._converters.items()
            }
            for method in sorted(rule.methods & set(STATE_CHANGING)):
                found.append((method, url_for(rule.endpoint, **values)))
    return found


def _send(client, method: str, url: str, htmx: bool) -> tuple:
    body = UnreadableBody()
    response = client.open(
        url,
        method=method,
        headers={"HX-Request": "true"} if htmx else {},
        # As a server hands it over: a socket whose 5 MB have not arrived.
        environ_overrides={
            "wsgi.input": body,
            "CONTENT_LENGTH": "5000000",
            "CONTENT_TYPE": "multipart/form-data; boundary=qm-boundary",
        },
    )
    return response, body


def test_every_state_changing_route_refuses_a_signed_out_client_without_reading_the_body(app, client):
    urls = _state_changing_urls(app)
    assert ("POST", "/documents/upload") in urls
    assert ("POST", "/logout") in urls
    for method, url in urls:
        response, body = _send(client, method, url, htmx=False)
        assert body.reads == 0, (method, url)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/login"), (method, url)


@pytest.mark.parametrize("url", ["/documents/upload", "/notifications/read-all", "/logout"])
def test_an_htmx_post_from_a_signed_out_client_gets_401_and_a_sign_in_redirect_unread(client, url):
    response, body = _send(client, "POST", url, htmx=True)
    assert body.reads == 0
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
