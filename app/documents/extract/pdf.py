"""PDFs: the text layer page by page, OCR for pages that are only a picture, and a preview.

pypdf reads the text layer; pdfium renders pages that need OCR or a preview, and reads the text
of files encrypted in a way pypdf cannot undo alone. Damage deep inside either library is turned
into `CorruptFile`, a password into `EncryptedPdf`.

pdfium is not thread-safe, so every call into it holds one process-wide lock.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
from PIL import Image
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, LimitReachedError, PyPdfError

from .detect import DetectedType
from .errors import CorruptFile, EncryptedPdf, TooLarge, TransientExtractionError
from .ocr import ocr_image
from .result import Extraction, _page_limit_note

log = logging.getLogger(__name__)

OCR_DPI = 150
MIN_TEXT_LAYER_CHARS = 20  # fewer visible characters than this and a PDF page is treated as a scan
BLANK_PAGE_LEVEL = 250  # a rendered page with no pixel darker than this has nothing to read

# pypdf raises its own errors for most damage, but a malformed file can surface as almost any of
# these from deep inside the parser; for an uploaded PDF they all mean "this file is broken".
_PDF_DAMAGE = (
    PyPdfError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    AssertionError,
    RecursionError,
    struct.error,
    zlib.error,
)
_PDFIUM_LOCK = threading.RLock()


def _extract_pdf(path: Path, detected: DetectedType, *, max_pages: int, max_pixels: int, ocr: bool) -> Extraction:
    """The text layer page by page; pages with (almost) none are rendered and OCR'd."""
    notes: list[str] = []
    with path.open("rb") as handle, _PdfiumDocument(path) as rendered:
        reader = _open_pdf(handle)
        # reader is None: encrypted in a way pypdf cannot undo alone, so pdfium reads the text too
        total = rendered.page_count() if reader is None else _pdf_call(lambda: len(reader.pages))
        limit = min(total, max_pages)
        texts: list[str] = []
        ocr_pages = unread = skipped_for_ocr = 0
        for index in range(limit):
            try:
                if reader is None:
                    text = rendered.page_text(index)
                else:
                    text = _pdf_call(lambda index=index: reader.pages[index].extract_text())
                read = True
            except (CorruptFile, TooLarge):
                log.info("text layer of page %d of %s cannot be read", index + 1, path.name, exc_info=True)
                text, read = "", False
            if _visible(text) < MIN_TEXT_LAYER_CHARS:
                if not ocr:
                    skipped_for_ocr += 1
                else:
                    try:
                        image = rendered.page_image(index, max_pixels, notes)
                    except CorruptFile:
                        log.info("page %d of %s cannot be rendered", index + 1, path.name, exc_info=True)
                        if text:
                            notes.append(
                                f"Page {index + 1} could not be rendered for OCR; only its text layer was read."
                            )
                    else:
                        if image is not None:  # None: a blank page, nothing to read
                            try:
                                recognised = ocr_image(image)
                            except TooLarge as error:
                                notes.append(f"Page {index + 1} was not read: {error}")
                            else:
                                ocr_pages += 1
                                read = True
                                if _visible(recognised) > _visible(text):
                                    text = recognised
            if not read:
                unread += 1
                notes.append(f"Page {index + 1} could not be read (it is damaged or too large) and was skipped.")
            texts.append(text)

    if unread and unread == limit:
        raise CorruptFile("The PDF is damaged: none of its pages could be read.")
    if skipped_for_ocr:
        notes.append(
            f"{skipped_for_ocr:,} page(s) have little or no text layer and OCR was off, so their text was not read."
        )
    if total > max_pages:
        notes.append(_page_limit_note(total, max_pages))
    return Extraction(
        text="\n\n".join(text.strip() for text in texts),
        kind="pdf",
        mime=detected.mime,
        pages=total,
        pages_processed=limit,
        ocr_pages=ocr_pages,
        notes=notes,
    )


def _pdf_call(function):
    """Run a pypdf call on an uploaded file, turning its many ways of failing into CorruptFile."""
    try:
        return function()
    except LimitReachedError as error:
        raise TooLarge("The PDF contains a part too large to read safely.") from error
    except _PDF_DAMAGE as error:
        raise CorruptFile("The PDF is damaged or incomplete, so its text cannot be read.") from error


