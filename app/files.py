"""File-system steps the blob store and the search index both need to be crash-safe."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(folder: Path) -> None:
    """Make a rename into `folder` durable: flush the directory entry itself, not only the file."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
