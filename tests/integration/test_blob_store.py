"""The blob store contract, run against both stores: files under DATA_DIR, and an S3 bucket on a real
S3-protocol server (moto's emulator, started on loopback by the `s3_server` fixture).

What an operator relies on: the bytes come back as they went in, the same bytes are stored once, an
upload over the limit leaves nothing behind (no file, no object, no half-finished multipart upload),
a large file never sits whole in memory, derived files (thumbnails) live and die beside their blob.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.config import ConfigError, Settings
from app.documents.blobs import BlobCorrupt, BlobStore, BlobTooLarge
from app.documents.s3 import BlobCache, S3BlobStore
from app.documents.storage import LocalBlobStore

MB = 1024 * 1024


@dataclass
class Backend:
    kind: str
    store: BlobStore
    stored: Callable[[], list[str]]  # the SHA-256 names the store holds
    open_uploads: Callable[[], list[str]]  # multipart uploads left open on the server
    leftovers: Callable[[], list[Path]]  # temporary files left on this machine


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = tmp_path / "blobs"
        return Backend(
            "local",
            LocalBlobStore(root, tmp_path),
            lambda: [p.name for p in _files(root) if p.parent.name != "incoming"],
            list,
            lambda: _files(root / "incoming"),
        )
    server = request.getfixturevalue("s3_server")
    bucket = server.new_bucket()
    cache = BlobCache(tmp_path / "cache", 1024 * MB)
    return Backend(
        "s3",
        S3BlobStore(server.client(), bucket, cache),
        lambda: [key.rsplit("/", 1)[1] for key in server.keys(bucket, "blobs/")],
        lambda: server.open_uploads(bucket),
        lambda: _files(cache.incoming),
    )


class Generated(io.RawIOBase):
    """`size` bytes made as they are read (1 MB blocks that differ), so the test itself holds almost nothing."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = min(self.left, MB if n is None or n < 0 else n)
        data = (self.block.to_bytes(8, "big") * (n // 8 + 1))[:n]
        self.block += 1
        self.left -= n
        self.digest.update(data)
        return data


def _peak_bytes(work: Callable[[], object]) -> int:
    """The most memory Python allocated at once (in every thread) while `work` ran."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bytes_come_back_as_they_went_in(backend: Backend):
    data = b"Delivery note 4711: 12 crates of apples\n" * 100
    blob = backend.store.put(io.BytesIO(data), max_bytes=MB)

    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.size == len(data)
    assert blob.path.read_bytes() == data  # what extraction reads on this machine
    assert backend.store.exists(blob.sha256)
    with backend.store.open(blob.sha256) as stream:
        assert stream.read() == data
    assert backend.store.local_path(blob.sha256).read_bytes() == data
    assert backend.leftovers() == []


def test_the_same_bytes_are_stored_once(backend: Backend):
    first = backend.store.put(io.BytesIO(b"Invoice 1001"), max_bytes=MB)
    again = backend.store.put(io.BytesIO(b"Invoice 1001"), max_bytes=MB)
    other = backend.store.put(io.BytesIO(b"Invoice 1002"), max_bytes=MB)

    assert first.sha256 == again.sha256 != other.sha256
    assert sorted(backend.stored()) == sorted({first.sha256, other.sha256})


def test_an_upload_over_the_limit_leaves_nothing_behind(backend: Backend):
    with pytest.raises(BlobTooLarge, match="larger than 2 MB"):
        backend.store.put(Generated(3 * MB), max_bytes=2 * MB)

    assert backend.stored() == []
    assert backend.open_uploads() == []
    assert backend.leftovers() == []


def test_deleted_bytes_are_gone_and_deleting_twice_is_harmless(backend: Backend):
    sha = backend.store.put(io.BytesIO(b"Certificate of origin"), max_bytes=MB).sha256
    backend.store.delete(sha)
    backend.store.delete(sha)

    assert not backend.store.exists(sha)
    assert backend.stored() == []
    with pytest.raises(FileNotFoundError):
        backend.store.open(sha)


def test_a_name_that_is_not_a_sha256_is_refused(backend: Backend):
    for name in ("../../etc/passwd", "A" * 64, "ab"):
        with pytest.raises(ValueError, match="not a SHA-256"):
            backend.store.exists(name)


def test_thumbnails_live_beside_their_blob(backend: Backend):
    sha = backend.store.put(io.BytesIO(b"Price list"), max_bytes=MB).sha256
    assert backend.store.open_derived("thumbnails", sha) is None
    assert not backend.store.derived_exists("thumbnails", sha)

    backend.store.put_derived("thumbnails", sha, b"\x89PNG not really")
    assert backend.store.derived_exists("thumbnails", sha)
    with backend.store.open_derived("thumbnails", sha) as png:
        assert png.read() == b"\x89PNG not really"

    assert backend.store.delete_derived("thumbnails", sha) == len(b"\x89PNG not really")
    assert backend.store.delete_derived("thumbnails", sha) == 0
    assert backend.store.open_derived("thumbnails", sha) is None
    assert backend.stored() == [sha]  # the blob itself is another matter


def test_a_large_file_goes_in_and_out_without_being_held_in_memory(backend: Backend):
    size = 64 * MB
    source = Generated(size)
    blobs = []
    peak_in = _peak_bytes(lambda: blobs.append(backend.store.put(source, max_bytes=size)))
    (blob,) = blobs
    assert blob.sha256 == source.digest.hexdigest()

    def read_back() -> None:
        digest = hashlib.sha256()
        with backend.store.open(blob.sha256) as stream:
            while chunk := stream.read(MB):
                digest.update(chunk)
        assert digest.hexdigest() == blob.sha256

    peak_out = _peak_bytes(read_back)
    assert peak_in < 16 * MB, f"put held {peak_in / MB:.0f} MB of a {size // MB} MB file"
    assert peak_out < 4 * MB, f"open held {peak_out / MB:.0f} MB of a {size // MB} MB file"
    assert backend.open_uploads() == []


def test_s3_uploads_a_large_file_in_parts(s3_server, tmp_path: Path):
    bucket = s3_server.new_bucket()
    store = S3BlobStore(s3_server.client(), bucket, BlobCache(tmp_path / "cache", 1024 * MB))
    sha = store.put(Generated(20 * MB), max_bytes=20 * MB).sha256

    etag = s3_server.client().head_object(Bucket=bucket, Key=store.key(sha))["ETag"]
    assert etag.strip('"').endswith("-3")  # a multipart object's ETag counts its parts (8 + 8 + 4 MB)


def test_s3_local_copies_are_fetched_on_demand_and_verified(s3_server, tmp_path: Path):
    """A worker on another machine has no copy: it downloads one, and refuses bytes that do not match their name."""
    bucket = s3_server.new_bucket()
    client = s3_server.client()
    web = S3BlobStore(client, bucket, BlobCache(tmp_path / "web-cache", 1024 * MB))
    worker = S3BlobStore(client, bucket, BlobCache(tmp_path / "worker-cache", 1024 * MB))
    good = web.put(io.BytesIO(b"Order 77: 3 pallets"), max_bytes=MB).sha256
    bad = web.put(io.BytesIO(b"Order 78: 5 pallets"), max_bytes=MB).sha256
    client.put_object(Bucket=bucket, Key=worker.key(bad), Body=b"tampered with")

    assert worker.local_path(good).read_bytes() == b"Order 77: 3 pallets"
    with pytest.raises(BlobCorrupt):
        worker.local_path(bad)
    assert not worker.cache.path(bad).exists()
    with pytest.raises(FileNotFoundError):
        worker.local_path("0" * 64)
    assert _files(worker.cache.incoming) == []


def test_the_cache_keeps_to_its_limit_and_spares_copies_in_use(tmp_path: Path):
    cache = BlobCache(tmp_path / "cache", limit_bytes=3 * MB)
    long_ago = time.time() - 3600
    names = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(5)]
    for index, sha in enumerate(names):
        fd, temp = cache.spool()
        with os.fdopen(fd, "wb") as out:
            out.write(b"x" * MB)
        path = cache.adopt(temp, sha)
        if index < 4:
            os.utime(path, (long_ago + index, long_ago + index))  # used an hour ago, oldest first

    cached = [sha for sha in names if cache.path(sha).exists()]
    assert cached == names[2:]  # the two least recently used went; the newest stays though just added


def test_the_store_settings_are_checked_at_start_up(tmp_path: Path):
    base = {"QM_ENV": "testing", "DATA_DIR": str(tmp_path), "SECRET_KEY": "test-secret"}
    assert Settings.from_env(base).flask_config()["BLOB_STORE"] == "local"
    with pytest.raises(ConfigError, match="needs S3_BUCKET"):
        Settings.from_env({**base, "QM_BLOB_STORE": "s3"})
    with pytest.raises(ConfigError, match="local or s3"):
        Settings.from_env({**base, "QM_BLOB_STORE": "nfs"})

    config = Settings.from_env(
        {**base, "QM_BLOB_STORE": "s3", "S3_BUCKET": "qm-docs", "S3_ENDPOINT_URL": "http://minio:9000"}
    ).flask_config()
    assert (config["S3_BUCKET"], config["S3_ENDPOINT_URL"]) == ("qm-docs", "http://minio:9000")
    assert (config["S3_PRESIGN_SECONDS"], config["BLOB_CACHE_MB"]) == (0, 2048)
