"""Reading what a person typed into a Whoosh query, and keeping its wildcards within a budget.

The query language: words (all of them must match, in the file name or the text), "exact
phrases", prefix* (two letters at least), AND / OR / NOT and brackets, -word to leave a word
out, and field:value for category, filename, title, state, review, uploader, kind, tag and
correspondent (category:"credit note", tag:urgent, correspondent:"Valley Mills"); plain words
are looked for in the title too. The document's date: date:2024, date:2024-03, date:2024-03-15,
date:[2024-01 to 2024-03]. Stemming and accent folding make invoices find invoice and cafe find
café; a word's exact form counts for more than its relatives (omitting above omitted).

Nothing here raises for what a person can type: a query the parser cannot use is read for its
plain words instead, and every such change is said in a note the results page shows.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections import Counter

from whoosh import qparser
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.support.charset import accent_map

from app.search.schema import (
    EXACT_FIELDS,
    QUERY_FIELDS,
    SEARCHED_FIELDS,
    WORD_PATTERN,
    DateNotUnderstood,
    build_schema,
    exact_analyzer,
)

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MAX_EXPANDED_TERMS = 500  # index words all the wildcards of one search may stand for, together
MAX_SCANNED_TERMS = 20_000  # index words looked at while expanding them (a*z reads many to keep few)
TOO_BROAD = (
    "The wildcards matched too many words, so only some of them were searched; "
    "put more letters before the * to search them all."
)
OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE", "TO"}

# An exact form's term weighs this much against its stem's (both count: a document with the exact
# word scores for the stem and for the word). Chosen on the relevance set (docs/PERFORMANCE.md).
EXACT_BOOST = 2.0

WORD = re.compile(WORD_PATTERN)
_EXACT = exact_analyzer()
_BETWEEN_WORDS = re.compile(r'[\s()"]')
_DATE_PART = re.compile(r"(?i)(?<![^\s(])[+-]?date:(?:\[[^\]]*\]?|\S*)")
# Ranges are for dates only, in square brackets: date:[2024-01 to 2024-03] (a bare [2024 to 2025] too).
_DATE_RANGE = r"(?P<open>\[)\s*(?P<start>[\d-]*?)\s*[Tt][Oo]\s*(?P<end>[\d-]*?)\s*(?P<close>\])"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEMA = build_schema()
_QUERY_SCHEMA = Schema(**{name: _SCHEMA[name] for name in QUERY_FIELDS})


def _parser() -> qparser.QueryParser:
    """A fresh parser (cheap; parsers are not shared between threads)."""
    parser = qparser.MultifieldParser(list(SEARCHED_FIELDS), _QUERY_SCHEMA, group=qparser.AndGroup)
    # Ranges over words and 'single quoted' literals surprise more than they help; *:* is not a search.
    parser.remove_plugin_class(qparser.RangePlugin)
    parser.remove_plugin_class(qparser.SingleQuotePlugin)
    parser.remove_plugin_class(qparser.EveryPlugin)
    # + and - only at the start of a word: "credit-note" is a phrase, not credit without note.
    parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
    parser.add_plugin(_DateRanges(re.compile(_DATE_RANGE)))
    return parser


class _DateRanges(qparser.RangePlugin):
    """[start to end] of dates, always on the document date, whatever field (if any) is named before it."""

    class RangeTagger(qparser.RangePlugin.RangeTagger):
        def create(self, parser, match):
            node = super().create(parser, match)
            node.fieldname = "date"
            return node

    def taggers(self, parser):
        return [(self.RangeTagger(self.expr, self.excl_start, self.excl_end), 1)]


def clean(text: str | None) -> tuple[str, list[str]]:
    """The query without control characters and within MAX_QUERY_CHARS, and notes on what was changed."""
    notes = []
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text or "")).strip()
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(f"Searches are limited to {MAX_QUERY_CHARS} characters; the rest was left out.")
    if text.count('"') % 2:
        notes.append('A closing quote (") was missing, so the last quoted words were searched on their own.')
    if text.count("(") != text.count(")"):
        notes.append("The brackets did not pair up; unmatched ones were ignored.")
    return text, notes


def _tame(q: wq.Query, notes: list[str]) -> wq.Query:
    """Drop the parts that would match (nearly) everything: a lone *, and wildcards with under two letters."""
    dropped = []

    def visit(node: wq.Query) -> wq.Query:
        if isinstance(node, wq.Every):
            dropped.append("*")
            return wq.NullQuery
        if isinstance(node, wq.Prefix | wq.Wildcard):
            literal = re.split(r"[*?]", node.text, maxsplit=1)[0]
            if len(literal) < 2 or (isinstance(node, wq.Wildcard) and node.text.startswith(("*", "?"))):
                dropped.append(node.text)
                return wq.NullQuery
        return node

    q = q.accept(visit).normalize()
    if dropped:
        notes.append("Put at least two letters before * or ?: a wildcard on its own would match every document.")
    return q


def _date_problems(q: wq.Query) -> list[str]:
    """What the document date field could not read in the parsed query (the parser keeps it as an error)."""
    found = []
    error = getattr(q, "error", None)
    if isinstance(error, DateNotUnderstood) and str(error) not in found:
        found.append(str(error))
    for child in q.children():
        found.extend(problem for problem in _date_problems(child) if problem not in found)
    return found


def _plain_words(text: str) -> tuple[list[str], list[str]]:
    """The words a person wants and the ones they wanted left out, ignoring all syntax (and dates)."""
    wanted, excluded = [], []
    leave_out_next = False
    for piece in _DATE_PART.sub(" ", text).split():
        if piece in OPERATORS:
            leave_out_next = piece == "NOT"
            continue
        if "*" in piece or "?" in piece:  # a wildcard already set aside by _tame (with its own note)
            leave_out_next = False
            continue
        words = WORD.findall(piece.split(":", 1)[1] if ":" in piece[1:] else piece)
        (excluded if leave_out_next or piece.startswith("-") else wanted).extend(words)
        leave_out_next = False
    return wanted, excluded


def _words_query(words: list[str]) -> wq.Query:
    """All of these words, as plain words (no syntax can survive: they are letters and digits only).

    Parsed as " ".join(words): that is the text its words' positions point into.
    """
    return _parser().parse(" ".join(words)).normalize()


def _typed_word(text: str, at: int) -> str:
    """The wildcard word around position `at` as typed (Whoosh points a wildcard at its * or ?, not its start)."""
    start = end = at
    while start > 0 and not _BETWEEN_WORDS.match(text[start - 1]):
        start -= 1
    while end < len(text) and not _BETWEEN_WORDS.match(text[end]):
        end += 1
    return text[start:end].split(":", 1)[-1].lstrip("+-")


def with_exact_forms(q: wq.Query, text: str) -> wq.Query:
    """`q` with each plain word also looked for in its exact form, which then outranks its relatives.

    A word becomes (its stem OR its exact form): the same documents match, since a document that
    holds the exact word holds its stem too, but those with the exact word score more. A prefix
    is looked for among the exact words as well ("deliver*" finds "delivered", whose stem is
    "deliv"). `text` is what was parsed: each word is read again from it, as typed.
    """

    def visit(node: wq.Query) -> wq.Query:
        exact_field = EXACT_FIELDS.get(getattr(node, "fieldname", None) or "")
        if exact_field is None:
            return node
        start, end = getattr(node, "startchar", None), getattr(node, "endchar", None)
        if isinstance(node, wq.Term) and start is not None and end is not None:
            words = [token.text for token in _EXACT(text[start:end])]
            if len(words) == 1:
                return wq.Or([node, wq.Term(exact_field, words[0], boost=node.boost * EXACT_BOOST)])
        elif isinstance(node, wq.Prefix | wq.Wildcard):
            # The typed letters, not the parser's stem of them ("deliver*", not "deliv*").
            typed = _typed_word(text, start).lower().translate(accent_map) if start is not None else node.text
            if isinstance(node, wq.Prefix):
                typed = typed.rstrip("*")
            twin = type(node)(exact_field, typed, boost=node.boost)
            twin.startchar, twin.endchar = start, end  # one typed wildcard: the budget keeps or drops both
            return wq.Or([node, twin])
        return node

    return q.accept(visit).normalize()


def without_exact_forms(q: wq.Query) -> wq.Query:
    """`q` without the exact words `with_exact_forms` added: the same documents, matched with fewer postings.

    Counting every match does not need the scores, and each exact word sits in an OR beside its stem.
    """
    exact = set(EXACT_FIELDS.values())
    return q.accept(lambda node: wq.NullQuery if isinstance(node, wq.Term) and node.fieldname in exact else node)


def read_query(text: str, notes: list[str]) -> wq.Query | None:
    """The query to run for `text`, or None when there is nothing to look for (notes say why)."""
    date_problems: list[str] = []
    try:
        parsed = _parser().parse(text)
        date_problems = _date_problems(parsed)  # a date the field could not read is dropped: say so
        notes.extend(date_problems)
        # The parser leaves what it could not read as a NullQuery of its own, which AND would keep.
        parsed = parsed.accept(lambda node: wq.NullQuery if getattr(node, "error", None) is not None else node)
        q = _tame(parsed.normalize(), notes)
    except Exception:  # the parser's own limits (deep nesting, odd tokens): fall back to the words
        log.info("search query not parsed; searching its words", exc_info=True)
        q = wq.NullQuery
    if q is not wq.NullQuery and not isinstance(q, wq.Not):
        return with_exact_forms(q, text)
    wanted, excluded = _plain_words(text)
    words = " ".join(wanted)
    fallback = _words_query(wanted) if wanted else wq.NullQuery
    if fallback is not wq.NullQuery:
        notes.append(f"The search could not be read as written, so it looked for these words: {words}.")
        return with_exact_forms(fallback, words)
    if date_problems:
        return None  # the date's own note says what to write
    if excluded or isinstance(q, wq.Not):
        notes.append("Add a word to look for: a search cannot only leave words out.")
    elif wanted:
        notes.append("Those words are too common to search for on their own; add a more specific one.")
    elif not notes:
        notes.append("Type a word to search for.")
    return None


# ---------------------------------------------------------------- wildcards within a budget


class _Listed(wq.MultiTerm):
    """A prefix or wildcard with the index words it stands for listed once, within the search's budget.

    Whoosh expands a wildcard again for every pass and every segment, and with no limit: 125 two-letter
    prefixes fit in 500 characters and stood for tens of thousands of words, before the time budget
    was ever checked. Listing the words once, up to MAX_EXPANDED_TERMS for the whole search, bounds
    the matching, the counting and the highlighting alike.
    """

    def __init__(self, original: wq.Query, btexts: tuple[bytes, ...]) -> None:
        self.fieldname = original.fieldname
        self.text = original.text
        self.boost = original.boost
        self.constantscore = getattr(original, "constantscore", True)
        self.btexts = btexts
        self.startchar = getattr(original, "startchar", None)
        self.endchar = getattr(original, "endchar", None)
        self.shown = str(original)

    def _btexts(self, ixreader):
        return iter(self.btexts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Listed) and (self.fieldname, self.text, self.boost, self.btexts) == (
            other.fieldname,
            other.text,
            other.boost,
            other.btexts,
        )

    def __hash__(self) -> int:
        return hash((self.fieldname, self.text, self.boost, self.btexts))

    def __repr__(self) -> str:
        return f"_Listed({self.fieldname!r}, {self.text!r}, {len(self.btexts)} words)"

    def __str__(self) -> str:
        return self.shown


def _looked_at(node: wq.MultiTerm, reader):
    """Each index word a wildcard looks at while expanding: the word when it matches, None when it does not.

    Whoosh's own expansion hides the words it reads and rejects (a*z reads every word starting
    with a); reading them here lets the scan be counted and stopped.
    """
    if isinstance(node, wq.PatternQuery) and not isinstance(node, wq.Prefix):
        field = reader.schema[node.fieldname]
        pattern = re.compile(node._get_pattern())
        prefix = node._find_prefix(node.text)
        candidates = reader.expand_prefix(node.fieldname, prefix) if prefix else reader.lexicon(node.fieldname)
        for btext in candidates:
            yield btext if pattern.match(field.from_bytes(btext)) else None
    else:
        yield from node._btexts(reader)


def _typed(node: wq.Query) -> tuple[str, int | None, int | None]:
    """Which wildcard the person typed this leaf for: its text and where it stood in the query."""
    return node.text, getattr(node, "startchar", None), getattr(node, "endchar", None)


def bound_wildcards(q: wq.Query, reader, deadline: float) -> tuple[wq.Query, bool]:
    """`q` with every wildcard replaced by the index words it stands for, and whether some were left out.

    At most MAX_EXPANDED_TERMS words in all, MAX_SCANNED_TERMS looked at, and nothing after `deadline`.
    A wildcard that got none of its words (in any field) is left out of the search: not required, not
    matched. One that got some is searched for those. A wildcard that matches no word of the index at
    all still matches nothing, as before.
    """
    kept_left, scan_left = MAX_EXPANDED_TERMS, MAX_SCANNED_TERMS
    # One typed wildcard is one leaf per searched field (file name, text): it is dropped or kept as a whole.
    cut_short: set[tuple[str, int | None, int | None]] = set()
    found: Counter[tuple[str, int | None, int | None]] = Counter()

    def expand(node: wq.Query) -> wq.Query:
        nonlocal kept_left, scan_left
        if not isinstance(node, wq.MultiTerm) or isinstance(node, _Listed):
            return node
        kept: list[bytes] = []
        try:
            for looked, btext in enumerate(_looked_at(node, reader)):
                if len(kept) >= kept_left or scan_left <= 0 or (not looked & 63 and time.monotonic() > deadline):
                    cut_short.add(_typed(node))
                    break
                scan_left -= 1
                if btext is not None:
                    kept.append(btext)
        except Exception:  # a field or pattern Whoosh cannot expand: it matches no word
            log.info("wildcard not expanded", exc_info=True)
        kept_left -= len(kept)
        found[_typed(node)] += len(kept)
        return _Listed(node, tuple(kept))

    def drop_unsearched(node: wq.Query) -> wq.Query:
        if isinstance(node, _Listed) and _typed(node) in cut_short and not found[_typed(node)]:
            return wq.NullQuery  # none of its words fit: leave it out rather than let it match nothing
        return node

    expanded = q.accept(expand)
    if cut_short:
        expanded = expanded.accept(drop_unsearched)
    return expanded.normalize(), bool(cut_short)
