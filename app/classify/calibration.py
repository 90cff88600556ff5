"""Calibration: making "85% sure" mean right about 85% of the time, and measuring how far a model is from that.

A model's probabilities are rescaled by one temperature T: softmax(log p / T), which for our multinomial
logistic regression is softmax(logits / T). T > 1 makes a model less sure, T < 1 surer; the order of the
categories never changes, so calibration changes no model's answers, accuracy or promotion, only how sure it
says it is. One number fits on a few dozen documents without overfitting, which is why it is a temperature
and not an isotonic curve (that needs hundreds per category, which a new installation does not have).

The temperature is fitted when a model is trained (`retraining`) and kept in a small JSON file beside the
ONNX file, with the same stem (`sidecar_path`): the runtime reads it when it loads the model, so the worker
applies it without a database. Only numpy and the standard library: the runtime imports this module.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

SIDECAR_SUFFIX = ".calibration.json"
BINS = 10  # equal-width confidence bins for the reliability chart and the expected calibration error
T_RANGE = (0.05, 20.0)  # the search for T stays inside this; beyond it a model is broken, not miscalibrated
_FLOOR = 1e-12
# The share of held-out texts assumed to be beyond any model (a scrap of a page, a line of a footer): the fit's
# likelihood is that of a model right by its probabilities 95% of the time and by chance the other 5%. Without
# it, a handful of hopeless texts (about 20 one-line scraps among the 400 generated held-out texts) carry most
# of the negative log-likelihood and make the fitted model unsure of every clear document; with it the
# expected calibration error after fitting is lower, on the held-out texts and on hand-written documents alike
# (docs/PERFORMANCE.md, "The first model on realistic documents").
LABEL_NOISE = 0.05


def sidecar_path(model_path: str | os.PathLike[str]) -> Path:
    """`model-x.onnx` -> `model-x.calibration.json`, in the same folder."""
    path = Path(model_path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T), row by row; T == 1 gives the probabilities back unchanged.

    Computed as p^(1/T) / sum p^(1/T), the same thing in half the numpy calls (it runs on every document). In
    float64 nothing underflows: a row's largest probability is at least 1/categories, and 1/T is at most 20.
    """
    if temperature == 1.0:
        return probabilities
    powered = np.power(probabilities.astype(np.float64), 1.0 / temperature)
    return powered / powered.sum(axis=1, keepdims=True)


def _nll(probabilities: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the true categories at `temperature`, robust to LABEL_NOISE hopeless texts."""
    calibrated = apply_temperature(probabilities, temperature)
    picked = calibrated[np.arange(len(truth)), truth]
    robust = (1.0 - LABEL_NOISE) * picked + LABEL_NOISE / probabilities.shape[1]
    return float(-np.log(np.maximum(robust, _FLOOR)).mean())


def fit_temperature(probabilities: np.ndarray, truth: Sequence[int]) -> float:
    """The T that makes the true categories likeliest (least negative log-likelihood), by golden-section on log T.

    The likelihood allows for LABEL_NOISE texts that no temperature could get right, so that they do not decide
    how sure the model is about the others.

    `truth` holds each row's true column, or -1 for a category the model does not know: those rows say nothing
    about how sure the model should be among the categories it knows, and are left out.
    """
    truth_array = np.asarray(truth, dtype=int)
    known = truth_array >= 0
    if not known.any():
        return 1.0
    rows, labels = probabilities[known], truth_array[known]
    low, high = math.log(T_RANGE[0]), math.log(T_RANGE[1])
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _nll(rows, labels, math.exp(a)), _nll(rows, labels, math.exp(b))
    for _ in range(60):  # the interval shrinks by 0.618 each time: 60 steps are far below any useful precision
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _nll(rows, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _nll(rows, labels, math.exp(b))
    return round(math.exp((low + high) / 2), 4)


@dataclass(frozen=True)
class Bin:
    """One confidence bin: the documents whose top probability fell in [lower, upper), and how many were right."""

    lower: float
    upper: float
    count: int
    right: int
    confidence: float | None  # mean top probability in the bin
    accuracy: float | None  # share of the bin whose top category was the true one


def reliability(top_probability: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> list[Bin]:
    """Documents in equal-width bins of the model's top probability, with the observed accuracy of each bin."""
    found = []
    confidence = np.asarray(top_probability, dtype=float)
    right = np.asarray(correct, dtype=bool)
    index = np.minimum((confidence * bins).astype(int), bins - 1)  # 1.0 belongs to the last bin
    for number in range(bins):
        inside = index == number
        count = int(inside.sum())
        found.append(
            Bin(
                lower=number / bins,
                upper=(number + 1) / bins,
                count=count,
                right=int(right[inside].sum()),
                confidence=round(float(confidence[inside].mean()), 4) if count else None,
                accuracy=round(float(right[inside].mean()), 4) if count else None,
            )
        )
    return found


def expected_calibration_error(bins: Sequence[Bin]) -> float:
    """Sum over the bins of (share of documents in the bin) x |accuracy - mean confidence|: 0 is perfect."""
    total = sum(item.count for item in bins)
    if not total:
        return 0.0
    gaps = (item.count / total * abs(item.accuracy - item.confidence) for item in bins if item.count)
    return round(float(sum(gaps)), 4)


def top_and_correct(probabilities: np.ndarray, truth: Sequence[int]) -> tuple[list[float], list[bool]]:
    """Each row's top probability and whether its top column is the true one (-1: a category the model lacks)."""
    best = probabilities.argmax(axis=1)
    return probabilities.max(axis=1).tolist(), [bool(b == t) for b, t in zip(best, truth, strict=True)]


def bins_as_dicts(bins: Sequence[Bin]) -> list[dict[str, Any]]:
    """What `ModelVersion.metrics` stores."""
    return [asdict(item) for item in bins]


def bins_from_dicts(rows: Sequence[dict[str, Any]]) -> list[Bin]:
    return [Bin(**row) for row in rows]


def read_temperature(model_path: str | os.PathLike[str]) -> float:
    """The temperature in the model's sidecar file; 1.0 (no change) when there is none or it cannot be read.

    An unreadable sidecar must not stop the worker classifying: the model's own probabilities are still right
    in their order, only less honest about how sure they are.
    """
    try:
        data = json.loads(sidecar_path(model_path).read_text(encoding="utf-8"))
        temperature = float(data["temperature"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1.0
    low, high = T_RANGE
    return temperature if low <= temperature <= high else 1.0


def write_sidecar(model_path: str | os.PathLike[str], figures: dict[str, Any]) -> Path:
    """Write the calibration beside the model, atomically (a worker may be loading the model at that moment)."""
    target = sidecar_path(model_path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(figures, file, indent=2, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target
