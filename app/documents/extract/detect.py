"""What a file really is, judged from its bytes and never from its name.

This module owns type detection (`detect_type`, `DetectedType`, the kinds and MIME types we
read), the sniffing of ZIP containers (Word, Excel, PowerPoint, OpenDocument) and of text
(byte-order marks, UTF-8, charset-normalizer with a preference for Windows-1252, CSV), and the
decoding of bytes as text that the text reader reuses for whole files.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import filetype

from .errors import CorruptFile, UnsupportedType, _transient

HEAD_BYTES = 64 * 1024  # how much of a file type detection looks at
PDF_HEADER_WINDOW = 1024  # readers accept "%PDF-" anywhere in the first KB; so do we
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


@dataclass(frozen=True)
class DetectedType:
    """What a file is, judged from its bytes: a MIME type and one of KINDS."""

    mime: str
    kind: str


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
    if sample is not None and _only_control_codes(sample):
        raise UnsupportedType(
            "The file holds only zero bytes or control codes, no readable characters, so there is no text to read."
        )
    if sample is not None:
        return DetectedType("text/csv" if _looks_like_csv(sample, truncated) else "text/plain", "text")
    raise UnsupportedType(
        "The file's contents are not a PDF, an image, a Word document or plain text, so no text can be read from it."
    )


def _only_control_codes(sample: str) -> bool:
    """Zero bytes and control codes with nothing readable among them (a blank file is text: it waits for review)."""
    readable = any(char.isprintable() and not char.isspace() for char in sample)
    controls = any(unicodedata.category(char) == "Cc" and char not in "\t\n\r\f\v" for char in sample)
    return controls and not readable


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
