"""What an extraction hands back: the text, what was read to get it, and notes on what was not.

Whatever a limit cut short (pages, pixels) or a damaged page made us skip is said in words in
`Extraction.notes`, so nobody mistakes a partial text for the whole document.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


def _page_limit_note(total: int, limit: int, unit: str = "pages") -> str:
    return f"Only the first {limit:,} of {total:,} {unit} were read (limit QM_MAX_PAGES)."
