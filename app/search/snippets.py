"""What each hit shows of its text, and "did you mean" for words the index does not know.

Snippets are made from the database text of the shown hits only (the index stores no text),
so a snippet always shows the current text. Everything from a document is escaped; the only
markup is our own <mark> around matched words.
"""

from __future__ import annotations

import logging
import re

from markupsafe import Markup, escape
from whoosh import query as wq
from whoosh.highlight import ContextFragmenter, Formatter, get_text, highlight
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map

from app.search.query import WORD
from app.search.schema import EXACT_FIELDS, SEARCHED_FIELDS, text_analyzer

log = logging.getLogger(__name__)

SNIPPET_SOURCE_CHARS = 50_000  # how much of a hit's text is read and scanned for its snippet
SNIPPET_CHARS = 240
SNIPPET_PASSAGES = 2  # passages per snippet
MAX_CORRECTED_WORDS = 6

_ANALYZER = text_analyzer()
_BEFORE, _AFTER = 60, SNIPPET_CHARS - 60  # characters of a passage before and after its first matched word
_MAX_CANDIDATES = 200  # words looked at per hit before settling for fewer passages


class _MarkFormatter(Formatter):
    """Escaped text with our own <mark> around matched words: nothing from a document is ever markup."""

    between = " … "

    def _text(self, text):
        return str(escape(text))

    def format_token(self, text, token, replace=False):
        return f"<mark>{escape(get_text(text, token, replace))}</mark>"


def terms_for(q: wq.Query, searcher: Searcher, fieldname: str) -> frozenset[str]:
    """The index words this query looks for in one field (prefixes expanded), as stems, for highlighting.

    The exact words looked for in the field's exact twin count too, by their stems ("deliver*"
    found "delivered" there; the snippet confirms words by stem). Not Query.existing_terms: in
    Whoosh 2.7.5 it stops looking at other fields after the first.
    """
    reader, terms, exact_words = searcher.reader(), set(), set()
    exact_field = EXACT_FIELDS.get(fieldname)
    try:
        for leaf in q.leaves():
            if leaf.field() == fieldname:
                terms.update(text for _, text in leaf.expanded_terms(reader, phrases=True))
            elif exact_field is not None and leaf.field() == exact_field:
                exact_words.update(text for _, text in leaf.expanded_terms(reader, phrases=True))
    except Exception:  # highlighting is a nicety: never fail a search over it
        log.info("could not list the query's terms for highlighting", exc_info=True)
    stems = {_decoded(text) for text in terms}
    for word in exact_words:
        stems.update(token.text for token in _ANALYZER(_decoded(word)))
    return frozenset(stems)


def _decoded(text: str | bytes) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else text


def _letter_classes() -> dict[str, str]:
    """For each letter, a regex class of it and every character the analyzer folds to it (e: eEéÉèê…)."""
    variants: dict[str, set[str]] = {}
    for code, folded in accent_map.items():
        if len(folded) == 1:
            variants.setdefault(folded, {folded}).add(chr(code))
    return {letter: "[" + "".join(re.escape(c) for c in sorted(chars)) + "]" for letter, chars in variants.items()}


_LETTER_CLASSES = _letter_classes()


def _candidates(terms: frozenset[str]) -> re.Pattern[str] | None:
    """Words that may analyse to one of `terms`: the term less its last letter as a prefix, accents allowed.

    Stems are nearly prefixes of their words ("deliveri" of "delivery", "dai" of "days"); dropping
    one letter covered every word of the search benchmark's 40,000-word vocabulary, and each
    candidate is then confirmed by the analyzer itself.
    """
    stems = sorted({term[:-1] if len(term) > 2 else term for term in terms if term}, key=len, reverse=True)
    if not stems:
        return None
    alternatives = ("".join(_LETTER_CLASSES.get(ch, re.escape(ch)) for ch in stem) for stem in stems[:500])
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})[^\W_]*", re.IGNORECASE)


def _matches(word: str, terms: frozenset[str]) -> bool:
    return any(token.text in terms for token in _ANALYZER(word))


def _spread(starts: list[int]) -> list[int]:
    """The match starts that begin a new passage when passages are cut in text order."""
    begins: list[int] = []
    for at in starts:
        if not begins or at >= begins[-1] + _BEFORE + _AFTER:
            begins.append(at)
    return begins


