"""A query as the search box reads it (app.search.query), translated for PostgreSQL full-text search.

The Whoosh parser reads what a person typed (words, "phrases", OR, NOT, -word, brackets, prefix*,
field:value, date:…) and says what it could not read; this module walks the query it made and writes
the same question for PostgreSQL, so both backends read one language with the same messages:

- words, phrases and prefixes become one `to_tsquery` text over the stemmed vector: a plain word is
  `'invoices'`, a prefix `'deliver':*`, a phrase `'credit' <-> 'note'`, a word asked in one field
  carries that field's weight label (filename:apples is `'apples':A`). The words are taken as typed
  (letters and digits only, so nothing a person types can be tsquery syntax) and PostgreSQL stems them.
- category, state, review, kind, uploader, tag, correspondent and date become WHERE conditions on the
  indexed row; AND / OR / NOT mix both kinds freely.
- The exact forms Whoosh adds for ranking are left out here: ranking asks the exact vector with the same
  words instead (`Translated.ranked`).

Differences from Whoosh (README, "Search on PostgreSQL"): a wildcard inside a word (ne?t, a*z) is read
as a prefix of its letters before the wildcard, and prefixes are not bounded by a word budget (the GIN
index answers them without listing words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, false, func, literal_column, not_, or_, true
from whoosh import query as wq
from whoosh.util.times import long_to_datetime

from app.search.models import SearchDocument
from app.search.schema import EXACT_FIELDS, WORD_PATTERN, text_analyzer

WEIGHTS = {"filename": "A", "title": "B", "content": "D"}  # the labels pg_index gives each field's words
ALL_WEIGHTS = frozenset(WEIGHTS.values())
_WORD = re.compile(WORD_PATTERN)
_ANALYZER = text_analyzer()
_QUOTED = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class _Leaf:
    """One word, prefix or phrase asked in some fields: `words` as typed, lower case."""

    words: tuple[str, ...]
    prefix: bool
    weights: frozenset[str]

    def render(self) -> str:
        label = ("*" if self.prefix else "") + ("" if self.weights >= ALL_WEIGHTS else "".join(sorted(self.weights)))
        if len(self.words) == 1:
            return f"'{self.words[0]}'" + (f":{label}" if label else "")
        weights = "" if self.weights >= ALL_WEIGHTS else ":" + "".join(sorted(self.weights))
        return "(" + " <-> ".join(f"'{word}'{weights}" for word in self.words) + ")"


@dataclass(frozen=True)
class _Text:
    """A text-search part: either an OR of leaves (merged by word) or rendered tsquery text."""

    leaves: tuple[_Leaf, ...] = ()
    rendered: str = ""

    def render(self) -> str:
        if self.rendered:
            return self.rendered
        return " | ".join(leaf.render() for leaf in self.leaves) if len(self.leaves) > 1 else self.leaves[0].render()


@dataclass(frozen=True)
class _Sql:
    condition: ColumnElement[bool]


def matches(tsquery: str) -> ColumnElement[bool]:
    """The row's stemmed vector matches this tsquery text (the GIN index answers it)."""
    return SearchDocument.stemmed.op("@@")(func.to_tsquery(literal_column("'qm_english'::regconfig"), tsquery))