def _open_pdf(handle: io.BufferedReader) -> PdfReader | None:
    """A pypdf reader, decrypted with the empty password when that opens it; None when only pdfium can."""
    reader = _pdf_call(lambda: PdfReader(handle))
    if not reader.is_encrypted:
        return reader
    try:
        result = reader.decrypt("")
    except DependencyError:  # AES needs the `cryptography` package; pdfium decrypts it itself
        return None
    except _PDF_DAMAGE as error:
        raise CorruptFile("The PDF's encryption is damaged, so its text cannot be read.") from error
    if result == PasswordType.NOT_DECRYPTED:
        raise EncryptedPdf("The PDF is password-protected, so its text cannot be read.")
    return reader


class _PdfiumDocument:
    """pdfium's view of the same PDF, opened on first use, for pages that need pixels."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.document: pdfium.PdfDocument | None = None

    def __enter__(self) -> _PdfiumDocument:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.document is not None:
            with _PDFIUM_LOCK:
                self.document.close()
            self.document = None

    def _open(self) -> pdfium.PdfDocument:
        if self.document is None:
            self.document = _pdfium_open(self.path)
        return self.document

    def page_count(self) -> int:
        with _PDFIUM_LOCK:
            return len(self._open())

    @contextlib.contextmanager
    def _page(self, index: int, damaged: str) -> Iterator[pdfium.PdfPage]:
        """One page under the pdfium lock, closed afterwards; pdfium's errors become CorruptFile(`damaged`)."""
        with _PDFIUM_LOCK:
            try:
                page = self._open()[index]
                try:
                    yield page
                finally:
                    page.close()
            except pdfium.PdfiumError as error:
                raise CorruptFile(damaged) from error

    def page_text(self, index: int) -> str:
        with self._page(index, "The PDF is damaged, so its text cannot be read.") as page:
            textpage = page.get_textpage()
            try:
                return textpage.get_text_bounded()
            finally:
                textpage.close()

    def page_image(self, index: int, max_pixels: int, notes: list[str]) -> Image.Image | None:
        """The page in grey at OCR_DPI (less if that passes max_pixels); None when it is blank."""
        with self._page(index, "The PDF is damaged, so this page cannot be shown.") as page:
            width, height = page.get_size()
            scale = OCR_DPI / 72
            if width * height * scale * scale > max_pixels:
                scale = math.sqrt(max_pixels / (width * height))
                notes.append(
                    f"Page {index + 1} is very large; it was read at {scale * 72:.0f} dpi instead of "
                    f"{OCR_DPI} (limit QM_MAX_PIXELS)."
                )
            bitmap = page.render(scale=scale, grayscale=True)
            try:
                image = bitmap.to_pil().copy()  # to_pil() shares the bitmap's buffer
            finally:
                bitmap.close()
        low, _high = image.getextrema()
        return None if low > BLANK_PAGE_LEVEL else image


def _pdfium_open(path: Path) -> pdfium.PdfDocument:
    """Open with pdfium (which tries the empty password itself); map its errors to ours."""
    with _PDFIUM_LOCK:
        try:
            return pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as error:
            if error.err_code == pdfium_raw.FPDF_ERR_PASSWORD:
                raise EncryptedPdf("The PDF is password-protected, so its text cannot be read.") from error
            if error.err_code == pdfium_raw.FPDF_ERR_FILE:
                raise TransientExtractionError(
                    "The file could not be read from storage just now. It will be tried again later."
                ) from error
            raise CorruptFile("The PDF is damaged or incomplete, so its text cannot be read.") from error


def _visible(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def _pdf_thumbnail(path: Path, size: int) -> Image.Image:
    with _PdfiumDocument(path) as rendered, _PDFIUM_LOCK:
        document = rendered._open()
        if len(document) == 0:
            raise CorruptFile("The PDF has no pages, so no preview can be drawn.")
        try:
            page = document[0]
            try:
                width, height = page.get_size()
                bitmap = page.render(scale=size / max(width, height, 1), may_draw_forms=True)
                try:
                    return bitmap.to_pil().convert("RGB")
                finally:
                    bitmap.close()
            finally:
                page.close()
        except pdfium.PdfiumError as error:
            raise CorruptFile("The PDF is damaged, so no preview can be drawn.") from error
