"""What a document action can refuse, each with the HTTP status the web answers it with."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class DocumentError(DomainError):
    """An upload or document action was refused; nothing was stored or changed."""


class EmptyUpload(DocumentError):
    """A file of zero bytes."""


class UploadTooLarge(DocumentError):
    """Over MAX_CONTENT_LENGTH."""

    status_code = 413


class UnsupportedUpload(DocumentError):
    """Not a kind of file we read, whatever its name says."""

    status_code = 415


class DocumentNotFound(DocumentError, NotFound):
    """No document has that number."""


class DocumentStateError(DocumentError, Conflict):
    """The document is not in a state that allows the action (already deleted, not failed, being read...)."""


class BeingPurged(DocumentStateError):
    """The document is being removed from the trash for good: it cannot come back, nor its bytes be taken in."""