@dataclass
class Translated:
    """What the database runs for one query."""

    condition: ColumnElement[bool]  # which rows match
    ranked: str | None  # tsquery text of the words asked for (no NOT): ranks
    marked: str | None = None  # the same words, any of them: what the snippets mark
    words: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, typed) for "did you mean"


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.any_of = False  # AND read as OR: what ts_headline marks (it finds no passage for far-apart words)
        self.typed_phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for piece in [*_QUOTED.findall(text), *text.split()]:
            typed = tuple(word.lower() for word in _WORD.findall(piece))
            stems = tuple(token.text for token in _ANALYZER(piece))
            if typed and stems:
                self.typed_phrases.setdefault(stems, typed)

    def typed(self, node: wq.Query) -> tuple[str, ...]:
        """The words of a word or phrase as the person typed them (the parser holds stems)."""
        start, end = getattr(node, "startchar", None), getattr(node, "endchar", None)
        if isinstance(node, wq.Phrase):
            return self.typed_phrases.get(tuple(node.words), tuple(node.words))
        if start is not None and end is not None:
            found = tuple(word.lower() for word in _WORD.findall(self.text[start:end].split(":", 1)[-1]))
            if found:
                return found
        return tuple(word.lower() for word in _WORD.findall(getattr(node, "text", "") or ""))

    def leaf(self, node: wq.Query) -> _Text | _Sql | None:
        name = node.fieldname
        if name in EXACT_FIELDS.values():
            return None  # ranking asks the exact vector itself
        if name in WEIGHTS:
            weights = frozenset(WEIGHTS[name])
            if isinstance(node, wq.Prefix | wq.Wildcard):
                start = getattr(node, "startchar", None)
                typed = self._typed_wildcard(start) if start is not None else node.text
                letters = _WORD.findall(re.split(r"[*?]", typed, maxsplit=1)[0].lower())
                if not letters:
                    return None
                *before, last = letters
                return (
                    _Text((_Leaf((*before, last), True, weights),))
                    if not before
                    else _Text(rendered=" <-> ".join([*(f"'{w}'" for w in before), f"'{last}':*"]))
                )
            if isinstance(node, wq.Term | wq.Phrase):
                words = self.typed(node)
                return _Text((_Leaf(words, False, weights),)) if words else None
            return _Sql(false())
        return _Sql(_column_condition(node))

    def _typed_wildcard(self, at: int) -> str:
        start = end = at
        while start > 0 and not re.match(r'[\s()"]', self.text[start - 1]):
            start -= 1
        while end < len(self.text) and not re.match(r'[\s()"]', self.text[end]):
            end += 1
        return self.text[start:end].split(":", 1)[-1].lstrip("+-")

    def node(self, node: wq.Query, *, ranking: bool = False) -> _Text | _Sql | None:
        """`node` as a text part, a SQL condition, or None (nothing asked). `ranking`: only the words asked for."""
        if node is wq.NullQuery:
            return None
        if isinstance(node, wq.Every):
            return None if ranking else _Sql(true())
        if isinstance(node, wq.Not):
            if ranking:
                return None
            inner = self.node(node.query)
            if inner is None:
                return None
            return _Text(rendered=f"!({inner.render()})") if isinstance(inner, _Text) else _Sql(not_(inner.condition))
        if isinstance(node, wq.AndNot):
            return self._combine([node.a, wq.Not(node.b)], "&", ranking)
        if isinstance(node, wq.AndMaybe):
            return self.node(node.a, ranking=ranking)
        if isinstance(node, wq.Require):
            return self._combine([node.a, node.b], "&", ranking)
        if isinstance(node, wq.And):
            return self._combine(node.subqueries, "&", ranking)
        if isinstance(node, wq.Or | wq.DisjunctionMax):
            return self._combine(node.subqueries, "|", ranking)
        if isinstance(node, wq.Term | wq.Phrase | wq.MultiTerm | wq.NumericRange | wq.TermRange):
            part = self.leaf(node)
            return None if ranking and isinstance(part, _Sql) else part
        return None if ranking else _Sql(false())  # a kind of query the language does not make

    def _combine(self, children, operator: str, ranking: bool) -> _Text | _Sql | None:
        parts = [part for part in (self.node(child, ranking=ranking) for child in children) if part is not None]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        if self.any_of:
            operator = "|"
        if all(isinstance(part, _Text) for part in parts):
            if operator == "|" and all(part.leaves for part in parts):
                merged: dict[tuple[tuple[str, ...], bool], frozenset[str]] = {}
                for part in parts:
                    for leaf in part.leaves:
                        key = (leaf.words, leaf.prefix)
                        merged[key] = merged.get(key, frozenset()) | leaf.weights
                return _Text(tuple(_Leaf(words, prefix, weights) for (words, prefix), weights in merged.items()))
            return _Text(rendered=f" {operator} ".join(f"({part.render()})" for part in parts))
        conditions = [matches(part.render()) if isinstance(part, _Text) else part.condition for part in parts]
        return _Sql(and_(*conditions) if operator == "&" else or_(*conditions))


def _column_condition(node: wq.Query) -> ColumnElement[bool]:
    """A field:value of the query language as a condition on the indexed row's columns."""
    name = node.fieldname
    if name == "date" and isinstance(node, wq.NumericRange):
        conditions = [SearchDocument.document_date.is_not(None)]
        if node.start is not None:
            conditions.append(SearchDocument.document_date >= _day(node.start))
        if node.end is not None:
            conditions.append(SearchDocument.document_date <= _day(node.end))
        return and_(*conditions)
    columns = {
        "category": SearchDocument.category,
        "state": SearchDocument.state,
        "review": SearchDocument.review,
        "kind": SearchDocument.kind,
        "uploader": SearchDocument.uploader,
        "correspondent": SearchDocument.correspondent,
        "tag": SearchDocument.tags,
    }
    column = columns.get(name)
    value = getattr(node, "text", None)
    if column is None or not isinstance(value, str):
        return false()
    if isinstance(node, wq.Prefix | wq.Wildcard):
        pattern = re.sub(r"([\\%_])", r"\\\1", value.rstrip("*")).replace("*", "%").replace("?", "_")
        pattern = pattern + "%" if isinstance(node, wq.Prefix) else pattern
        return column.like(f"%,{pattern}%" if name == "tag" else pattern, escape="\\")
    if name == "tag":
        return column.contains(f",{value},", autoescape=True)
    return column == value


def _day(ticks: int) -> date:
    return long_to_datetime(ticks).date()


def translate(q: wq.Query, text: str) -> Translated:
    """The SQL condition, the ranking tsquery and the typed words of a query read by app.search.query."""
    reader = _Reader(text)
    part = reader.node(q)
    if part is None:
        condition: ColumnElement[bool] = false()
    else:
        condition = matches(part.render()) if isinstance(part, _Text) else part.condition
    ranked = reader.node(q, ranking=True)
    reader.any_of = True
    marked = reader.node(q, ranking=True)
    words = []
    for token in q.all_tokens():
        start, end = getattr(token, "startchar", None), getattr(token, "endchar", None)
        if token.fieldname in WEIGHTS and start is not None and end is not None and (start, end, "") not in words:
            words.append((start, end, text[start:end]))
    seen, unique = set(), []
    for start, end, typed in words:
        if (start, end) not in seen:
            seen.add((start, end))
            unique.append((start, end, typed))
    return Translated(
        condition,
        ranked.render() if isinstance(ranked, _Text) else None,
        marked.render() if isinstance(marked, _Text) else None,
        unique,
    )
