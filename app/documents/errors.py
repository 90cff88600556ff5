"""What a document action can refuse, each with the HTTP status the web answers it with."""

from __future__ import annotations

from app.errors import DomainError


class DocumentError(DomainError):
    """An upload or document action was refused; nothing was stored or changed."""


class EmptyUpload(DocumentError):
    pass


class UploadTooLarge(DocumentError):
    status_code = 413


class UnsupportedUpload(DocumentError):
    status_code = 415


class DocumentNotFound(DocumentError):
    status_code = 404


class DocumentStateError(DocumentError):
    status_code = 409


class BeingPurged(DocumentStateError):
    """The document is being removed from the trash for good: it cannot come back, nor its bytes be taken in."""
