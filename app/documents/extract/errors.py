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


class TimeLimitReached(ExtractionError):
    """Reading took longer than the task's time limit; the work was stopped. Permanent: it would only time out again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"Reading this file took longer than {describe_seconds(seconds)}, so it was stopped and will not be "
            "tried again by itself. Upload it in smaller parts (fewer pages per file), or ask an admin to raise "
            "the limit (QM_TASK_TIMEOUT_SECONDS)."
        )
        self.seconds = seconds


class ReaderStopped(TransientExtractionError):
    """The child reading the file died (a crash in a C library, out of memory); another attempt may work."""


class ChildError(Exception):
    """An unexpected error in the child that could not be sent back as it was (only its type name and text)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(kind, text)  # both in args: an exception is pickled as its class and args
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.args[0]}: {self.args[1]}"


def describe_seconds(seconds: float) -> str:
    """A duration as a person says it: "2 seconds", "15 minutes"."""
    whole = round(seconds)
    if whole >= 120 and whole % 60 == 0:
        return f"{whole // 60} minutes"
    return "1 second" if whole == 1 else f"{whole} seconds"


def _transient(error: OSError) -> TransientExtractionError:
    log.warning("reading a document failed: %s", error)
    return TransientExtractionError("The file could not be read from storage just now. It will be tried again later.")
