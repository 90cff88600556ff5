"""CSV out (streamed) and the cell rules every export shares.

Exports are generated row by row so a large list never sits in memory, and
every cell is defused against spreadsheet formula injection: a value starting
with `=`, `+`, `-`, `@`, tab or carriage return gets a leading apostrophe,
which spreadsheet programs show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from flask import Response, stream_with_context

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One value as CSV text: ISO times, empty for None, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)  # negative numbers stay numbers
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def iter_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Yield a CSV document line by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell(value) for value in row])
        yield buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A streamed CSV download; `rows` is consumed lazily inside the request context."""
    response = Response(stream_with_context(iter_csv(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
