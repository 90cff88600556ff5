"""What a busy day looks like to Quartermaster, for locust (run by bench/load.py, not by hand).

Every simulated person shares one signed-in session (QM_BENCH_COOKIE, QM_BENCH_CSRF), made by
bench/load.py: the sign-in rate limits are not what is being measured. `StaticUser` fetches one
static file and is run alone first: the ceiling of the same nginx on the same machine.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import uuid

from locust import HttpUser, between, task

COOKIE = os.environ.get("QM_BENCH_COOKIE", "")
CSRF = os.environ.get("QM_BENCH_CSRF", "")
PRODUCT_IDS = [int(n) for n in os.environ.get("QM_BENCH_PRODUCTS", "1").split(",") if n]
STATIC = os.environ.get("QM_BENCH_STATIC", "/static/css/app.css")
WORDS = ["tea", "invoice", "delivery", "pallet", "credit", "green", "cup", "filter", "kettle", "order"]


class StaticUser(HttpUser):
    """The ceiling: one static file from nginx, as fast as it comes."""

    wait_time = between(0, 0)

    @task
    def static_file(self) -> None:
        self.client.get(STATIC, name="static file")


class StaffUser(HttpUser):
    """A member of staff: lists, search as you type, review, stock changes, uploads, exports."""

    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.cookies.set("qm_session", COOKIE)
        self.client.verify = False
        self.serial = itertools.count()

    def _htmx(self) -> dict[str, str]:
        return {"HX-Request": "true", "X-CSRFToken": CSRF}

    @task(10)
    def list_pages(self) -> None:
        path = random.choice(["/", "/stock", "/documents", "/orders", "/alerts", "/stock/ledger"])
        self.client.get(path, name=f"page {path}")

    @task(10)
    def search_as_you_type(self) -> None:
        word = random.choice(WORDS)
        for end in range(2, len(word) + 1):  # each keystroke after the debounce, as htmx sends it
            self.client.get(f"/search?q={word[:end]}", headers=self._htmx(), name="search as you type")

    @task(3)
    def review_decision(self) -> None:
        page = self.client.get("/review", name="page /review")
        match = re.search(r'action="/review/(\d+)', page.text or "")
        if match:
            self.client.post(
                f"/review/{match.group(1)}",
                data={"csrf_token": CSRF, "category_id": ""},
                headers=self._htmx(),
                name="review decision",
            )

    @task(4)
    def add_stock(self) -> None:
        product_id = random.choice(PRODUCT_IDS)
        self.client.post(
            f"/stock/products/{product_id}/adjust",
            data={
                "csrf_token": CSRF,
                "where": "row",
                f"p{product_id}-change": "+1",
                f"p{product_id}-reason": "",
                f"p{product_id}-idempotency_key": uuid.uuid4().hex,
            },
            headers=self._htmx(),
            name="add stock",
        )

    @task(1)
    def upload(self) -> None:
        text = (
            f"Delivery note {uuid.uuid4().hex}: {random.randint(1, 40)} boxes of green tea, pallet {next(self.serial)}"
        )
        self.client.post(
            "/documents/upload",
            files={"files": (f"note-{uuid.uuid4().hex[:8]}.txt", text.encode(), "text/plain")},
            data={"csrf_token": CSRF},
            headers=self._htmx(),
            name="upload",
        )

    @task(1)
    def csv_export(self) -> None:
        self.client.get(random.choice(["/stock.csv", "/stock/ledger.csv", "/documents.csv"]), name="CSV export")
