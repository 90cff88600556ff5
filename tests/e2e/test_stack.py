"""The production shape, run for real: nginx terminating TLS in front of gunicorn and a Huey consumer.

One stack for the module, started by the same code as `make stack` (tools/stack.py) with the
project's nginx template rendered for the test: free ports, a temporary prefix, a test certificate,
PostgreSQL and Redis. A person signs in and works through TLS in Chromium; the HTTP checks prove
what nginx adds (redirect, TLS versions, HSTS, limits, the 413 page, static caching, gzip) and
that uploads stream through it without gunicorn holding them in memory.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import re
import socket
import ssl
import uuid
import warnings
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, expect

from tests.support import documents as files
from tests.support import services
from tests.support.live_server import PASSWORD
from tools.stack import ROOT, Stack, free_port

pytestmark = pytest.mark.e2e

MAX_MB = 20  # the app's limit; nginx's ceiling is one MB above it
MB = 1024 * 1024
STAFF = "staff@example.com"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, worker_suffix: str):
    name = f"{services.database_name(services.TEST_DATABASE_URL)}_qm_stack_{worker_suffix}"
    database_url = services.recreate_database(name)
    base = tmp_path_factory.mktemp("stack")
    env = {
        **services.clean_environment(),
        "QM_ENV": "development",
        "SECRET_KEY": uuid.uuid4().hex,
        "DATABASE_URL": database_url,
        "REDIS_URL": services.TEST_REDIS_URL,
        "QM_QUEUE_NAME": f"qm-stack-{uuid.uuid4().hex[:12]}",
        "WEB_CONCURRENCY": "2",
    }
    stack = Stack(
        data_dir=base / "data",
        https_port=free_port(),
        http_port=free_port(),
        web_port=free_port(),
        max_upload_mb=MAX_MB,
        base_env=env,
        cert_dir=base / "certs",
        prefix=base / "nginx",
        log_dir=base / "logs",
        consumers=1,
    )
    stack.start()
    try:
        stack.flask("users", "create", STAFF, "--role", "staff", "--password-stdin", input=PASSWORD + "\n")
        yield stack
    finally:
        stack.stop()
        services.drop_database(name)


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test certificate is self-signed
    return context


def fetch(stack: Stack, path: str, *, method: str = "GET", headers: dict | None = None, body=None):
    """One request through nginx's HTTPS port; returns (response, body bytes)."""
    conn = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=_insecure(), timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def plain(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """One plain-HTTP request to `port` on loopback."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response
    finally:
        conn.close()


def test_a_person_works_through_tls(browser: Browser, stack: Stack, tmp_path: Path):
    word = f"zq{uuid.uuid4().hex[:8]}"
    sku = f"STK-{uuid.uuid4().hex[:6].upper()}"
    products = tmp_path / "products.csv"
    products.write_text(f"sku,name,unit\n{sku},Jasmine tea {sku},pcs\n")
    stack.flask("stock", "import", str(products))
    pdf = files.make_text_pdf(tmp_path / f"invoice-{word}.pdf", [f"Invoice for {word} tea", "Ten boxes"])

    context = browser.new_context(base_url=stack.url, ignore_https_errors=True, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto("/login")
        assert page.url.startswith(stack.url)
        page.get_by_label("Email").fill(STAFF)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(stack.url + "/")

        page.goto("/documents/upload")
        page.get_by_label("Drop files here, or choose them").set_input_files(str(pdf))
        row = page.locator("#upload-list .upload-row").filter(has_text=pdf.name)
        expect(row.get_by_test_id("doc-state")).to_have_attribute("data-state", "processed", timeout=30_000)

        page.goto("/search")
        page.get_by_label("Search", exact=True).press_sequentially(word, delay=20)
        expect(page.get_by_test_id("hits").locator("li.hit")).to_have_count(1, timeout=15_000)
        expect(page.get_by_test_id("hits")).to_contain_text(pdf.name)

        page.goto(f"/stock?q={sku}")
        page.get_by_role("link", name=sku, exact=True).click()
        page.get_by_label("Add or remove").fill("+7")
        page.get_by_role("button", name="Apply change").click()
        expect(page.get_by_test_id("on-hand")).to_have_text("7")

        page.goto(f"/stock/ledger?sku={sku}")
        with page.expect_download() as download_info:
            page.get_by_test_id("ledger-csv").click()
        text = Path(download_info.value.path()).read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [(r["sku"], r["change"], r["balance_after"]) for r in rows] == [(sku, "7", "7")]
    finally:
        context.close()


def test_plain_http_redirects_to_https(stack: Stack):
    response = plain(stack.http_port, "/stock?q=tea")
    assert response.status == 301
    assert response.getheader("Location") == f"{stack.url}/stock?q=tea"


def _handshake(stack: Stack, version: ssl.TLSVersion) -> str:
    context = _insecure()
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer old versions: the server must say no
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # old versions on purpose
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", stack.https_port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        return tls.version() or ""


def test_tls_1_1_is_refused_and_1_2_accepted(stack: Stack):
    assert _handshake(stack, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    with pytest.raises(ssl.SSLError, match=r"(?i)protocol.version"):  # the server's alert, not our own refusal
        _handshake(stack, ssl.TLSVersion.TLSv1_1)


def test_security_headers_from_nginx_and_the_app(stack: Stack):
    response, _ = fetch(stack, "/login")
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=63072000"
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Server") == "nginx"  # no version
    assert "Secure" in response.getheader("Set-Cookie")  # the app knows it is behind TLS


def test_a_body_larger_than_nginx_buffers_passes(stack: Stack):
    """nginx keeps such bodies in temporary files under its prefix: its workers must reach them."""
    response, body = fetch(
        stack,
        "/login",
        method="POST",
        body=b"email=" + b"x" * 300_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 400, body[:300]  # the app's answer (no CSRF token), not nginx's 500


def test_an_unknown_host_is_refused(stack: Stack):
    response, _ = fetch(stack, "/login", headers={"Host": "evil.example"})
    assert response.status == 421
    with pytest.raises(http.client.RemoteDisconnected):  # 444: closed without an answer
        plain(stack.http_port, "/", {"Host": "evil.example"})


def test_operator_endpoints_are_internal_only(stack: Stack):
    for path in ("/metrics", "/readyz", "/%6detrics", "/readyz/"):
        response, _ = fetch(stack, path)
        assert response.status == 404, path
    response, _ = fetch(stack, "/healthz")
    assert response.status == 200
    assert plain(stack.web_port, "/readyz").status == 200  # gunicorn itself, on the internal network


def _login_page_views(stack: Stack) -> float:
    """What Prometheus, scraping gunicorn on the internal network, reads for GET /login answered 200."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
    finally:
        conn.close()
    assert response.status == 200
    pattern = (
        r"^quartermaster_http_requests_total\{"
        r'(?=[^}]*endpoint="auth\.login")(?=[^}]*method="GET")(?=[^}]*status="200")[^}]*\} (\S+)$'
    )
    return sum(float(value) for value in re.findall(pattern, text, flags=re.MULTILINE))


def test_metrics_from_inside_count_the_requests_just_made(stack: Stack):
    before = _login_page_views(stack)
    for _ in range(5):  # through nginx; gunicorn's two workers share one count
        response, _ = fetch(stack, "/login")
        assert response.status == 200
    assert _login_page_views(stack) == before + 5


def test_static_files_are_versioned_and_cached_for_a_year(stack: Stack):
    _, page = fetch(stack, "/login")
    href = re.search(rb'href="(/static/css/app\.css\?v=([0-9a-f]{12}))"', page)
    assert href, "the page links its stylesheet with a content version"
    digest = hashlib.sha256((ROOT / "static" / "css" / "app.css").read_bytes()).hexdigest()[:12]
    assert href.group(2).decode() == digest
    response, body = fetch(stack, href.group(1).decode())
    assert response.status == 200
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert body == (ROOT / "static" / "css" / "app.css").read_bytes()
    response, _ = fetch(stack, "/static/css/app.css")  # unversioned (the 413 page): revalidated
    assert response.getheader("Cache-Control") == "no-cache"


def test_gzip_for_pages_and_assets(stack: Stack):
    for path in ("/login", "/static/css/app.css", "/static/js/upload.js"):
        response, body = fetch(stack, path, headers={"Accept-Encoding": "gzip"})
        assert response.getheader("Content-Encoding") == "gzip", path
        assert body[:2] == b"\x1f\x8b"


def _refused_before_the_body(stack: Stack, extra_headers: bytes = b"") -> tuple[bytes, bytes]:
    """Announce a body over nginx's ceiling, send none of it, and read the answer."""
    raw = socket.create_connection(("127.0.0.1", stack.https_port), timeout=5)
    with _insecure().wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(
            b"POST /documents/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {(MAX_MB + 2) * MB}\r\n".encode()
            + extra_headers
            + b"\r\n"
        )
        answer = b""
        while b"</html>" not in answer and b"</p>" not in answer:
            chunk = tls.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


def test_an_upload_over_the_limit_gets_nginx_413_page(stack: Stack):
    head, body = _refused_before_the_body(stack)
    assert head.startswith(b"HTTP/1.1 413")
    assert b"Upload too large" in body
    assert b'href="/static/css/app.css"' in body  # the app's look
    head, body = _refused_before_the_body(stack, b"HX-Request: true\r\n")  # the upload script's fragment
    assert head.startswith(b"HTTP/1.1 413")
    assert body.startswith(b'<p class="flash flash-error"')


def _worker_rss(stack: Stack) -> int:
    master = stack.processes["web"].pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
    return total


class Session:
    """A signed-in client on one keep-alive TLS connection: cookies carried by hand, bodies streamed."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.conn = http.client.HTTPSConnection("127.0.0.1", stack.https_port, context=_insecure(), timeout=30)
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body=None, headers: dict | None = None):
        headers = {"Referer": f"{self.stack.url}/login", "Cookie": self.cookie, **(headers or {})}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if cookie := response.getheader("Set-Cookie"):
            self.cookie = cookie.split(";", 1)[0]
        if token := re.search(rb'name="csrf-token" content="([^"]+)"', data):
            self.token = token.group(1).decode()
        return response, data

    def sign_in(self, email: str, password: str) -> None:
        self.request("GET", "/login")
        form = urlencode({"csrf_token": self.token, "email": email, "password": password})
        response, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status in (302, 303)
        assert not response.getheader("Location").endswith("/login")
        self.request("GET", "/")  # signing in starts a fresh session: its pages carry a new CSRF token

    def upload(self, name: str, data: bytes):
        """POST one file as the upload script does, sending the body in 64 KB pieces."""
        head = (
            f'--qmboundary\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        tail = b"\r\n--qmboundary--\r\n"

        def pieces():
            yield head
            view = memoryview(data)
            for offset in range(0, len(data), 65536):
                yield view[offset : offset + 65536]
            yield tail

        headers = {
            "Content-Type": "multipart/form-data; boundary=qmboundary",
            "Content-Length": str(len(head) + len(data) + len(tail)),
            "X-CSRFToken": self.token,
            "HX-Request": "true",
        }
        return self.request("POST", "/documents/upload", pieces(), headers)

    def close(self) -> None:
        self.conn.close()


def test_an_upload_just_under_the_limit_streams_into_the_blob_store(stack: Stack, tmp_path: Path):
    session = Session(stack)
    try:
        session.sign_in(STAFF, PASSWORD)
        pdf = files.make_text_pdf(tmp_path / "small.pdf", [f"Warm up {uuid.uuid4().hex}"]).read_bytes()
        for index in range(2):  # both workers' upload paths imported and warm
            response, body = session.upload(f"warm-{index}.pdf", pdf + f"\n%{uuid.uuid4().hex}".encode())
            assert response.status == 201, body[:300]
        before = _worker_rss(stack)

        big = pdf + b"\n%" + b"0" * (MAX_MB * MB - len(pdf) - 64 * 1024)  # just under the app's limit
        response, body = session.upload("big.pdf", big)
        assert response.status == 201, body[:300]
        grown = _worker_rss(stack) - before
        sha = hashlib.sha256(big).hexdigest()
        stored = stack.data_dir / "blobs" / sha[:2] / sha[2:4] / sha
        assert stored.stat().st_size == len(big)
        assert grown < 6 * MB, f"gunicorn's workers grew by {grown / MB:.1f} MB for a {len(big) / MB:.0f} MB upload"
    finally:
        session.close()
