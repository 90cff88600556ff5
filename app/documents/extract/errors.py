"""The errors extraction raises, and which of them are worth trying again.

Every failure is an `ExtractionError` whose message is written for the person who uploaded the
file; `permanent` tells the caller whether trying again can help. This module owns the error
classes and the one translation of a storage failure (an OSError) into a transient error.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class ExtractionError(Exception):
    """Text could not be taken from a file; the message says why, for the person who uploaded it."""

    permanent: bool = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedType(ExtractionError):
    """The bytes are not a kind of document we read (whatever the file name says)."""


class CorruptFile(ExtractionError):
    """The file claims to be a kind we read but is damaged or truncated."""


class EncryptedPdf(ExtractionError):
    """The PDF needs a password to open; we never guess one."""


class TooLarge(ExtractionError):
    """Reading the file in full would take more memory than is safe (an image bomb, say)."""


class TransientExtractionError(ExtractionError):
    """Reading failed for a reason outside the file (disk, memory); trying again may work."""

    permanent = False


def _transient(error: OSError) -> TransientExtractionError:
    log.warning("reading a document failed: %s", error)
    return TransientExtractionError("The file could not be read from storage just now. It will be tried again later.")
