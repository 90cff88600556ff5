"""Texts as vectors for the memory of reviews (`memory`): a hashed TF-IDF in numpy, and the product that compares them.

A text, as the model reads it (`runtime.prepare`), becomes a unit vector of `DIMENSIONS` columns: its words
(a number stands for its shape) hashed by CRC-32 into signed columns, with sublinear counts and IDF weights.
What is stored for a document is `features` (sparse, without the weights, `encode`d), so the weights can
change without rewriting a row; `vector` applies them. Nothing here touches the database or Flask.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections import Counter

import numpy as np

from app.classify import corpus, runtime

DIMENSIONS = 256  # 10,000 remembered documents are a 10 MB matrix: one product stays well under a millisecond
MAX_CHARS = 8_000  # of the prepared text: how a document starts is what makes it look like another
IDF_PER_CATEGORY = 40  # generated texts per category that the IDF weights are counted on
IDF_SEED = 8_675_309

_TOKEN = re.compile(r"[a-z]+|[0-9]+")


_buckets: dict[str, tuple[int, float]] = {}


def _bucket(word: str) -> tuple[int, float]:
    """A word's column and sign: CRC-32, the same in every process (Python's own hash is salted per process)."""
    found = _buckets.get(word)
    if found is None:
        if len(_buckets) > 500_000:  # a bound on a worker's memory; refilled from the next texts
            _buckets.clear()
        value = zlib.crc32(word.encode())
        found = _buckets[word] = (value % DIMENSIONS, 1.0 if value & 0x8000_0000 else -1.0)
    return found


def features(prepared: str) -> tuple[np.ndarray, np.ndarray]:
    """Columns and signed sublinear counts (1 + log n) of the words of a prepared text, IDF not yet applied.

    A number stands for its shape ("4711" is "0000"): invoice numbers and amounts differ in every document,
    their layout does not.
    """
    words: Counter[str] = Counter()
    for token, count in Counter(_TOKEN.findall(prepared[:MAX_CHARS])).items():
        words["0" * min(len(token), 6) if token[0].isdigit() else token] += count
    if not words:
        return np.empty(0, dtype=np.uint16), np.empty(0, dtype=np.float32)
    places = [_bucket(word) for word in words]
    columns = np.fromiter((column for column, _ in places), dtype=np.uint16, count=len(places))
    signs = np.fromiter((sign for _, sign in places), dtype=np.float32, count=len(places))
    counts = np.fromiter(words.values(), dtype=np.float32, count=len(places))
    return columns, signs * (1.0 + np.log(counts))


def encode(columns: np.ndarray, values: np.ndarray) -> bytes:
    return columns.astype("<u2").tobytes() + values.astype("<f4").tobytes()


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    n = len(data) // 6
    return np.frombuffer(data, "<u2", n).astype(np.intp), np.frombuffer(data, "<f4", n, offset=2 * n)


@functools.cache
def idf() -> np.ndarray:
    """Per column, how rare its words are in business paperwork: counted once per process on generated texts.

    Not on the remembered documents themselves: with five reviewed documents of a new kind, their shared words
    would count as common and their likeness would vanish, just when it matters most.
    """
    texts = [item.text for item in corpus.generate(IDF_PER_CATEGORY, IDF_SEED)]
    seen = np.zeros(DIMENSIONS)
    for text in texts:
        columns, _ = features(runtime.prepare(text, MAX_CHARS))
        seen[np.unique(columns)] += 1
    return (np.log((1 + len(texts)) / (1 + seen)) + 1).astype(np.float32)


def vector(columns: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The unit-length TF-IDF vector of a text's features (all zero for a text without words)."""
    weights = idf()
    dense = np.bincount(columns, weights=values * weights[columns], minlength=DIMENSIONS).astype(np.float32)
    norm = float(np.linalg.norm(dense))
    return dense / norm if norm else dense


def text_vector(text: str | None) -> np.ndarray:
    return vector(*features(runtime.prepare(text, MAX_CHARS)))


def product(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Every row's dot product with `query`, in this thread alone.

    Not `matrix @ query`: numpy hands that to OpenBLAS, which splits a 10,000-row product over every core and
    then waits for them; on a worker whose cores are busy (OCR, other consumers) the wait made the median
    product 16 ms instead of 0.2 (bench/classify.py). einsum's own loop reads the matrix once, in this thread.
    """
    return np.einsum("ij,j->i", matrix, query)
