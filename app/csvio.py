"""CSV out (streamed, formula-safe) and CSV in (by header name, validated).

Exports are generated row by row so a large list never sits in memory, and
every cell is defused against spreadsheet formula injection:

- every cell is quoted, so no separator inside a value can split it into new cells
  (a spreadsheet whose list separator is `;` still reads `"x;=1+1"` as one cell);
- a value starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading
  apostrophe, which spreadsheet programs show as text;
- so does every place inside a value where a formula would start if a program split
  the cell at a separator anyway (`;`, `,`, tab, CR or LF followed by `=`, `+`, `-`, `@`):
  `x;=1+1` is written `x;'=1+1`. Spaces before the formula character do not hide it.

`undo_defuse` takes exactly those apostrophes out again, so our own exports import
back to the values they were made from (a value that already had an apostrophe in such
a place gets one more on the way out and keeps it on the way in).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Response, stream_with_context

# Where a formula can start: the very beginning of a cell (where a leading tab or CR also counts, since
# some programs strip it), and right after a separator a spreadsheet might split the cell at. What
# follows may be spaces, then apostrophes already there (one more is added, so the undo is exact).
_START = re.compile(r"^( *)(?='*[=+\-@\t\r])")
_AFTER_SEPARATOR = re.compile(r"(?<=[;,\t\r\n])( *)(?='*[=+\-@])")
_UNDO_START = re.compile(r"^( *)'(?='*[=+\-@\t\r])")
_UNDO_AFTER_SEPARATOR = re.compile(r"(?<=[;,\t\r\n])( *)'(?='*[=+\-@])")


def defuse(text: str) -> str:
    """`text` with an apostrophe wherever a spreadsheet could start a formula (see the module's docstring)."""
    text = _AFTER_SEPARATOR.sub(r"\1'", text)
    return _START.sub(r"\1'", text, count=1)


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
    return defuse(str(value))


def undo_defuse(text: str) -> str:
    """Reverse `cell`'s apostrophes, so an exported file imports to the same values."""
    text = _UNDO_AFTER_SEPARATOR.sub(r"\1", text)
    return _UNDO_START.sub(r"\1", text, count=1)


def iter_csv(header: Sequence[str], rows: Iterable[Sequence[object]], chunk_size: int = 64 * 1024) -> Iterator[str]:
    """Yield a CSV document in chunks of about `chunk_size` characters (one write per chunk, not per row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
        if buffer.tell() >= chunk_size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A streamed CSV download; `rows` is consumed lazily inside the request context."""
    response = Response(stream_with_context(iter_csv(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- CSV in


class CsvFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, size); the message says why."""


@dataclass(frozen=True)
class CsvTable:
    """A CSV file read by header name: rows keep their line number for messages."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    notes: list[str]


def read_csv(
    data: bytes,
    *,
    required: Collection[str],
    optional: Collection[str] = (),
    ignored: Collection[str] = (),
    max_rows: int,
) -> CsvTable:
    """Parse CSV bytes with a header row; unknown or missing columns are a CsvFileError.

    Accepts UTF-8 with or without a byte-order mark and any line endings.
    Header names are matched without regard to case or surrounding spaces.
    Columns in `ignored` are accepted and dropped, with a note saying so.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFileError(
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read). Save it as 'CSV UTF-8' and try again."
        ) from None
    if "\x00" in text:
        raise CsvFileError("The file contains NUL bytes: it looks like a binary file, not CSV.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFileError("The file is empty: it needs a header row naming the columns.") from None
    except csv.Error as error:
        raise CsvFileError(f"The header row cannot be read as CSV: {error}.") from None
    columns = [name.strip().lower() for name in header]
    known = {*required, *optional}
    notes = []
    problems = []
    duplicates = sorted({c for c in columns if columns.count(c) > 1 and c})
    if duplicates:
        problems.append(f"columns appear twice: {', '.join(duplicates)}")
    missing = [c for c in required if c not in columns]
    if missing:
        problems.append(f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    unknown = [c or "(blank)" for c in columns if c not in known and c not in ignored]
    if unknown:
        allowed = ", ".join([*required, *optional])
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} (allowed: {allowed})")
    if problems:
        raise CsvFileError("The header row is not right: " + "; ".join(problems) + ".")
    dropped = [c for c in columns if c in ignored]
    if dropped:
        notes.append(f"Ignored column{'s' if len(dropped) > 1 else ''} {', '.join(dropped)}: not imported.")

    rows = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue  # blank lines, including a trailing one
            if len(rows) >= max_rows:
                raise CsvFileError(f"The file has more than {max_rows} rows; split it into smaller files.")
            line = reader.line_num
            record = {column: undo_defuse(value.strip()) for column, value in zip(columns, values, strict=False)}
            if len(values) > len(columns):
                record["__extra__"] = f"{len(values) - len(columns)} more values than columns"
            rows.append((line, {c: v for c, v in record.items() if c not in ignored}))
    except csv.Error as error:
        raise CsvFileError(f"Line {reader.line_num} cannot be read as CSV: {error}.") from None
    return CsvTable(columns=columns, rows=rows, notes=notes)
