"""Log lines: JSON that names the request, the user and the document, and never a secret or a document's text."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from app.ops.logging import ContextFilter, json_formatter
from tests.conftest import PASSWORD

WRONG_PASSWORD = "Wrong-Horse-Staple-9931"
SECRET_WORD = "vaultcode-QX7-PLUTONIUM"


@pytest.fixture
def log_lines():
    """Every record the app logs during the test, formatted exactly as web and worker write them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    lines.raw = lambda: stream.getvalue()  # type: ignore[attr-defined]
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_log_lines_carry_ids_and_no_secrets(app, client, make_user, log_lines):
    user = make_user("staff")
    assert client.post("/login", data={"email": user.email, "password": WRONG_PASSWORD}).status_code == 401
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
    cookie = client.get_cookie("qm_session").value
    csrf = client.csrf_token()
    upload = client.post(
        "/documents/upload",
        data={"files": (io.BytesIO(f"Delivery note\nAccess {SECRET_WORD} for the gate\n".encode()), "note.txt")},
        content_type="multipart/form-data",
        htmx=True,
    )
    assert upload.status_code == 201
    document_id = int(re.search(r"/documents/(\d+)", upload.get_data(as_text=True)).group(1))
    assert client.get(f"/documents/{document_id}").status_code == 200

    raw = log_lines.raw()
    for secret in (WRONG_PASSWORD, PASSWORD, SECRET_WORD, "gate", cookie, csrf):
        assert secret not in raw, f"{secret!r} reached the logs"

    lines = log_lines()
    assert lines
    assert all(line.get("request_id") for line in lines)  # every line, web or task, names its work
    access = [line for line in lines if line["logger"] == "quartermaster.access"]
    logins = [line for line in access if line["path"] == "/login" and line["method"] == "POST"]
    assert [line["status"] for line in logins] == [401, 303]
    assert logins[0].get("user_id") is None  # nobody is signed in after a failed attempt
    page = next(line for line in access if line["path"] == f"/documents/{document_id}")
    assert page["user_id"] == user.id
    assert page["document_id"] == document_id
    assert page["request_id"] != logins[0]["request_id"]  # one id per request

    # The worker's line (inline here: the queue runs tasks immediately) names the document and its task.
    processed = next(line for line in lines if line["message"] == "document processed")
    assert processed["document_id"] == document_id
    assert processed["logger"] == "app.documents.tasks"
    assert set(processed["timings_ms"]) >= {"extract", "classify"}


def test_a_request_id_from_the_proxy_is_kept_and_a_bad_one_replaced(client, log_lines):
    assert client.get("/healthz", headers={"X-Request-ID": "edge-42.a"}).headers["X-Request-ID"] == "edge-42.a"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    ids = [line["request_id"] for line in log_lines() if line["logger"] == "quartermaster.access"]
    assert ids == ["edge-42.a", replaced]
