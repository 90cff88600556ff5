"""A relevance test set made from real text on this machine, with known right answers.

The documents are the docstrings (every triple-quoted string) of the Python standard library's
own modules, read from the interpreter running the tests: real English prose of 1.5 to 80 KB a
module, the same on every machine with the same Python version, and nothing of anyone else's
text is kept in this repository. Reading them takes a fraction of a second (no imports, no
parsing: a regular expression over the source files).

The questions: words that occur, exactly as written, in one document only. Its right answer is
that document. Two sets of them:

- "unique words": any such word (what a person types when they remember a rare word);
- "shared stems": such words whose stem the stemmer shares with words of at least two other
  documents ("omitting" in one, "omit" and "omitted" in others), where a stemming search
  cannot tell the right document from the rest without weighing the exact form.

Both sets are picked by a hash of the word, not by chance, so a run is repeatable.
"""

from __future__ import annotations

import hashlib
import os
import re
import sysconfig
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from whoosh.lang.porter import stem

MIN_CHARS = 1_500  # a module with less text than this is not a document worth finding
MIN_WORD = 5  # shorter words are mostly abbreviations and code
_SKIPPED = {"site-packages", "idlelib", "lib2to3", "tkinter", "turtledemo", "ensurepip", "pydoc_data", "__pycache__"}
_STRINGS = re.compile(r'(?s)"""(.*?)"""|\'\'\'(.*?)\'\'\'')
_WORDS = re.compile(r"[^\W\d_]+")  # letters only: identifiers with digits or underscores are split off


@dataclass(frozen=True)
class Question:
    word: str
    answer: str  # the file name of the one document that holds the word


def stdlib_documents(min_chars: int = MIN_CHARS) -> list[tuple[str, str]]:
    """(file name, text) of each standard-library module with at least `min_chars` of docstrings, by path."""
    root = Path(sysconfig.get_paths()["stdlib"])
    paths: list[Path] = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            d for d in subdirectories if d not in _SKIPPED and not d.startswith(("test", "config-"))
        )
        paths.extend(Path(directory) / name for name in files if name.endswith(".py"))
    documents = []
    for path in sorted(paths):
        source = path.read_text(encoding="utf-8", errors="replace")
        text = "\n\n".join((double or single).strip() for double, single in _STRINGS.findall(source))
        if len(text) >= min_chars:
            name = str(path.relative_to(root).with_suffix("")).replace(os.sep, "-").strip("_-") or path.stem
            documents.append((f"{name}.txt", text))
    return documents


def _words(text: str) -> set[str]:
    return {word for word in _WORDS.findall(text.lower()) if len(word) >= MIN_WORD}


def _pick(words: Iterable[str], count: int) -> list[str]:
    return sorted(words, key=lambda word: hashlib.sha256(word.encode()).hexdigest())[:count]


def questions(documents: list[tuple[str, str]], count: int = 100) -> dict[str, list[Question]]:
    """The two sets of questions ("unique words", "shared stems"), `count` each, over these documents."""
    holders: dict[str, set[str]] = defaultdict(set)
    for name, text in documents:
        for word in _words(text) | _words(name):
            holders[word].add(name)
    stem_holders: dict[str, set[str]] = defaultdict(set)
    for word, names in holders.items():
        stem_holders[stem(word)] |= names
    unique = {word: next(iter(names)) for word, names in holders.items() if len(names) == 1}
    shared = [word for word in unique if len(stem_holders[stem(word)]) >= 3]
    return {
        "unique words": [Question(word, unique[word]) for word in _pick(unique, count)],
        "shared stems": [Question(word, unique[word]) for word in _pick(shared, count)],
    }


@dataclass(frozen=True)
class Score:
    asked: int
    recall_at_3: float  # share of questions whose answer is among the first three hits
    mrr: float  # mean of 1/rank of the answer within the first `depth` hits (0 when not there)
    misses: tuple[str, ...]  # words whose answer was not in the first three


def score(asked: list[Question], ranked: Callable[[str], list[str]], depth: int = 10) -> Score:
    """How well `ranked(word)` (file names, best first) puts each question's answer near the top."""
    within_3, reciprocal, misses = 0, 0.0, []
    for question in asked:
        names = ranked(question.word)[:depth]
        rank = names.index(question.answer) + 1 if question.answer in names else None
        if rank is not None:
            reciprocal += 1 / rank
        if rank is not None and rank <= 3:
            within_3 += 1
        else:
            misses.append(question.word)
    n = max(1, len(asked))
    return Score(len(asked), round(within_3 / n, 3), round(reciprocal / n, 3), tuple(misses))