def _passages(text: str, terms: frozenset[str], pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Up to SNIPPET_PASSAGES stretches of `text` (start, end) around matched words, different words first."""
    first_of_term: dict[str, int] = {}
    starts: list[int] = []  # every confirmed match, in text order
    wanted_terms = min(len(terms), SNIPPET_PASSAGES)
    for n, match in enumerate(pattern.finditer(text, 0, SNIPPET_SOURCE_CHARS)):
        if n >= _MAX_CANDIDATES:
            break
        found = {token.text for token in _ANALYZER(match.group())} & terms
        if not found:
            continue
        for term in found - first_of_term.keys():
            first_of_term[term] = match.start()
        starts.append(match.start())
        if len(first_of_term) >= wanted_terms and len(_spread(starts)) >= SNIPPET_PASSAGES:
            break
    spans: list[tuple[int, int]] = []
    for at in sorted(first_of_term.values()) + starts:  # each word's first place, then the others
        start, end = max(0, at - _BEFORE), min(len(text), at + _AFTER)
        if len(spans) < SNIPPET_PASSAGES and not any(start < e and s < end for s, e in spans):
            spans.append((start, end))
    edges = []
    for start, end in sorted(spans):  # whole words only: move each edge inwards to a space
        if start > 0 and (space := text.find(" ", start, end)) != -1:
            start = space + 1
        if end < len(text) and (space := text.rfind(" ", start, end)) > start:
            end = space
        edges.append((start, end))
    return edges


def _marked(passage: str, terms: frozenset[str], pattern: re.Pattern[str]) -> str:
    """`passage` escaped, with <mark> around each word the analyzer confirms."""
    out, last = [], 0
    for match in pattern.finditer(passage):
        if _matches(match.group(), terms):
            out.append(f"{escape(passage[last : match.start()])}<mark>{escape(match.group())}</mark>")
            last = match.end()
    out.append(str(escape(passage[last:])))
    return "".join(out)


def snippet(text: str, terms: frozenset[str]) -> Markup:
    """A few escaped passages of `text` around the matched words, or its beginning when none match.

    Whoosh's highlighter analyses every word of the text it is given; for 20 hits of long documents
    on every keystroke that was most of a search's time. So a regular-expression scan finds the
    words that could match, the analyzer confirms only those, and the cost depends on where the
    words are, not on how long the document is. A word the scan cannot see (a stem that is not
    nearly a prefix of its word) falls back to Whoosh's highlighter over the text.
    """
    text = text or ""
    if terms:
        try:
            pattern = _candidates(terms)
            spans = _passages(text, terms, pattern) if pattern else []
            if spans:
                # "…" wherever the passages cut the text, so a reader sees it is an excerpt.
                marked = (
                    ("… " if spans[0][0] > 0 else "")
                    + _MarkFormatter.between.join(_marked(text[a:b], terms, pattern) for a, b in spans)
                    + (" …" if spans[-1][1] < len(text) else "")
                )
            else:
                marked = highlight(
                    text,
                    terms,
                    _ANALYZER,
                    ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60, charlimit=SNIPPET_SOURCE_CHARS),
                    _MarkFormatter(),
                    top=SNIPPET_PASSAGES,
                )
        except Exception:  # an odd character in a document must not break the results page
            log.info("highlighting failed; showing the start of the text", exc_info=True)
            marked = ""
        if marked:
            return Markup(marked)  # noqa: S704  (built from escaped pieces and our own <mark>)
    start = " ".join(text[: SNIPPET_CHARS + 40].split())
    if len(start) > SNIPPET_CHARS:
        start = start[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    return escape(start)


# ---------------------------------------------------------------- "did you mean"


def did_you_mean(q: wq.Query, text: str, searcher: Searcher) -> str | None:
    """The query with unknown words replaced by the closest known ones, or None when nothing changes."""
    reader = searcher.reader()
    if "content_exact" not in reader.indexed_field_names():  # an index of an older schema, until it is rebuilt
        return None
    corrector = reader.corrector("content_exact")
    replacements: dict[tuple[int, int], str] = {}
    for token in q.all_tokens():
        start, end = getattr(token, "startchar", None), getattr(token, "endchar", None)
        if token.fieldname not in SEARCHED_FIELDS or start is None or end is None or (start, end) in replacements:
            continue
        if any((name, token.text) in reader for name in SEARCHED_FIELDS):
            continue
        typed = text[start:end]
        if not WORD.fullmatch(typed) or len(typed) < 3:
            continue
        word = next(iter(_ANALYZER(typed.lower(), no_morph=True)), None)
        suggestions = corrector.suggest(word.text, limit=1, maxdist=2, prefix=1) if word else []
        if suggestions and suggestions[0] != typed.lower():
            replacements[(start, end)] = suggestions[0]
        if len(replacements) >= MAX_CORRECTED_WORDS:
            break
    return respell(text, replacements)


def respell(text: str, replacements: dict[tuple[int, int], str]) -> str | None:
    """`text` with each (start, end) span replaced by its word; None when that changes nothing (both backends)."""
    if not replacements:
        return None
    corrected, last = [], 0
    for (start, end), suggestion in sorted(replacements.items()):
        corrected += [text[last:start], suggestion]
        last = end
    corrected.append(text[last:])
    suggestion = "".join(corrected)
    return suggestion if suggestion != text else None
