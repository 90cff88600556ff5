"""Errors end on a page that fits the layout, or on a message fragment for htmx."""

from pathlib import Path

from app import create_app
from app.config import config_for_tests


def test_404_page_fits_the_layout(client, auth):
    auth.login_as("viewer")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "<nav" in body
    assert "Nothing here" in body


def test_htmx_errors_are_fragments_aimed_at_the_message_area(client, auth):
    auth.login_as("viewer")
    response = client.get("/no-such-page", htmx=True)
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#messages"
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert 'role="alert"' in body


def test_403_page_says_which_role_is_needed(client, auth):
    auth.login_as("staff")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "This needs the admin role; you are signed in as staff." in response.get_data(as_text=True)


def test_413_for_a_body_over_the_limit(tmp_path: Path):
    app = create_app(config_for_tests(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", MAX_CONTENT_LENGTH=1024))
    response = app.test_client().post("/login", data={"email": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "larger than the" in response.get_data(as_text=True)


def test_405_for_the_wrong_method(client, auth):
    auth.login_as("viewer")
    assert client.get("/logout").status_code == 405


def test_500_page_hides_the_details_and_logs_them(tmp_path: Path, caplog):
    app = create_app(config_for_tests(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"))

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internal detail")

    app.view_functions["explode"]._qm_public = True
    app.testing = False  # let the error handler answer instead of re-raising
    response = app.test_client().get("/explode")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong on our side" in body
    assert "secret internal detail" not in body
    assert any("secret internal detail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_an_unknown_host_gets_a_400_not_a_500(tmp_path: Path):
    config = config_for_tests(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", TRUSTED_HOSTS=["qm.example.com"])
    client = create_app(config).test_client()
    response = client.get("/healthz", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "not trusted" in response.get_data(as_text=True)
    assert client.get("/healthz", headers={"Host": "qm.example.com"}).status_code == 200
