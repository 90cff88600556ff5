"""What a busy day looks like to Quartermaster, for locust (run by bench/load.py, not by hand).

Every simulated person shares one signed-in session (QM_BENCH_COOKIE, QM_BENCH_CSRF), made by
bench/load.py: the sign-in rate limits are not what is being measured. Three kinds of user, run
one kind at a time:

- `StaticUser` fetches one static file from nginx without pausing: the ceiling of this server;
- `PageUser` fetches the light pages without pausing: how many of them the app serves;
- `StaffUser` works as staff do, with pauses: lists, search as you type, review, stock, uploads, exports.

FastHttpUser (geventhttpclient) rather than HttpUser (requests): the load runs on the same
cores as the server, and the lighter client leaves more of them to what is measured.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import uuid

from locust import FastHttpUser, between, task
from requests.cookies import create_cookie

COOKIE = os.environ.get("QM_BENCH_COOKIE", "")
CSRF = os.environ.get("QM_BENCH_CSRF", "")
PRODUCT_IDS = [int(n) for n in os.environ.get("QM_BENCH_PRODUCTS", "1").split(",") if n]
STATIC = os.environ.get("QM_BENCH_STATIC", "/static/css/app.css")
LIGHT_PAGES = ["/", "/stock", "/documents", "/orders", "/alerts"]
WORDS = ["tea", "invoice", "delivery", "pallet", "credit", "green", "sencha", "assam", "kettle", "order"]


class SignedIn(FastHttpUser):
    """A user holding the shared session; any answer but the one expected counts as a failure."""

    abstract = True

    def on_start(self) -> None:
        host = self.host.split("://", 1)[1].split(":", 1)[0].split("/", 1)[0]
        self.client.cookiejar.set_cookie(create_cookie("qm_session", COOKIE, domain=host, path="/", secure=True))

    def get(self, path: str, name: str, *, htmx: bool = False) -> str:
        """GET without following redirects: a redirect to the sign-in page must not pass as a page."""
        headers = {"HX-Request": "true"} if htmx else {}
        with self.client.get(path, name=name, headers=headers, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for {path}")
            return response.text or ""

    def post(self, path: str, name: str, *, ok=(200,), headers: dict | None = None, **kwargs) -> None:
        # Over HTTPS, Flask-WTF also checks that the Referer is this site, as a browser sends it.
        referer = f"{self.host}{path}"
        headers = {"HX-Request": "true", "X-CSRFToken": CSRF, "Referer": referer, **(headers or {})}
        with self.client.post(
            path, name=name, headers=headers, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            if response.status_code not in ok:
                response.failure(f"{response.status_code} for {path}: {(response.text or '')[:200]}")


class StaticUser(FastHttpUser):
    """The ceiling: one static file from nginx, as fast as it comes."""

    wait_time = between(0, 0)

    @task
    def static_file(self) -> None:
        self.client.get(STATIC, name="static file")


class PageUser(SignedIn):
    """The light pages, one after another without a pause: what the app can serve."""

    wait_time = between(0, 0)

    @task
    def light_page(self) -> None:
        path = random.choice(LIGHT_PAGES)
        self.get(path, name=f"page {path}")


class StaffUser(SignedIn):
    """A member of staff: lists, search as you type, review, stock changes, uploads, exports."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        super().on_start()
        self.serial = itertools.count()

    @task(10)
    def list_pages(self) -> None:
        path = random.choice([*LIGHT_PAGES, "/stock/ledger", "/search?q=tea"])
        self.get(path, name=f"page {path}")

    @task(6)
    def search_as_you_type(self) -> None:
        word = random.choice(WORDS)
        for end in range(2, len(word) + 1):  # each keystroke after the debounce, as htmx sends it
            self.get(f"/search?q={word[:end]}", name="search as you type", htmx=True)

    @task(3)
    def review_decision(self) -> None:
        page = self.get("/review", name="page /review")
        match = re.search(r'action="(/review/\d+)[^"]*"', page)
        if match:
            # Two people may file the same document at once: the second is told it is done (409).
            self.post(match.group(1), "review decision", ok=(200, 409), data={"csrf_token": CSRF, "category_id": ""})

    @task(4)
    def add_stock(self) -> None:
        product_id = random.choice(PRODUCT_IDS)
        self.post(
            f"/stock/products/{product_id}/adjust",
            "add stock",
            data={
                "csrf_token": CSRF,
                "where": "row",
                f"p{product_id}-change": "+1",
                f"p{product_id}-reason": "",
                f"p{product_id}-idempotency_key": uuid.uuid4().hex,
            },
        )

    @task(1)
    def upload(self) -> None:
        boxes, pallet = random.randint(1, 40), next(self.serial)
        text = f"Delivery note {uuid.uuid4().hex}: {boxes} boxes of green tea, pallet {pallet}"
        boundary = uuid.uuid4().hex
        body = (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{CSRF}\r\n"
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="files"; filename="note-{boundary[:8]}.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
            f"{text}\r\n"
            f"--{boundary}--\r\n"
        ).encode()
        self.post(
            "/documents/upload",
            "upload",
            ok=(201,),  # created, and queued for the workers
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    @task(1)
    def csv_export(self) -> None:
        path = random.choice(["/stock.csv", "/stock/ledger.csv", "/documents.csv"])
        self.get(path, name=f"CSV {path}")
