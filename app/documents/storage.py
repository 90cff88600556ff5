"""Where document bytes live: the configured blob store, and the local one.

`QM_BLOB_STORE=local` (the default) keeps blobs under `DATA_DIR/blobs/ab/cd/<sha256>`, written
to a temporary file, fsynced and renamed into place, so a crash never leaves a half-written blob
under a real name; thumbnails go under `DATA_DIR/thumbnails/`. `QM_BLOB_STORE=s3` keeps both in
an S3-compatible bucket (`app.documents.s3`). Anything that stores or reads blobs goes through
`blob_store()` and the `BlobStore` protocol (`app.documents.blobs`), never through paths.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from app.documents.blobs import (
    CHUNK,
    BlobStore,
    BlobTooLarge,
    StoredBlob,
    blob_name,
    copy_hashing,
    derived_name,
)
from app.files import fsync_directory

__all__ = ["CHUNK", "BlobStore", "BlobTooLarge", "LocalBlobStore", "StoredBlob", "blob_store", "thumbnail_path"]


class LocalBlobStore:
    """Blobs as files under one folder, sharded by the first two byte pairs of the hash."""

    def __init__(self, root: Path, derived_root: Path | None = None) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self.derived_root = derived_root if derived_root is not None else root.parent

    def local_path(self, sha256: str) -> Path:
        return self.root / blob_name(sha256)

    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredBlob:
        """Copy `stream` in, hashing as it goes; never holds the whole file in memory."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        temp = Path(temp_name)
        try:
            sha256, size = copy_hashing(stream, fd, max_bytes, durable=True)
            final = self.local_path(sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            # Same name, same bytes: if it is there already, ours is a spare copy.
            os.replace(temp, final)
            fsync_directory(final.parent)
            return StoredBlob(sha256, size, final)
        finally:
            temp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        return self.local_path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.local_path(sha256).exists()

    def delete(self, sha256: str) -> None:
        self.local_path(sha256).unlink(missing_ok=True)

    def download_url(self, sha256: str, *, filename: str, mimetype: str) -> str | None:
        """None: the app sends local files itself."""
        return None

    def _derived_path(self, kind: str, sha256: str) -> Path:
        return self.derived_root / derived_name(kind, sha256)

    def put_derived(self, kind: str, sha256: str, data: bytes) -> None:
        """Write whole or not at all (temporary name, then rename); derived data needs no fsync."""
        target = self._derived_path(kind, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_bytes(data)
        temp.replace(target)

    def open_derived(self, kind: str, sha256: str) -> BinaryIO | None:
        try:
            return self._derived_path(kind, sha256).open("rb")
        except FileNotFoundError:
            return None

    def derived_exists(self, kind: str, sha256: str) -> bool:
        return self._derived_path(kind, sha256).exists()

    def delete_derived(self, kind: str, sha256: str) -> int:
        path = self._derived_path(kind, sha256)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size


def blob_store() -> BlobStore:
    """The app's blob store: local files under DATA_DIR (default), or the S3 bucket when QM_BLOB_STORE=s3."""
    config = current_app.config
    if config.get("BLOB_STORE", "local") == "s3":
        from app.documents import s3  # boto3 is loaded only where it is used

        return s3.store_for(current_app)
    data_dir = Path(config["DATA_DIR"])
    return LocalBlobStore(data_dir / "blobs", data_dir)


def thumbnail_path(sha256: str) -> Path:
    """Where the local store keeps a document's first-page thumbnail (PNG); derived data, safe to delete."""
    return Path(current_app.config["DATA_DIR"]) / derived_name("thumbnails", sha256)
