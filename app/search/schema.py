"""What the search index holds for each document, and how its words are cut and folded.

The index is derived data: everything in it can be rebuilt from the database (`flask search
reindex`). It stores only what a result list needs without the database (id, file name,
category, checksum); the text itself is read from the database for snippets, so the index
stays small and a snippet always shows the current text.

Change `SCHEMA_VERSION` whenever the fields or the analysis change: an index written with
another version is rebuilt by the worker before it is written to again.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime

from whoosh import query as wq
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
from whoosh.qparser import QueryParserError
from whoosh.support.charset import accent_map
from whoosh.util.times import datetime_to_long

SCHEMA_VERSION = 3  # 2: title, tag and correspondent; 3: exact word forms and the document date (issues 14, 15)

# Letters and digits only: "invoice_2024-03.pdf" is invoice, 2024, 03, pdf, in file names and text alike.
WORD_PATTERN = r"[^\W_]+"


def exact_analyzer():
    """Words, lower-cased, accents folded (café = cafe), common English words dropped, as written otherwise.

    The same chain as `text_analyzer` up to the stemmer, so every exact word a document holds is
    also held as its stem: an exact match only ever adds to a stemmed one, never replaces it.
    """
    return RegexTokenizer(WORD_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter(minsize=1)


def text_analyzer():
    """`exact_analyzer`'s words, stemmed (invoices = invoice)."""
    return exact_analyzer() | StemFilter(cachesize=100_000)


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


DATE_FORMS = "date:2024, date:2024-03, date:2024-03-15 or date:[2024-01 to 2024-03]"
_DAY = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
NO_DATE = 2**64 - 1  # what Whoosh's DATETIME column holds for a document without a value


class DateNotUnderstood(QueryParserError):
    """A date in a query that is not a year, a month or a day; its message says how to write one."""


class DocumentDate(DATETIME):
    """A document's date (a day), searched as date:2024, date:2024-03, date:2024-03-15 or date:[2024-01 to 2024-03].

    Whoosh's own DATETIME reads any run of digits ("date:2024-3-5" as the 35th month) and fails
    quietly; this one reads a year, a month or a day, and says what it could not read.
    """

    def _span(self, text: str) -> tuple[int, int]:
        """The first and last microsecond (as Whoosh stores them) of the year, month or day in `text`."""
        found = _DAY.fullmatch(text.strip())
        try:
            if found is None:
                raise ValueError(text)
            year, month, day = (int(part) if part else None for part in found.groups())
            first = date(year, month or 1, day or 1)
            if day:
                last = first
            elif month:
                last = date(year, month, calendar.monthrange(year, month)[1])
            else:
                last = date(year, 12, 31)
        except ValueError:
            raise DateNotUnderstood(
                f'"{text.strip()}" is not a date, so it was left out; write {DATE_FORMS}.'
            ) from None
        end = datetime(last.year, last.month, last.day, 23, 59, 59, 999_999)
        return datetime_to_long(datetime(first.year, first.month, first.day)), datetime_to_long(end)

    def parse_query(self, fieldname, qstring, boost=1.0):
        start, end = self._span(qstring)
        return wq.NumericRange(fieldname, start, end, boost=boost)

    def parse_range(self, fieldname, start, end, startexcl, endexcl, boost=1.0):
        low = self._span(start)[0] if start else None
        high = self._span(end)[1] if end else None
        if low is not None and high is not None and low > high:
            raise DateNotUnderstood(f"The date range {start} to {end} ends before it starts.")
        return wq.NumericRange(fieldname, low, high, boost=boost)


def build_schema() -> Schema:
    """A fresh Schema object (Whoosh schemas carry per-index state: never share one between indexes)."""
    analyzer = text_analyzer()
    # Words of a file name or a text that the analyzer splits ("credit-note", "12.50") are searched as a phrase.
    filename = TEXT(analyzer=analyzer, field_boost=3.0, stored=True)
    # The title a person gave (or the file name without its extension): its words are found like the file name's.
    title = TEXT(analyzer=analyzer, field_boost=3.0)
    content = TEXT(analyzer=analyzer)
    for field in (filename, title, content):
        field.multitoken_query = "phrase"
    # The same words unstemmed, so an exact form outranks its relatives ("omitting" above "omitted");
    # without positions (phrases are the stemmed fields' job). content_exact also answers "did you mean".
    exact = exact_analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        filename=filename,
        title=title,
        content=content,
        filename_exact=TEXT(analyzer=exact, phrase=False, field_boost=3.0),
        title_exact=TEXT(analyzer=exact, phrase=False, field_boost=3.0),
        content_exact=TEXT(analyzer=exact, phrase=False),
        # The document's own date (an invoice's date, not its upload): date:2024-03, and the date filter.
        date=DocumentDate(sortable=True),
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
    *("tag", "correspondent", "date"),
)
SEARCHED_FIELDS = ("filename", "title", "content")
EXACT_FIELDS = {"filename": "filename_exact", "title": "title_exact", "content": "content_exact"}
