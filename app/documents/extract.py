"""Text out of uploaded files: what a file really is, the words in it, and a small picture of it.

This module owns type detection (from the bytes, never the name), text extraction for PDFs
(the text layer, with OCR for pages that are only a picture), images (OCR), plain text and
Word documents, thumbnails, and the one OCR engine each process loads. It knows nothing of
the database, Flask or the queue: callers pass a path and limits, and get an `Extraction`.

Failures raise `ExtractionError` subclasses whose message is written for the person who
uploaded the file; `permanent` tells the caller whether trying again can help. Whatever a
limit cut short (pages, pixels) or a damaged page made us skip is said in words in
`Extraction.notes`, so nobody mistakes a partial text for the whole document.

pdfium is not thread-safe, so every call into it holds one process-wide lock.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import math
import re
import struct
import threading
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import charset_normalizer
import filetype
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, LimitReachedError, PyPdfError

if TYPE_CHECKING:
    from rapidocr import RapidOCR

log = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 200
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_OCR_THREADS = 2
OCR_DPI = 150
MIN_TEXT_LAYER_CHARS = 20  # fewer visible characters than this and a PDF page is treated as a scan
MIN_OCR_SIDE = 16  # a picture narrower than this holds no readable line of text
MAX_OCR_TALL = 3  # longest tall piece handed to rapidocr, as a multiple of its width
MAX_OCR_WIDE = 8  # ... and wide piece, as a multiple of its height,
MIN_OCR_WIDE_PIECE = 1600  # ... or this many pixels (rapidocr pads wide pieces to a safe shape itself)
MAX_OCR_PIECES = 40  # a picture needing more pieces than this is refused rather than read for minutes
BLANK_PAGE_LEVEL = 250  # a rendered page with no pixel darker than this has nothing to read

HEAD_BYTES = 64 * 1024  # how much of a file type detection looks at
PDF_HEADER_WINDOW = 1024  # readers accept "%PDF-" anywhere in the first KB; so do we
MAX_DOCX_UNPACKED_BYTES = 256 * 1024 * 1024  # a Word file bigger than this unpacked is a zip bomb, not a letter
MAX_TEXT_CHAOS = 0.25  # charset-normalizer's "mess" ratio above which bytes are not text

IMAGE_MIMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/tiff": "TIFF", "image/webp": "WEBP"}
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KINDS = ("pdf", "image", "text", "docx")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The symbols of Windows-1252 (dashes, quotes, €, °, ...) plus multiplication and division signs.
_WESTERN_SYMBOLS = set(bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")) | {"\u00d7", "\u00f7"}
_IN_WORD_SYMBOLS = set("\u2019\u2018\u00b7\u00ad\u2013\u2014")  # apostrophes, middle dot, soft hyphen, dashes
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_MANY_BLANK_LINES = re.compile(r"\n{4,}")

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


@dataclass(frozen=True)
class DetectedType:
    """What a file is, judged from its bytes: a MIME type and one of KINDS."""

    mime: str
    kind: str


@dataclass
class Extraction:
    """The text of a document, and what was read to get it."""

    text: str
    kind: str
    mime: str
    pages: int | None  # pages (or image frames) in the file; None for text and Word files
    pages_processed: int  # pages or frames actually read; 0 for kinds without pages
    ocr_pages: int  # pages or frames whose text came from OCR
    notes: list[str] = field(default_factory=list)


# --- type detection -----------------------------------------------------------------------------


def detect_type(path: Path) -> DetectedType:
    """Decide from the bytes what the file is, so a renamed program is never parsed as a PDF."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            truncated = bool(handle.read(1))
    except OSError as error:
        raise _transient(error) from error
    if not head:
        raise UnsupportedType("The file is empty, so there is no text to read.")
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return DetectedType("application/pdf", "pdf")

    guess = filetype.guess(head)
    if guess is not None and guess.mime in IMAGE_MIMES:
        return DetectedType(guess.mime, "image")
    if head.startswith(b"PK\x03\x04"):
        return _detect_zip(path)
    if guess is not None:
        raise UnsupportedType(
            f"The file is {_describe(guess)}, not a PDF, an image, a Word document or plain text, "
            "so no text can be read from it."
        )

    sample = _decode_text(head, truncated=truncated)
    if sample is not None:
        return DetectedType("text/csv" if _looks_like_csv(sample, truncated) else "text/plain", "text")
    raise UnsupportedType(
        "The file's contents are not a PDF, an image, a Word document or plain text, so no text can be read from it."
    )


