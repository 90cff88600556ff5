"""Where document bytes live: a content-addressed blob store.

A blob's name is its SHA-256, so the same bytes are stored once and a name
always means the same content. `LocalBlobStore` keeps blobs under
`DATA_DIR/blobs/ab/cd/<sha256>`, written to a temporary file, fsynced and
renamed into place, so a crash never leaves a half-written blob under a real
name. Anything that stores blobs goes through `BlobStore`, so an S3 store can
take its place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

from app.files import fsync_directory

CHUNK = 1024 * 1024


class BlobTooLarge(ValueError):
    """The stream went past the size limit; nothing was kept."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    path: Path  # where the bytes can be read locally


class BlobStore(Protocol):
    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredBlob: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def local_path(self, sha256: str) -> Path: ...
    def exists(self, sha256: str) -> bool: ...
    def delete(self, sha256: str) -> None: ...


class LocalBlobStore:
    """Blobs as files under one folder, sharded by the first two byte pairs of the hash."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"

    def local_path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredBlob:
        """Copy `stream` in, hashing as it goes; never holds the whole file in memory."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, temp_name = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(f"larger than {max_bytes // (1024 * 1024)} MB")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
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


def blob_store() -> BlobStore:
    """The app's blob store (local files under DATA_DIR/blobs)."""
    return LocalBlobStore(Path(current_app.config["DATA_DIR"]) / "blobs")


def thumbnail_path(sha256: str) -> Path:
    """Where a document's first-page thumbnail (PNG) is kept; derived data, safe to delete."""
    return Path(current_app.config["DATA_DIR"]) / "thumbnails" / sha256[:2] / f"{sha256}.png"
