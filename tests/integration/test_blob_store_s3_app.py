"""The whole app with QM_BLOB_STORE=s3: uploads land in the bucket, workers read from it, downloads stream
from it, purges clean it. The bucket is on a real S3-protocol server (moto's emulator) on loopback.

`app` here is the suite's app (SQLite and PostgreSQL) pointed at a bucket of its own, so every test in
this module runs as a deployment with object storage would.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tracemalloc
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.documents import service, trash
from app.documents.models import Document
from app.documents.s3 import S3BlobStore
from app.documents.tasks import process_document
from app.extensions import db
from app.ops import backup
from app.queue import huey

MB = 1024 * 1024


@pytest.fixture
def app(app: Flask, s3_server) -> Flask:
    """The suite's app with its blobs and thumbnails in a fresh bucket on the S3 test server."""
    app.config.update(s3_server.app_config(s3_server.new_bucket()))
    return app


def _bucket(app: Flask) -> str:
    return app.config["S3_BUCKET"]


def _upload(client, name: str, data: bytes):
    return client.post(
        "/documents/upload", data={"files": [(io.BytesIO(data), name)]}, content_type="multipart/form-data"
    )


def _forget_local_copies(app: Flask) -> None:
    """As if the next request or task ran on another machine: nothing of the blobs on this disk."""
    shutil.rmtree(Path(app.config["DATA_DIR"]) / "cache", ignore_errors=True)