def _describe(guess: filetype.Type) -> str:
    """The kind of file filetype found, in words a non-programmer recognises."""
    named = {
        "elf": "a Linux program",
        "exe": "a Windows program",
        "zip": "a ZIP archive",
        "gif": "a GIF image",
        "bmp": "a BMP image",
        "doc": "an old-style Word document (.doc)",
        "xls": "an old-style Excel workbook (.xls)",
    }
    return named.get(guess.extension, f"a {guess.extension.upper()} file ({guess.mime})")


def _detect_zip(path: Path) -> DetectedType:
    """A Word file is a ZIP with word/document.xml; other ZIPs are named, then refused."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise CorruptFile("The file looks like a ZIP archive or Word document but is damaged.") from error
    except OSError as error:
        raise _transient(error) from error
    if "word/document.xml" in names:
        return DetectedType(DOCX_MIME, "docx")
    if "xl/workbook.xml" in names:
        what = "an Excel workbook"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint presentation"
    elif "content.xml" in names and "mimetype" in names:
        what = "an OpenDocument file"
    else:
        what = "a ZIP archive"
    raise UnsupportedType(f"The file is {what}; only PDFs, images, Word documents (.docx) and plain text are read.")


def _decode_text(data: bytes, *, truncated: bool = False) -> str | None:
    """The bytes as text, or None when they are not text; `truncated` means data is a file's start."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        # A sample may end in the middle of a character; that alone does not make it non-UTF-8.
        if truncated and error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            return data[: error.start].decode("utf-8")
    if b"\x00" in data:
        return None
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.chaos > MAX_TEXT_CHAOS:
        return None
    text = _as_western(data, best)
    if text is None:
        text = str(best)
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and char not in "\t\n\r\f\v")
    return None if controls > len(text) / 100 else text


def _as_western(data: bytes, best: charset_normalizer.CharsetMatch) -> str | None:
    """The text as Windows-1252 when that reads as a Western language, else None.

    On short samples charset-normalizer often ranks a look-alike code page (cp1250, cp1125, Mac
    Roman) first for cp1252 bytes and turns "à" into "ŕ". Most of our files come from Western
    European offices, so cp1252 wins unless the detector recognised a language in its own choice,
    provided cp1252 decodes cleanly into Latin letters and common symbols, no symbol sits inside
    a word (Polish "Zażółć" read as cp1252 is "Za¿ó³æ"), and at most half the letters are accented
    (Cyrillic bytes read as cp1252 are almost all accented).
    """
    western = best.encoding in ("cp1252", "latin_1", "iso8859_15")
    if best.coherence >= 0.2 and not western:
        return None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    if western:
        return text  # same letters as latin-1, plus what Windows put in 0x80-0x9F (€, quotes, dashes)
    letters = accented = 0
    for index, char in enumerate(text):
        if char.isascii():
            letters += char.isalpha()
        elif char.isalpha() and "LATIN" in unicodedata.name(char, ""):
            letters += 1
            accented += 1
        elif char not in _WESTERN_SYMBOLS or (char not in _IN_WORD_SYMBOLS and _inside_word(text, index)):
            return None
    return text if accented <= 0.5 * max(letters, 1) else None


def _inside_word(text: str, index: int) -> bool:
    return text[index - 1 : index].isalpha() and text[index + 1 : index + 2].isalpha()


