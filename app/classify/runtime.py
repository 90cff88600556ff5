"""Prediction: a document's text in, its likeliest categories out, from an ONNX file run by onnxruntime.

This module is all that the web and worker processes need to classify, so it imports only
onnxruntime, numpy, the standard library and `calibration` (which needs no more) — never
scikit-learn or skl2onnx (those live in `training`, which imports this module, not the other way
round). It owns the preparation of text for the model (`prepare`: truncate, then `normalize` to
plain lower-case ASCII), because training must feed the model exactly what prediction feeds it; a
model file records the preparation it was made for, and a mismatch is refused rather than silently
mispredicted.

`load(path)` returns the process's classifier for a file, keeping one session per file version
(path, mtime, size, inode) so a worker reuses its session and picks up a replaced file without a
restart. A missing, damaged or foreign file raises `ModelUnavailable` with a message for a person.
A model's calibration (a temperature, `calibration`) lives in a JSON file beside it with the same stem:
`predict` and `predict_many` give calibrated probabilities, `probabilities` the model's own (what the
training-time agreement check compares with scikit-learn). The sidecar is part of the file version, so a
recalibrated model is picked up like a replaced one.
Empty text (or text with nothing the model can read) gives no prediction, `[]`: the caller decides
what that means (review). It knows nothing of the database, Flask or the queue: which file is the
active model is the caller's to say (`service.predict` asks the registry, then calls `load`).
"""

from __future__ import annotations

import json
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.classify import calibration

DEFAULT_MAX_CHARS = 20_000
DEFAULT_THREADS = 1
NORMALIZER = "ascii-fold-1"  # bump whenever `normalize` changes meaning: old model files are then refused
INPUT_NAME = "text"
PROBABILITIES_OUTPUT = "probabilities"
CACHE_SIZE = 4

