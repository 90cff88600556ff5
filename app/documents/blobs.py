"""What every blob store shares: the protocol, the names of things, and the errors.

A blob's name is its SHA-256, so the same bytes are stored once and a name always means the same
content. Derived files (a document's thumbnail) are named by the same SHA-256 under a prefix of
their own, so they can be drawn again and deleted with the blob. The stores themselves are in
`app.documents.storage` (files under DATA_DIR) and `app.documents.s3` (S3-compatible object
storage); this module imports neither, so both can import it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024
# Kinds of derived file, each with the suffix its name ends in.
DERIVED = {"thumbnails": ".png"}
_HEX = frozenset("0123456789abcdef")


class BlobTooLarge(ValueError):
    """The stream went past the size limit; nothing was kept."""


class BlobCorrupt(OSError):
    """Bytes read back did not hash to their name; the copy was not kept."""


def copy_hashing(stream: BinaryIO, fd: int, max_bytes: int, *, durable: bool = False) -> tuple[str, int]:
    """Copy `stream` into the open file `fd` a chunk at a time, hashing as it goes; (sha256, size).

    Raises BlobTooLarge past `max_bytes` (the caller removes the file). `durable` fsyncs before returning.
    Both stores spool an upload this way, so neither ever holds a whole file in memory.
    """
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise BlobTooLarge(f"larger than {max_bytes // (1024 * 1024)} MB")
            digest.update(chunk)
            out.write(chunk)
        if durable:
            out.flush()
            os.fsync(out.fileno())
    return digest.hexdigest(), size


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    path: Path  # where the bytes can be read locally (for S3: this machine's cached copy)


def checked_sha256(sha256: str) -> str:
    """The digest itself; a name that is not one never reaches a path or a key."""
    if len(sha256) != 64 or not _HEX.issuperset(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def blob_name(sha256: str) -> str:
    """`ab/cd/<sha256>`: the sharded name a blob has in every store (and in backups)."""
    checked_sha256(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def derived_name(kind: str, sha256: str) -> str:
    """`thumbnails/ab/<sha256>.png`: where a derived file of a blob lives, under its own prefix."""
    checked_sha256(sha256)
    return f"{kind}/{sha256[:2]}/{sha256}{DERIVED[kind]}"


class BlobStore(Protocol):
    """Content-addressed bytes plus their derived files; `blob_store()` returns the configured one."""

    def put(self, stream: BinaryIO, *, max_bytes: int) -> StoredBlob: ...
    def open(self, sha256: str) -> BinaryIO: ...  # FileNotFoundError when absent
    def local_path(self, sha256: str) -> Path: ...  # a file on this machine with the bytes (S3: fetched on demand)
    def exists(self, sha256: str) -> bool: ...
    def delete(self, sha256: str) -> None: ...
    def download_url(self, sha256: str, *, filename: str, mimetype: str) -> str | None: ...
    def put_derived(self, kind: str, sha256: str, data: bytes) -> None: ...
    def open_derived(self, kind: str, sha256: str) -> BinaryIO | None: ...
    def derived_exists(self, kind: str, sha256: str) -> bool: ...
    def delete_derived(self, kind: str, sha256: str) -> int: ...  # bytes freed
