"""A real S3-protocol server for tests: moto's standalone server, in its own process on loopback.

moto is an S3 *emulator* (it keeps objects in memory); it speaks the same HTTP protocol as AWS S3,
MinIO or Ceph, so the app's boto3 client talks to it exactly as it would in production. One server
per test worker (session-scoped); each test gets buckets of its own. The credentials are dummies,
put in the environment as production puts real ones there (boto3 reads them itself).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.documents.s3 import make_client
from tests.support.live_server import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}
START_TIMEOUT = 60.0


class S3Server:
    """moto_server on 127.0.0.1:`port`; `endpoint_url` is what S3_ENDPOINT_URL is set to."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.endpoint_url = f"http://127.0.0.1:{port}"

    def client(self):
        """A boto3 client as the app makes it (path-style addressing on a custom endpoint)."""
        return make_client(self.endpoint_url)

    def new_bucket(self) -> str:
        name = f"qm-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def app_config(self, bucket: str, **overrides: object) -> dict[str, object]:
        """Flask config keys that point an app at this server's `bucket`."""
        return {"BLOB_STORE": "s3", "S3_ENDPOINT_URL": self.endpoint_url, "S3_BUCKET": bucket, **overrides}

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def open_uploads(self, bucket: str) -> list[str]:
        """Multipart uploads begun and neither completed nor aborted (each holds parts on the server)."""
        return [u["Key"] for u in self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is serving
    except OSError:
        return False


@contextmanager
def running_s3_server(folder: Path) -> Iterator[S3Server]:
    """Start moto's server, wait until it answers, and stop it after; fail loudly if it cannot start."""
    port = free_port()
    log = folder / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(process, port, log)
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(server.endpoint_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the S3 test server (moto_server, from requirements-dev.txt) did not start on port {port}:\n"
                    + log.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
