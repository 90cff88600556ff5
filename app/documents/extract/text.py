"""Plain text and Word documents: the whole file decoded, or a .docx's paragraphs and tables.

Plain text is decoded with the same rules type detection uses (see `detect._decode_text`);
Word files are checked for zip bombs before python-docx unpacks them, and their paragraphs and
table cells are read in document order.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from .detect import DetectedType, _decode_text
from .errors import CorruptFile, TooLarge, UnsupportedType
from .result import Extraction

# What python-docx would hold in memory at once. The XML parts are what lxml builds a tree of (several
# times their size in memory); a 1,000-page typed report is a few MB of XML, so more than 32 MB of it is a
# zip bomb, not a letter. Pictures (word/media) are stored unpacked-size-ish and only count towards the total,
# which leaves room for a 50 MB upload full of photos.
MAX_DOCX_XML_BYTES = 32 * 1024 * 1024
MAX_DOCX_UNPACKED_BYTES = 128 * 1024 * 1024
# Damage deep inside python-docx or lxml surfaces as almost any of these (a zip bomb's part that lxml gave up
# on came back as an AttributeError); for an uploaded file they all mean "this is not a Word file we can read".
_DOCX_DAMAGE = (zipfile.BadZipFile, KeyError, ValueError, AttributeError, TypeError, IndexError, RecursionError)


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

    _check_docx_size(path)
    try:
        with path.open("rb") as handle:
            document = docx.Document(handle)
        lines = list(_docx_blocks(document))
    except (*_DOCX_DAMAGE, LxmlError, OpcError) as error:
        raise CorruptFile(
            "The Word document is damaged or not in the .docx format, so its text cannot be read."
        ) from error
    return Extraction(
        text="\n".join(lines), kind="docx", mime=detected.mime, pages=None, pages_processed=0, ocr_pages=0
    )


def _check_docx_size(path: Path) -> None:
    """Refuse a Word file whose parts unpack past the limits, before anything is unpacked.

    The sizes come from the archive's directory; zipfile never reads past a member's declared
    size (a member that lies about it fails its checksum), so they bound what python-docx reads.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise CorruptFile("The Word document is damaged, so its text cannot be read.") from error
    xml = sum(info.file_size for info in members if info.filename.lower().endswith((".xml", ".rels")))
    unpacked = sum(info.file_size for info in members)
    if xml > MAX_DOCX_XML_BYTES:
        raise TooLarge(
            f"This Word file expands to more than {MAX_DOCX_XML_BYTES // 1024 // 1024} MB of text "
            f"({xml / 1024 / 1024:,.0f} MB), far more than any real document holds, so it was not read: "
            "it looks like a file built to exhaust the server. If it is a genuine document, save it again "
            "from Word or split it into smaller files."
        )
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise TooLarge(
            f"This Word file expands to {unpacked / 1024 / 1024:,.0f} MB, more than the "
            f"{MAX_DOCX_UNPACKED_BYTES // 1024 // 1024} MB that can be read safely, so it was not read. "
            "Save it with smaller pictures, or split it into smaller files."
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
