"""What the search index holds for each document, and how its words are cut and folded.

The index is derived data: everything in it can be rebuilt from the database (`flask search
reindex`). It stores only what a result list needs without the database (id, file name,
category, checksum); the text itself is read from the database for snippets, so the index
stays small and a snippet always shows the current text.

Change `SCHEMA_VERSION` whenever the fields or the analysis change: an index written with
another version is rebuilt by the worker before it is written to again.
"""

from __future__ import annotations

import re

from whoosh.analysis import (
    CharsetFilter,
    Filter,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
from whoosh.support.charset import accent_map

SCHEMA_VERSION = 2  # 2: title, tag and correspondent (issue 14)

# Letters and digits only: "invoice_2024-03.pdf" is invoice, 2024, 03, pdf, in file names and text alike.
WORD_PATTERN = r"[^\W_]+"


def text_analyzer():
    """Words, lower-cased, accents folded (café = cafe), common English words dropped, stemmed (invoices = invoice)."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(minsize=1)
        | StemFilter(cachesize=100_000)
    )


class _SpacedName(Filter):
    """ "Credit_Note", "credit-note" and "credit  note" are all the category "credit note"."""

    _separators = re.compile(r"[\s_\-]+")

    def __call__(self, tokens):
        for token in tokens:
            token.text = self._separators.sub(" ", token.text).strip()
            yield token


def name_analyzer():
    """A whole category name as one token, in the form it is indexed and filtered by."""
    return IDTokenizer() | LowercaseFilter() | _SpacedName()


def normalize_category(name: str) -> str:
    """A category name as the index holds it (lower case, single spaces)."""
    return next(iter(name_analyzer()(name))).text if name.strip() else ""


def lowercase_id():
    return IDTokenizer() | LowercaseFilter()


def build_schema() -> Schema:
    """A fresh Schema object (Whoosh schemas carry per-index state: never share one between indexes)."""
    analyzer = text_analyzer()
    # Words of a file name or a text that the analyzer splits ("credit-note", "12.50") are searched as a phrase.
    filename = TEXT(analyzer=analyzer, field_boost=3.0, stored=True)
    # The title a person gave (or the file name without its extension): its words are found like the file name's.
    title = TEXT(analyzer=analyzer, field_boost=3.0)
    # spelling=True: the unstemmed words are kept as well, for "did you mean" in real words, not stems.
    content = TEXT(analyzer=analyzer, spelling=True)
    for field in (filename, title, content):
        field.multitoken_query = "phrase"
    return Schema(
        id=ID(unique=True, stored=True),
        filename=filename,
        title=title,
        content=content,
        # tag:urgent, tag:"tax 2024" (tags are stored comma-separated, lower-cased, each one whole);
        # correspondent:"Valley Mills" (the whole name, any case or spacing, as categories are).
        tag=KEYWORD(commas=True, lowercase=True),
        correspondent=ID(analyzer=name_analyzer()),
        # Filters and facets read these columns (one value per document), not their postings.
        category=ID(stored=True, sortable=True, analyzer=name_analyzer()),
        state=ID(sortable=True, analyzer=lowercase_id()),
        review=ID(sortable=True, analyzer=lowercase_id()),
        uploader=ID(analyzer=lowercase_id()),
        uploader_id=ID(sortable=True),
        kind=ID(sortable=True, analyzer=lowercase_id()),
        uploaded=DATETIME(sortable=True),
        checksum=ID(stored=True),
    )


# Fields a person may name in a query ("category:invoice"); the rest are for filters and bookkeeping.
FILTER_COLUMNS = ("category", "state", "review", "kind", "uploader_id")
QUERY_FIELDS = (
    *("filename", "title", "content", "category", "state", "review", "uploader", "kind"),
    *("tag", "correspondent"),
)
SEARCHED_FIELDS = ("filename", "title", "content")