def test_an_upload_is_processed_and_downloaded_from_the_bucket(app, client, auth, s3_server):
    auth.login_as("staff")
    data = b"Delivery note 5521\nTwelve crates of quince jam for the harbour shop\n"
    assert _upload(client, "quince.txt", data).status_code == 201

    with app.app_context():
        document = db.session.scalar(select(Document))
        assert document.state == "processed"
        assert "quince jam" in document.text
        sha, document_id = document.sha256, document.id
    assert s3_server.keys(_bucket(app), "blobs/") == [f"blobs/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert s3_server.keys(_bucket(app), "thumbnails/") == [f"thumbnails/{sha[:2]}/{sha}.png"]
    assert not (Path(app.config["DATA_DIR"]) / "blobs").exists()  # nothing in the local store
    assert not (Path(app.config["DATA_DIR"]) / "thumbnails").exists()

    _forget_local_copies(app)
    with client.get(f"/documents/{document_id}/download") as response:
        assert response.status_code == 200
        assert response.data == data
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Content-Length"] == str(len(data))
    with client.get(f"/documents/{document_id}/thumbnail.png") as thumbnail:
        assert thumbnail.status_code == 200
        assert thumbnail.data.startswith(b"\x89PNG")


def test_a_worker_without_a_local_copy_fetches_the_blob_from_the_bucket(app, client, auth):
    auth.login_as("staff")
    huey.immediate = False  # queued to this app's own SQLite queue; the "other machine" below takes it
    try:
        assert _upload(client, "order.txt", b"Purchase order 88: sixty jars of heather honey").status_code == 201
    finally:
        huey.immediate = True
    _forget_local_copies(app)
    with app.app_context():
        document_id = db.session.scalar(select(Document.id))
        process_document.call_local(document_id)
        document = db.session.get(Document, document_id)
        assert document.state == "processed"
        assert "heather honey" in document.text


def test_a_download_streams_from_the_bucket_without_a_copy_on_disk(app, client, auth):
    auth.login_as("viewer")
    data = b"".join(f"line {i:08d} of a long price list\n".encode() for i in range(24 * MB // 32))
    huey.immediate = False  # not read by a worker: only the download matters here
    try:
        with app.app_context():
            document = service.ingest(io.BytesIO(data), "prices.txt", user_id=None).document
            document_id, sha = document.id, document.sha256
    finally:
        huey.immediate = True
    _forget_local_copies(app)

    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        with client.get(f"/documents/{document_id}/download", buffered=False) as response:
            assert response.status_code == 200
            assert response.is_streamed
            for chunk in response.response:
                digest.update(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert digest.hexdigest() == sha
    assert peak < 4 * MB, f"the download held {peak / MB:.0f} MB of a {len(data) // MB} MB file"
    assert not (Path(app.config["DATA_DIR"]) / "cache").exists()  # streamed through, never written here


def test_a_resumed_download_gets_the_rest_of_the_file(app, client, auth):
    auth.login_as("viewer")
    data = b"".join(f"row {i:06d}\n".encode() for i in range(50_000))
    with app.app_context():
        document_id = service.ingest(io.BytesIO(data), "rows.txt", user_id=None).document.id

    with client.get(f"/documents/{document_id}/download", headers={"Range": "bytes=100000-"}) as response:
        assert response.status_code == 206
        assert response.data == data[100_000:]
        assert response.headers["Content-Range"] == f"bytes 100000-{len(data) - 1}/{len(data)}"


def test_with_presigning_the_browser_is_sent_to_the_bucket(app, client, auth):
    auth.login_as("viewer")
    app.config["S3_PRESIGN_SECONDS"] = 60
    data = b"Certificate of analysis, batch 7"
    with app.app_context():
        document_id = service.ingest(io.BytesIO(data), "certificate 7 ü.txt", user_id=None).document.id

    response = client.get(f"/documents/{document_id}/download")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(app.config["S3_ENDPOINT_URL"])
    with urllib.request.urlopen(location, timeout=10) as fetched:
        assert fetched.read() == data
        assert fetched.headers["Content-Disposition"].startswith("attachment;")
        assert "filename*=UTF-8''certificate%207%20%C3%BC.txt" in fetched.headers["Content-Disposition"]


def test_a_purge_empties_the_bucket_but_keeps_bytes_another_document_names(app, s3_server):
    bucket = _bucket(app)
    with app.app_context():
        kept = service.ingest(io.BytesIO(b"Invoice 3001: oak barrels"), "barrels.txt", user_id=None).document
        gone = service.ingest(io.BytesIO(b"Invoice 3002: copper stills"), "stills.txt", user_id=None).document
        kept_sha, gone_id, gone_sha = kept.sha256, gone.id, gone.sha256
        assert len(s3_server.keys(bucket, "thumbnails/")) == 2

        # Another row naming the same bytes (a purge racing a new upload): the object must stay.
        assert trash._remove_files(trash._Facts(10_000, kept_sha, 25, "an older copy.txt")) == 0

        service.delete_document(gone_id, user_id=None)
        trash.purge_document(gone_id, user_id=None)

    names = s3_server.keys(bucket)
    assert f"blobs/{kept_sha[:2]}/{kept_sha[2:4]}/{kept_sha}" in names
    assert f"thumbnails/{kept_sha[:2]}/{kept_sha}.png" in names
    assert not [name for name in names if gone_sha in name]
    assert s3_server.open_uploads(bucket) == []


def test_the_store_is_made_once_per_process(app):
    with app.app_context():
        from app.documents.storage import blob_store

        first, second = blob_store(), blob_store()
    assert isinstance(first, S3BlobStore)
    assert first is second  # one boto3 client (and connection pool) for every request of a process


def test_a_backup_reads_blobs_from_the_bucket_and_a_restore_writes_them_back(app, s3_server, tmp_path):
    data = b"Stock count sheet, aisle 4: 31 tins of saffron"
    folder = tmp_path / "backup"
    with app.app_context():
        sha = service.ingest(io.BytesIO(data), "count.txt", user_id=None).document.sha256
        result = backup.create_backup(folder)
        assert result.manifest["blobs"]["copied"] == 1
        assert (folder / "blobs" / sha[:2] / sha[2:4] / sha).read_bytes() == data

        app.config["S3_BUCKET"] = empty = s3_server.new_bucket()  # the new instance's bucket
        backup.restore_files(folder, result.manifest, skip=set())
    assert s3_server.keys(empty) == [f"blobs/{sha[:2]}/{sha[2:4]}/{sha}"]
