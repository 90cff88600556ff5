"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, …), and this machine's cache of them.

One bucket holds everything, each kind under its own prefix: `blobs/ab/cd/<sha256>` (the same
names as DATA_DIR/blobs and backups) and `thumbnails/ab/<sha256>.png`. Credentials come from
boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or the pod's role); they
never pass through our settings.

An upload's key is its SHA-256, which is known only once the last byte has arrived, so `put`
streams the upload into a temporary file under DATA_DIR/cache while hashing it (never the whole
file in memory; the size limit stops it before anything reaches the bucket), then sends that file
with boto3's managed transfer (multipart above 8 MB, eight parts in flight), or nothing at all
when the bucket has these bytes already. The temporary file then becomes this machine's cached
copy, which is what text extraction reads on the same machine.

`open` streams an object (one GET); `local_path` gives a file for code that needs one (the
worker's extraction): a copy under DATA_DIR/cache/blobs, downloaded on demand (one streamed GET,
hashed on the way) and kept only when it hashes to its name. The cache is bounded
(QM_BLOB_CACHE_MB, least recently used out first) and safe to delete at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from flask import Flask

from app.documents.blobs import CHUNK, BlobCorrupt, StoredBlob, blob_name, copy_hashing, derived_name

MB = 1024 * 1024
# Parts of 8 MB, eight in flight (boto3's default is ten). Parts are read from the spooled file as they
# are sent, so memory stays flat whatever the file's size (docs/PERFORMANCE.md, "Object storage (S3)").
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=8)
CACHE_GRACE_SECONDS = 15 * 60  # a cached file used this recently may be open in a worker: never trimmed
STALE_SPOOL_SECONDS = 24 * 3600  # a temporary file this old was left by a process that died


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