def _looks_like_csv(text: str, truncated: bool) -> bool:
    """Comma, semicolon or tab separated, with the same number (> 1) of columns on the first lines."""
    lines = text.splitlines()
    if truncated:
        lines = lines[:-1]  # the sample's last line may be cut short
    lines = [line for line in lines[:20] if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in (",", ";", "\t", "|"):
        if not all(delimiter in line for line in lines):
            continue
        try:
            widths = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() > 1:
            return True
    return False


# --- extraction ---------------------------------------------------------------------------------


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


def _transient(error: OSError) -> TransientExtractionError:
    log.warning("reading a document failed: %s", error)
    return TransientExtractionError("The file could not be read from storage just now. It will be tried again later.")


def _visible(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def _page_limit_note(total: int, limit: int, unit: str = "pages") -> str:
    return f"Only the first {limit:,} of {total:,} {unit} were read (limit QM_MAX_PAGES)."


# --- PDF ----------------------------------------------------------------------------------------


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

    def page_text(self, index: int) -> str:
        with _PDFIUM_LOCK:
            try:
                page = self._open()[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        return textpage.get_text_bounded()
                    finally:
                        textpage.close()
                finally:
                    page.close()
            except pdfium.PdfiumError as error:
                raise CorruptFile("The PDF is damaged, so its text cannot be read.") from error

    def page_image(self, index: int, max_pixels: int, notes: list[str]) -> Image.Image | None:
        """The page in grey at OCR_DPI (less if that passes max_pixels); None when it is blank."""
        with _PDFIUM_LOCK:
            try:
                page = self._open()[index]
                try:
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
                finally:
                    page.close()
            except pdfium.PdfiumError as error:
                raise CorruptFile("The PDF is damaged, so this page cannot be shown.") from error
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


# --- images -------------------------------------------------------------------------------------


@contextmanager
def _open_image(path: Path, detected: DetectedType) -> Iterator[Image.Image]:
    """Pillow's lazy view of the image (header only), refusing decompression bombs before any decoding."""
    plugin = IMAGE_MIMES.get(detected.mime)
    with path.open("rb") as handle:
        try:
            # Pillow warns between its limit and twice it, and raises above; both mean "do not decode".
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(handle, formats=[plugin] if plugin else None)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise TooLarge(
                "The image claims to be so large (a possible 'decompression bomb') that it was not opened."
            ) from error
        except (UnidentifiedImageError, SyntaxError, ValueError) as error:
            raise CorruptFile("The image is damaged or in a format that cannot be read.") from error
        try:
            yield image
        finally:
            image.close()


def _bounded_frame(image: Image.Image, max_pixels: int, label: str, notes: list[str]) -> Image.Image | None:
    """The current frame decoded in RGB, shrunk while decoding if it is over max_pixels; None if it cannot be.

    Only JPEG can be decoded at a reduced size (1/2 to 1/8); any other format over the limit would
    have to be decoded in full first, so it is skipped with a note.
    """
    width, height = image.size
    if width * height > max_pixels:
        if image.format == "JPEG":
            # draft() picks a scale at least as large as asked; asking half the side keeps the result in bounds.
            factor = 2 * math.sqrt(width * height / max_pixels)
            image.draft("RGB", (max(1, int(width / factor)), max(1, int(height / factor))))
        if image.size[0] * image.size[1] > max_pixels:
            notes.append(
                f"{label} is {width:,} x {height:,} pixels, more than the limit of {max_pixels:,} "
                "(QM_MAX_PIXELS), so it was not read."
            )
            return None
        notes.append(
            f"{label} is {width:,} x {height:,} pixels, more than the limit of {max_pixels:,} (QM_MAX_PIXELS); "
            f"it was read at a reduced size of {image.size[0]:,} x {image.size[1]:,}."
        )
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)  # phone photos store rotation in EXIF
    except (SyntaxError, ValueError, struct.error, zlib.error) as error:
        raise CorruptFile("The image is damaged, so its text cannot be read.") from error
    return _to_rgb(upright)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB on white: transparent areas would otherwise turn black and hide black text."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")  # 16-bit scans: top 8 bits
    return image.convert("RGB")


def _extract_image(path: Path, detected: DetectedType, *, max_pages: int, max_pixels: int, ocr: bool) -> Extraction:
    """OCR every frame (a multi-page TIFF has several) up to max_pages."""
    notes: list[str] = []
    texts: list[str] = []
    processed = ocr_pages = 0
    refusals: list[TooLarge] = []
    with _open_image(path, detected) as image:
        frames = getattr(image, "n_frames", 1)
        limit = min(frames, max_pages)
        for index in range(limit):
            try:
                image.seek(index)
            except EOFError as error:
                raise CorruptFile("The image file ends early; it is damaged or incomplete.") from error
            label = f"Page {index + 1} of the image" if frames > 1 else "The image"
            frame = _bounded_frame(image, max_pixels, label, notes)
            if frame is None:
                refusals.append(TooLarge(f"{label} is larger than the limit of {max_pixels:,} pixels (QM_MAX_PIXELS)."))
                continue
            if ocr:
                try:
                    texts.append(ocr_image(frame))
                except TooLarge as error:
                    refusals.append(error)
                    notes.append(f"{label} was not read: {error}")
                    continue
                ocr_pages += 1
            processed += 1
    if processed == 0 and refusals:
        raise refusals[0]
    if not ocr:
        notes.append("OCR was off, so the text in the image was not read.")
    if frames > max_pages:
        notes.append(_page_limit_note(frames, max_pages, "pages of the image"))
    return Extraction(
        text="\n\n".join(text.strip() for text in texts),
        kind="image",
        mime=detected.mime,
        pages=frames,
        pages_processed=processed,
        ocr_pages=ocr_pages,
        notes=notes,
    )


# --- text and Word ------------------------------------------------------------------------------


def _extract_text(path: Path, detected: DetectedType) -> Extraction:
    """The whole file decoded with its own encoding (BOM, UTF-8, or what charset-normalizer finds)."""
    text = _decode_text(path.read_bytes())
    if text is None:
        raise UnsupportedType("The file is not readable text (its encoding could not be recognised).")
    return Extraction(text=text, kind="text", mime=detected.mime, pages=None, pages_processed=0, ocr_pages=0)


def _extract_docx(path: Path, detected: DetectedType) -> Extraction:
    """Paragraphs and table cells in document order; one table row per line, cells separated by tabs."""
    import docx  # python-docx pulls in lxml's whole tree; only processes that read Word files pay for it
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise CorruptFile("The Word document is damaged, so its text cannot be read.") from error
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise TooLarge(
            f"The Word document unpacks to {unpacked / 1024 / 1024:,.0f} MB, too large to read safely "
            f"(at most {MAX_DOCX_UNPACKED_BYTES // 1024 // 1024} MB)."
        )
    try:
        with path.open("rb") as handle:
            document = docx.Document(handle)
        lines = list(_docx_blocks(document))
    except (zipfile.BadZipFile, KeyError, ValueError, LxmlError, OpcError) as error:
        raise CorruptFile(
            "The Word document is damaged or not in the .docx format, so its text cannot be read."
        ) from error
    return Extraction(
        text="\n".join(lines), kind="docx", mime=detected.mime, pages=None, pages_processed=0, ocr_pages=0
    )


def _docx_blocks(container) -> Iterator[str]:
    """Lines of a document or table cell: paragraphs as they are, tables row by row."""
    from docx.table import Table

    for block in container.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells, seen = [], []
                for cell in row.cells:
                    if any(cell._tc is other for other in seen):  # a merged cell is listed once per column it spans
                        continue
                    seen.append(cell._tc)
                    cells.append(" ".join(line for line in _docx_blocks(cell) if line.strip()))
                yield "\t".join(cells)
        else:
            yield block.text


# --- OCR ----------------------------------------------------------------------------------------

_engine: RapidOCR | None = None
_engine_lock = threading.Lock()
_engine_threads = DEFAULT_OCR_THREADS


def configure_ocr(threads: int) -> None:
    """Set onnxruntime's thread count for this process's engine (from the caller's settings), before first use."""
    global _engine, _engine_threads
    if threads < 1:
        raise ValueError("OCR needs at least one thread")
    with _engine_lock:
        if threads != _engine_threads:
            _engine_threads = threads
            _engine = None


def ocr_engine() -> RapidOCR:
    """The process's one OCR engine, created on first use: loading the models costs about a second."""
    global _engine
    engine = _engine
    if engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = create_ocr_engine(_engine_threads)
            engine = _engine
    return engine


def create_ocr_engine(threads: int = DEFAULT_OCR_THREADS) -> RapidOCR:
    """A new rapidocr engine on the models inside its wheel (nothing is downloaded), tuned for upright scans."""
    from rapidocr import RapidOCR  # imports OpenCV and onnxruntime: only processes that OCR pay for them

    return RapidOCR(
        params={
            "Global.use_cls": False,  # the orientation classifier garbles upright lines more than it fixes
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def ocr_image(image: Image.Image) -> str:
    """The words in the picture, one text line per line, top to bottom and left to right."""
    engine = ocr_engine()
    boxes: list[list[tuple[float, float]]] = []
    texts: list[str] = []
    for (left, top), piece in _ocr_pieces(_to_rgb(image)):
        result = engine(piece)
        found_boxes, found_texts = getattr(result, "boxes", None), getattr(result, "txts", None)
        if found_boxes is None or not found_texts:
            continue
        for box, text in zip(found_boxes, found_texts, strict=True):
            boxes.append([(float(x) + left, float(y) + top) for x, y in box])
            texts.append(text)
    return "\n".join(_reading_order(boxes, texts))


def _ocr_pieces(image: Image.Image) -> list[tuple[tuple[int, int], Image.Image]]:
    """The image cut into pieces rapidocr can take, each with its offset in the whole.

    rapidocr scales the short side of what it gets up to 736 pixels (after squeezing the long side
    into 2,000 and stretching the short side to at least 30), so a long thin picture (a till
    receipt, a screenshot of a whole web page) became hundreds of megapixels: a 5 x 2,000 strip
    took the whole machine's memory. Tall pieces are kept within MAX_OCR_TALL times their width;
    wide ones within MAX_OCR_WIDE times their height or MIN_OCR_WIDE_PIECE pixels, which rapidocr
    pads to a safe shape itself. Cuts fall in the widest light gap near each boundary: between two
    lines of a receipt, or between two words of a line.
    """
    width, height = image.size
    short, long = min(width, height), max(width, height)
    if short < MIN_OCR_SIDE:
        return []
    tall = height > width
    limit = short * MAX_OCR_TALL if tall else max(short * MAX_OCR_WIDE, MIN_OCR_WIDE_PIECE)
    if long <= limit:
        return [((0, 0), image)]
    step = int(limit * 0.8)
    if long / step > MAX_OCR_PIECES:  # every piece but the last is at least 3/4 of a step: a cheap early refusal
        raise TooLarge(f"The picture is too long and narrow ({width:,} x {height:,} pixels) to be read with OCR.")
    # Mean brightness of each row (tall) or column (wide): text lowers it, the gaps between lines and words do not.
    profile = image.convert("L").resize((1, height) if tall else (width, 1), Image.Resampling.BOX)
    brightness = profile.tobytes()
    cuts = [0]
    while long - cuts[-1] > limit:
        end = cuts[-1] + step
        cuts.append(_widest_gap(brightness, end - step // 4, end))
    cuts.append(long)
    pieces = []
    for begin, end in itertools.pairwise(cuts):
        box = (0, begin, width, end) if tall else (begin, 0, end, height)
        pieces.append(((box[0], box[1]), image.crop(box)))
    return pieces


def _widest_gap(brightness: bytes, start: int, end: int) -> int:
    """The middle of the longest run of the lightest lines between start and end."""
    lightest = max(brightness[start:end])
    best_start = best_length = run_start = 0
    for position in range(start, end):
        if brightness[position] >= lightest - 1:
            if position == start or brightness[position - 1] < lightest - 1:
                run_start = position
            if position - run_start + 1 > best_length:
                best_start, best_length = run_start, position - run_start + 1
    return best_start + best_length // 2


def _reading_order(boxes, texts) -> list[str]:
    """Group text boxes into lines (vertical centre inside the line's band), then sort each line by x."""
    items = []
    for box, text in zip(boxes, texts, strict=True):
        ys = [float(point[1]) for point in box]
        xs = [float(point[0]) for point in box]
        items.append((min(ys), max(ys), min(xs), text))
    items.sort(key=lambda item: (item[0], item[2]))
    rows: list[tuple[float, float, list[tuple[float, str]]]] = []
    for top, bottom, left, text in items:
        centre = (top + bottom) / 2
        if rows and rows[-1][0] <= centre <= rows[-1][1]:
            rows[-1][2].append((left, text))
        else:
            rows.append((top, bottom, [(left, text)]))
    return [" ".join(text for _left, text in sorted(row)) for _top, _bottom, row in rows]


# --- thumbnails ---------------------------------------------------------------------------------


def thumbnail(
    path: Path, detected: DetectedType, size: int = 320, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> bytes | None:
    """A PNG of the first page or the image, at most size x size; None for kinds with nothing to show.

    Raises the same ExtractionError kinds as `extract` (a bomb image is TooLarge, never decoded).
    """
    if detected.kind not in ("pdf", "image"):
        return None
    try:
        picture = (
            _pdf_thumbnail(path, size) if detected.kind == "pdf" else _image_thumbnail(path, detected, size, max_pixels)
        )
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
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()


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


def _image_thumbnail(path: Path, detected: DetectedType, size: int, max_pixels: int) -> Image.Image:
    notes: list[str] = []
    with _open_image(path, detected) as image:
        if image.format == "JPEG":
            image.draft("RGB", (size, size))  # decode at 1/2 to 1/8 scale: a thumbnail needs no more
        frame = _bounded_frame(image, max_pixels, "The image", notes)
        if frame is None:
            raise TooLarge(f"The image is larger than the limit of {max_pixels:,} pixels, so no preview was drawn.")
        frame.thumbnail((size, size))
        return frame
