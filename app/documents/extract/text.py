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

MAX_DOCX_UNPACKED_BYTES = 256 * 1024 * 1024  # a Word file bigger than this unpacked is a zip bomb, not a letter


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