class _HashingWriter:
    """A file to write to that hashes what passes through, so a download is checked in the same pass."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.out.write(data)


def _attachment(filename: str) -> str:
    """A Content-Disposition for S3 to send with a presigned download (ASCII fallback plus RFC 5987 name)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(ch for ch in fallback if ch not in '"\\' and ch.isprintable()) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class BlobCache:
    """Verified local copies of blobs by SHA-256; any file here may be deleted at any time."""

    def __init__(self, root: Path, limit_bytes: int) -> None:
        self.root = root / "blobs"
        self.incoming = root / "incoming"
        self.limit_bytes = limit_bytes

    def path(self, sha256: str) -> Path:
        return self.root / blob_name(sha256)

    def spool(self) -> tuple[int, Path]:
        """A new temporary file (descriptor, path) on the cache's file system, so adopting it is a rename."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.incoming, prefix="spool-")
        return fd, Path(name)

    def adopt(self, temp: Path, sha256: str) -> Path:
        """Make a temporary file whose bytes hash to `sha256` the cached copy."""
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        self.trim(keep=final)
        return final

    def fetch(self, sha256: str, download: Callable[[_HashingWriter], None]) -> Path:
        """The cached copy, downloaded first when there is none; a copy that does not hash to its name is refused."""
        final = self.path(sha256)
        with contextlib.suppress(FileNotFoundError):
            os.utime(final)  # used now: the last to be trimmed
            return final
        fd, temp = self.spool()
        try:
            with os.fdopen(fd, "wb") as out:
                hashing = _HashingWriter(out)
                download(hashing)
            if hashing.digest.hexdigest() != sha256:
                raise BlobCorrupt(f"the stored bytes of {sha256} no longer hash to their name")
            return self.adopt(temp, sha256)
        finally:
            temp.unlink(missing_ok=True)

    def discard(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def trim(self, keep: Path | None = None) -> None:
        """Remove the least recently used copies until the cache fits its limit (copies in use stay)."""
        now = time.time()
        files = []
        for folder in (self.root, self.incoming):
            for path in folder.rglob("*") if folder.is_dir() else ():
                with contextlib.suppress(FileNotFoundError):
                    stat = path.stat()
                    if folder is self.incoming and stat.st_mtime < now - STALE_SPOOL_SECONDS:
                        path.unlink(missing_ok=True)  # left behind by a process that died mid-upload
                    elif path.is_file():
                        files.append((stat.st_mtime, stat.st_size, path, folder is self.root))
        total = sum(size for _, size, _, _ in files)
        for mtime, size, path, evictable in sorted(files, key=lambda f: f[0]):
            if total <= self.limit_bytes:
                break
            if evictable and path != keep and mtime < now - CACHE_GRACE_SECONDS:
                path.unlink(missing_ok=True)
                total -= size


class S3BlobStore:
    """The `BlobStore` protocol on one bucket; thread-safe (one boto3 client, shared)."""

    def __init__(self, client, bucket: str, cache: BlobCache, *, presign_seconds: int = 0) -> None:
        self.client = client
        self.bucket = bucket
        self.cache = cache
        self.presign_seconds = presign_seconds

    @staticmethod
    def key(sha256: str) -> str:
        return "blobs/" + blob_name(sha256)

    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredBlob:
        """Spool and hash, then upload under the hash (multipart when large); the same bytes are sent once."""
        fd, temp = self.cache.spool()
        try:
            sha256, size = copy_hashing(stream, fd, max_bytes)
            if not self.exists(sha256):
                self.client.upload_file(str(temp), self.bucket, self.key(sha256), Config=TRANSFER)
            return StoredBlob(sha256, size, self.cache.adopt(temp, sha256))
        finally:
            temp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        """The object's bytes as they arrive (one GET, read in the caller's chunks)."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(f"no blob {sha256} in bucket {self.bucket}") from None
            raise

    def local_path(self, sha256: str) -> Path:
        """This machine's verified copy, downloaded when it has none (FileNotFoundError when the bucket has none)."""

        def download(out: _HashingWriter) -> None:
            # One streamed GET, written in order and hashed on the way (parallel ranged GETs would write
            # out of order and need a second pass to hash; documents are rarely big enough to gain).
            with self.open(sha256) as stream:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)

        return self.cache.fetch(sha256, download)

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def exists(self, sha256: str) -> bool:
        return self._head(self.key(sha256)) is not None

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        self.cache.discard(sha256)

    def download_url(self, sha256: str, *, filename: str, mimetype: str) -> str | None:
        """A presigned GET valid QM_S3_PRESIGN_SECONDS, as an attachment; None (the app streams it) when that is 0."""
        if self.presign_seconds <= 0:
            return None
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.key(sha256),
                "ResponseContentDisposition": _attachment(filename),
                "ResponseContentType": mimetype,
            },
            ExpiresIn=self.presign_seconds,
        )

    def put_derived(self, kind: str, sha256: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=derived_name(kind, sha256), Body=data)

    def open_derived(self, kind: str, sha256: str) -> BinaryIO | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=derived_name(kind, sha256))["Body"]
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def derived_exists(self, kind: str, sha256: str) -> bool:
        return self._head(derived_name(kind, sha256)) is not None

    def delete_derived(self, kind: str, sha256: str) -> int:
        key = derived_name(kind, sha256)
        head = self._head(key)
        if head is None:
            return 0
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return int(head.get("ContentLength", 0))


def make_client(endpoint_url: str | None):
    """An S3 client; path-style addressing for a custom endpoint (MinIO, Ceph and emulators expect it)."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        max_pool_connections=16,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)


def store_for(app: Flask) -> S3BlobStore:
    """The app's S3 store, made once per process (a forked worker must not share its parent's connections)."""
    config = app.config
    names = ("S3_ENDPOINT_URL", "S3_BUCKET", "S3_PRESIGN_SECONDS", "BLOB_CACHE_MB", "DATA_DIR")
    made_for = (os.getpid(), *(config[name] for name in names))
    made = app.extensions.get("s3_blob_store")
    if made is not None and made[0] == made_for:
        return made[1]
    store = S3BlobStore(
        make_client(config["S3_ENDPOINT_URL"]),
        config["S3_BUCKET"],
        BlobCache(Path(config["DATA_DIR"]) / "cache", config["BLOB_CACHE_MB"] * MB),
        presign_seconds=config["S3_PRESIGN_SECONDS"],
    )
    app.extensions["s3_blob_store"] = (made_for, store)
    return store
