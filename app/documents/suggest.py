"""Reading a document date and a known correspondent out of a document's text (no database, no Flask).

Only a clear candidate is suggested: one date after a label ("Invoice date", "Date:", "Dated"), and one known
correspondent whose whole name appears in the text. Two different candidates mean a person must choose, so
nothing is suggested rather than a guess that looks like a fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
# The date forms people write: 2024-04-12, 12.04.2024, 12/04/2024 (day first), 12 April 2024, April 12, 2024.
_DATE = (
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    r"|(?P<dmy>\d{1,2}[./]\d{1,2}[./]\d{4})"
    rf"|(?P<dnamey>\d{{1,2}}\.?\s+(?:{_MONTH_NAMES})\.?,?\s+\d{{4}})"
    rf"|(?P<namedy>(?:{_MONTH_NAMES})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_LABEL = r"(?P<label>invoice\s+date|date\s*:|dated)"
_LABELLED_DATE = re.compile(rf"\b{_LABEL}\s*:?\s*(?:{_DATE})", re.IGNORECASE)
DATE_PATTERN = re.compile(rf"^\s*(?:{_DATE})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Suggestion:
    document_date: date | None = None
    correspondent_id: int | None = None


def parse_date(value: str) -> date | None:
    """A date written in one of the common forms, or None when it is not one (or not a real day, like 31.02.2024)."""
    match = DATE_PATTERN.match(value)
    return _from_match(match) if match else None


def _from_match(match: re.Match[str]) -> date | None:
    try:
        if match["iso"]:
            year, month, day = (int(part) for part in match["iso"].split("-"))
        elif match["dmy"]:
            day, month, year = (int(part) for part in re.split(r"[./]", match["dmy"]))
        elif match["dnamey"]:
            words = re.findall(r"[a-z]+|\d+", match["dnamey"].lower())
            day, month, year = int(words[0]), MONTHS[words[1]], int(words[2])
        else:
            words = re.findall(r"[a-z]+|\d+", match["namedy"].lower())
            words = [w for w in words if w not in ("st", "nd", "rd", "th")]
            month, day, year = MONTHS[words[0]], int(words[1]), int(words[2])
        return date(year, month, day)
    except (ValueError, KeyError):
        return None


def suggest_date(text: str) -> date | None:
    """The one date written after an "Invoice date" label (or, with none, after "Date:"/"Dated"); None if unclear."""
    found: dict[bool, set[date]] = {True: set(), False: set()}
    for match in _LABELLED_DATE.finditer(text):
        value = _from_match(match)
        if value is not None:
            found[match["label"].lower().startswith("invoice")].add(value)
    candidates = found[True] or found[False]
    return next(iter(candidates)) if len(candidates) == 1 else None


def suggest_correspondent(text: str, correspondents: Iterable[tuple[int, str]]) -> int | None:
    """The one known correspondent whose whole name appears in the text (any case, any spacing); None if unclear."""
    flat = " ".join(text.split()).lower()
    hits = set()
    for correspondent_id, name in correspondents:
        words = name.lower().split()
        if words and re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", flat):
            hits.add(correspondent_id)
    return next(iter(hits)) if len(hits) == 1 else None


def suggest(text: str | None, correspondents: Iterable[tuple[int, str]]) -> Suggestion:
    """What to suggest for a document with this text."""
    if not text:
        return Suggestion()
    return Suggestion(suggest_date(text), suggest_correspondent(text, correspondents))
