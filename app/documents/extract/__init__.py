"""Text out of uploaded files: what a file really is, the words in it, and a small picture of it.

This package owns type detection (from the bytes, never the name), text extraction for PDFs
(the text layer, with OCR for pages that are only a picture), images (OCR), plain text and
Word documents, thumbnails, and the one OCR engine each process loads. It knows nothing of
the database, Flask or the queue: callers pass a path and limits, and get an `Extraction`.

Failures raise `ExtractionError` subclasses whose message is written for the person who
uploaded the file; `permanent` tells the caller whether trying again can help. Whatever a
limit cut short (pages, pixels) or a damaged page made us skip is said in words in
`Extraction.notes`, so nobody mistakes a partial text for the whole document.

This module holds the two entry points, `extract` and `thumbnail`, which pick the reader for a
file's kind and turn unexpected failures into `ExtractionError`s, and the final clean-up of the
text (`normalize_text`); it re-exports the names callers use, so `extract.<name>` keeps working.
The readers live in:

- `errors`: `ExtractionError` and its subclasses;
- `detect`: `detect_type`, `DetectedType`, and the sniffing of ZIP containers and text;
- `result`: `Extraction`, what every reader returns;
- `pdf`: PDFs (pypdf for the text layer, pdfium for pixels) and their previews;
- `images`: images (safe opening, frames within the pixel limit) and their previews;
- `text`: plain text and Word documents;
- `ocr`: the process's OCR engine, `ocr_image` and the slicing of long thin pictures;
- `child`: the same two entry points run in a child process that a time limit can stop.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from .detect import (
    DOCX_MIME,
    HEAD_BYTES,
    IMAGE_MIMES,
    KINDS,
    MAX_TEXT_CHAOS,
    PDF_HEADER_WINDOW,
    DetectedType,
    detect_type,
)
from .errors import (
    ChildError,
    CorruptFile,
    EncryptedPdf,
    ExtractionError,
    ReaderStopped,
    TimeLimitReached,
    TooLarge,
    TransientExtractionError,
    UnsupportedType,
    _transient,
)
from .images import _extract_image, _image_thumbnail
from .ocr import (
    DEFAULT_OCR_THREADS,
    MAX_OCR_PIECES,
    MAX_OCR_TALL,
    MAX_OCR_WIDE,
    MIN_OCR_SIDE,
    MIN_OCR_WIDE_PIECE,
    configure_ocr,
    create_ocr_engine,
    ocr_engine,
    ocr_image,
)
from .pdf import BLANK_PAGE_LEVEL, MIN_TEXT_LAYER_CHARS, OCR_DPI, _extract_pdf, _pdf_thumbnail
from .result import Extraction
from .text import MAX_DOCX_UNPACKED_BYTES, MAX_DOCX_XML_BYTES, _extract_docx, _extract_text
from .text_preview import text_page

__all__ = [
    "BLANK_PAGE_LEVEL",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_OCR_THREADS",
    "DOCX_MIME",
    "HEAD_BYTES",
    "IMAGE_MIMES",
    "KINDS",
    "MAX_DOCX_UNPACKED_BYTES",
    "MAX_DOCX_XML_BYTES",
    "MAX_OCR_PIECES",
    "MAX_OCR_TALL",
    "MAX_OCR_WIDE",
    "MAX_TEXT_CHAOS",
    "MIN_OCR_SIDE",
    "MIN_OCR_WIDE_PIECE",
    "MIN_TEXT_LAYER_CHARS",
    "OCR_DPI",
    "PDF_HEADER_WINDOW",
    "ChildError",
    "CorruptFile",
    "DetectedType",
    "EncryptedPdf",
    "Extraction",
    "ExtractionError",
    "ReaderStopped",
    "TimeLimitReached",
    "TooLarge",
    "TransientExtractionError",
    "UnsupportedType",
    "configure_ocr",
    "create_ocr_engine",
    "detect_type",
    "extract",
    "normalize_text",
    "ocr_engine",
    "ocr_image",
    "thumbnail",
]

DEFAULT_MAX_PAGES = 200
DEFAULT_MAX_PIXELS = 50_000_000

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_MANY_BLANK_LINES = re.compile(r"\n{4,}")


def extract(
    path: Path,
    detected: DetectedType | None = None,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    ocr: bool = True,
) -> Extraction:
    """The text of the file at `path`, read the way its kind needs; limits are noted, never silent."""
    try:
        detected = detected or detect_type(path)
        if detected.kind == "pdf":
            result = _extract_pdf(path, detected, max_pages=max_pages, max_pixels=max_pixels, ocr=ocr)
        elif detected.kind == "image":
            result = _extract_image(path, detected, max_pages=max_pages, max_pixels=max_pixels, ocr=ocr)
        elif detected.kind == "text":
            result = _extract_text(path, detected)
        elif detected.kind == "docx":
            result = _extract_docx(path, detected)
        else:
            raise UnsupportedType(f"Files of kind {detected.kind!r} cannot be read.")
    except ExtractionError:
        raise
    except MemoryError as error:
        raise TransientExtractionError(
            "The server ran out of memory while reading the file. It will be tried again later."
        ) from error
    except OSError as error:
        if error.errno is None:  # Pillow and friends report undecodable data as an OSError without errno
            raise CorruptFile("The file is damaged, so its text cannot be read.") from error
        raise _transient(error) from error
    result.text = normalize_text(result.text)
    if not result.text and not result.notes:
        result.notes.append("No text was found in the file.")
    return result


def normalize_text(text: str) -> str:
    """One newline style, no trailing spaces or control characters, at most two blank lines in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = _CONTROL_CHARS.sub("", text)
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from broken fonts: not storable
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _MANY_BLANK_LINES.sub("\n\n\n", text).strip("\n")


def thumbnail(
    path: Path, detected: DetectedType, size: int = 320, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> bytes | None:
    """A PNG of the first page, the image, or (text, Word) the opening lines drawn on a page, at most size x size;
    None when there is nothing to show.

    Raises the same ExtractionError kinds as `extract` (a bomb image is TooLarge, never decoded).
    """
    if detected.kind not in ("pdf", "image", "text", "docx"):
        return None
    try:
        if detected.kind == "pdf":
            picture = _pdf_thumbnail(path, size)
        elif detected.kind == "image":
            picture = _image_thumbnail(path, detected, size, max_pixels)
        else:  # text and Word: the opening lines of the text drawn on a page
            reader = _extract_text if detected.kind == "text" else _extract_docx
            picture = text_page(reader(path, detected).text, size)
    except ExtractionError:
        raise
    except MemoryError as error:
        raise TransientExtractionError("The server ran out of memory while drawing the preview.") from error
    except OSError as error:
        if error.errno is None:
            raise CorruptFile("The file is damaged, so no preview can be drawn.") from error
        raise _transient(error) from error
    if picture is None:
        return None
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()