# Letters that Unicode does not decompose into a base letter and an accent.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",  # noqa: RUF001 - Turkish dotless i, folded on purpose
        "€": " eur ",
        "£": " gbp ",
        "$": " usd ",
        "№": " no ",
    }
)
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Everything else becomes a space: other scripts, symbols, and "#" (the ONNX tokenizer's padding).
_NOT_KEPT = re.compile(r"[^a-z0-9 .,:;/+\-%&()'@*=!?\"]+")
_SPACES = re.compile(r"\s+")


class ModelUnavailable(Exception):
    """The model file cannot be used; the message says why in words a person understands."""


def normalize(text: str) -> str:
    """Lower-case ASCII with accents stripped and whitespace collapsed: what both sklearn and ONNX tokenise alike."""
    # ASCII skips the Unicode steps, which change nothing in it but cost half the time:
    # "$" is the only ASCII character _FOLD replaces, and _COMBINING matches no ASCII at all.
    text = text.lower().replace("$", " usd ") if text.isascii() else _fold_unicode(text)
    text = _NOT_KEPT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _fold_unicode(text: str) -> str:
    """Decompose, lower-case, fold the letters Unicode does not decompose, drop the accents."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text).lower().translate(_FOLD))


def prepare(text: str | None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text the model sees: the first `max_chars` characters, normalised (so a huge document costs no more)."""
    if not text:
        return ""
    return normalize(text[:max_chars])[:max_chars]


def _session(data: bytes, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: warnings about unused initialisers are noise in worker logs
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


class OnnxClassifier:
    """One ONNX text classifier: its session, its labels, and top-k predictions."""

    def __init__(self, path: str | os.PathLike[str], *, threads: int = DEFAULT_THREADS) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "rb") as file:
                stat = os.fstat(file.fileno())
                data = file.read()
        except FileNotFoundError as error:
            raise ModelUnavailable(f"There is no classification model at {self.path}.") from error
        except IsADirectoryError as error:
            raise ModelUnavailable(f"{self.path} is a folder, not a classification model file.") from error
        except OSError as error:
            raise ModelUnavailable(
                f"The classification model at {self.path} cannot be read ({error.strerror or error})."
            ) from error
        self.identity = (_identity(stat), _sidecar_identity(self.path))
        self._start(data, threads, str(self.path))
        self.temperature = calibration.read_temperature(self.path)

    @classmethod
    def from_bytes(cls, data: bytes, *, threads: int = DEFAULT_THREADS, name: str = "model") -> OnnxClassifier:
        """A classifier for a model held in memory (the training-time agreement check runs through here)."""
        classifier = cls.__new__(cls)
        classifier.path = Path(name)
        classifier.identity = None
        classifier._start(data, threads, name)
        classifier.temperature = 1.0
        return classifier

    def _start(self, data: bytes, threads: int, name: str) -> None:
        if not data:
            raise ModelUnavailable(f"The classification model at {name} is an empty file.")
        try:
            self._session = _session(data, threads)
        except Exception as error:  # onnxruntime raises its own exception types, all meaning "not a usable model"
            raise ModelUnavailable(
                f"The classification model at {name} is damaged or is not a model this version can run."
            ) from error
        self.threads = threads
        self.metadata: dict[str, str] = dict(self._session.get_modelmeta().custom_metadata_map)
        inputs = [i.name for i in self._session.get_inputs()]
        outputs = [o.name for o in self._session.get_outputs()]
        if inputs != [INPUT_NAME] or PROBABILITIES_OUTPUT not in outputs:
            raise ModelUnavailable(
                f"The model at {name} is not a text classifier: it should take {INPUT_NAME!r} "
                f"and give {PROBABILITIES_OUTPUT!r}, but takes {inputs} and gives {outputs}."
            )
        try:
            labels = json.loads(self.metadata["labels"])
        except (KeyError, ValueError) as error:
            raise ModelUnavailable(f"The model at {name} does not say which categories it predicts.") from error
        if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
            raise ModelUnavailable(f"The model at {name} has an unreadable list of categories.")
        self.labels: tuple[str, ...] = tuple(labels)
        normalizer = self.metadata.get("normalizer")
        if normalizer != NORMALIZER:
            raise ModelUnavailable(
                f"The model at {name} was made for text prepared as {normalizer!r}, but this version prepares "
                f"it as {NORMALIZER!r}: train the model again."
            )
        try:
            self.max_chars = int(self.metadata.get("max_chars", DEFAULT_MAX_CHARS))
        except ValueError as error:
            raise ModelUnavailable(f"The model at {name} has an unreadable text length limit.") from error
        probe = self.probabilities(["invoice"])  # fails here, at load, rather than on the first document
        if probe.shape != (1, len(self.labels)):
            raise ModelUnavailable(
                f"The model at {name} gives {probe.shape[-1]} probabilities for {len(self.labels)} categories."
            )

    def probabilities(self, prepared: Sequence[str]) -> np.ndarray:
        """The probability matrix (texts x labels) for texts already passed through `prepare`."""
        batch = np.array(list(prepared), dtype=object).reshape(-1, 1)
        return self._session.run([PROBABILITIES_OUTPUT], {INPUT_NAME: batch})[0]

    def predict(self, text: str | None, k: int = 3) -> list[tuple[str, float]]:
        """The k likeliest categories with their calibrated probabilities, best first; [] when there is no text."""
        return self.predict_many([text], k=k)[0]

    def predict_many(
        self, texts: Sequence[str | None], k: int = 3, *, calibrated: bool = True
    ) -> list[list[tuple[str, float]]]:
        """`predict` for many texts in one run of the model; empty ones get []. `calibrated=False`: the raw ones."""
        prepared = [prepare(text, self.max_chars) for text in texts]
        results: list[list[tuple[str, float]]] = [[] for _ in prepared]
        present = [i for i, text in enumerate(prepared) if text]
        if not present or k < 1:
            return results
        matrix = self.probabilities([prepared[i] for i in present])
        if calibrated:
            matrix = calibration.apply_temperature(matrix, self.temperature)
        for row, i in zip(matrix, present, strict=True):
            best = np.argsort(-row, kind="stable")[:k]
            results[i] = [(self.labels[j], float(row[j])) for j in best]
        return results


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_dev)


def _sidecar_identity(model_path: str | os.PathLike[str]) -> tuple[int, int, int, int] | None:
    """The calibration file's version, None when there is none: a new or rewritten one reloads the model."""
    try:
        return _identity(os.stat(calibration.sidecar_path(model_path)))
    except OSError:
        return None


_cache: dict[tuple[str, int], OnnxClassifier] = {}
_cache_lock = threading.Lock()


def load(path: str | os.PathLike[str], *, threads: int = DEFAULT_THREADS) -> OnnxClassifier:
    """The process's classifier for the file at `path`, loaded again only when the file has changed."""
    key = (os.path.abspath(path), threads)
    with _cache_lock:
        try:
            identity = (_identity(os.stat(key[0])), _sidecar_identity(key[0]))
        except FileNotFoundError as error:
            _cache.pop(key, None)
            raise ModelUnavailable(f"There is no classification model at {key[0]}.") from error
        except OSError as error:
            raise ModelUnavailable(
                f"The classification model at {key[0]} cannot be read ({error.strerror or error})."
            ) from error
        cached = _cache.get(key)
        if cached is not None and cached.identity == identity:
            return cached
        _cache.pop(key, None)
        classifier = OnnxClassifier(key[0], threads=threads)
        _cache[key] = classifier
        while len(_cache) > CACHE_SIZE:
            del _cache[next(iter(_cache))]
        return classifier


def clear_cache() -> None:
    """Forget every loaded session (tests, and a worker told to let go of its models)."""
    with _cache_lock:
        _cache.clear()
