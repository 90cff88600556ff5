"""Training: fit the document classifier with scikit-learn, measure it, and write it as ONNX only when ONNX agrees.

Only training code imports this module (the CLI, the retraining task, tests): it needs scikit-learn, skl2onnx and
onnx, which the web and worker images do not have (requirements-train.txt). It imports the text preparation from
`runtime`, so the model is fitted on exactly what the worker will feed it, and `runtime` never imports this module.

`train` fits the pipeline on prepared texts and converts it to ONNX in memory; `evaluate` scores it on texts it has
not seen; `check_agreement` runs the scikit-learn model and the ONNX model through `runtime.OnnxClassifier` on the
same texts; `export` refuses (`ModelRejected`) to write a model whose ONNX form disagrees with it on more than half
a percent of held-out texts, and otherwise writes the file atomically, so a worker never reads half a model.
It knows nothing of the database, Flask or the queue: where models live and which one is active is the caller's.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import StringTensorType
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.pipeline import FeatureUnion, Pipeline

from app.classify.runtime import DEFAULT_MAX_CHARS, INPUT_NAME, NORMALIZER, OnnxClassifier, prepare

MIN_AGREEMENT = 0.995
# ASCII words of two or more characters. The ONNX tokenizer (re2) takes this pattern as it is, whereas
# scikit-learn's default `(?u)\b\w\w+\b` would be replaced by `[a-zA-Z0-9_]+` in ONNX and count other words.
WORD_PATTERN = r"[a-zA-Z0-9_][a-zA-Z0-9_]+"
# skl2onnx walks every vocabulary entry to place its options (~50 µs each), so conversion time grows with the
# vocabulary; on the synthetic corpus 20,000 features score as well as 120,000, convert 6x faster, and make a
# file of ~1.5 MB instead of ~6 MB.
MAX_WORD_FEATURES = 8_000
MAX_CHAR_FEATURES = 12_000
# Only a lower-casing vectorizer puts the locale in the graph (ours get lower-case text and do not lower-case
# again), but if one ever does, skl2onnx's default en_US.UTF-8 is not installed here and no session would start.
ONNX_LOCALE = "C.UTF-8"


class ModelRejected(Exception):
    """The model was not written; the message gives the figure that was too low."""

    def __init__(self, message: str, *, agreement: float) -> None:
        super().__init__(message)
        self.agreement = agreement


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline, its ONNX form (with the labels and text preparation in its metadata), and how it was made."""

    pipeline: Pipeline
    labels: tuple[str, ...]
    onnx_model: bytes = field(repr=False)
    max_chars: int
    seed: int
    training_size: int
    fit_seconds: float
    convert_seconds: float


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """How a model did on labelled texts it was not trained on; `confusion` rows are true labels, columns predicted."""

    accuracy: float
    macro_f1: float
    size: int
    labels: list[str]
    per_class: dict[str, ClassScores]
    confusion: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, strings, lists and dicts: what `ModelVersion.metrics` stores as JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Exported:
    path: Path
    agreement: float
    max_probability_gap: float
    checked: int
    size_bytes: int
    sha256: str


def word_vocabulary(prepared: Sequence[str]) -> list[str]:
    """The most frequent words and word pairs, leaving out any pair whose own words did not make the cut.

    skl2onnx splits a pair into its two words only when both are in the vocabulary; otherwise it looks for the
    pair as one token with a space in it, which never comes, so ONNX silently never counts it. `max_features`
    keeps such pairs when a pair and its word tie at the cut-off (a pair is never more frequent than its words).
    """
    counter = CountVectorizer(
        token_pattern=WORD_PATTERN, ngram_range=(1, 2), lowercase=False, min_df=2, max_features=MAX_WORD_FEATURES
    )
    vocabulary = counter.fit(prepared).vocabulary_
    return sorted(term for term in vocabulary if all(word in vocabulary for word in term.split(" ")))


def build_pipeline(vocabulary: Sequence[str], seed: int = 0) -> Pipeline:
    """Word 1-2-grams and character 3-4-grams, TF-IDF weighted, into a multinomial logistic regression.

    Every choice here is one that skl2onnx reproduces exactly: texts arrive already lower-cased and accent-free
    (`strip_accents` and `char_wb` do not convert), `sublinear_tf` stays off (ONNX computes log(tf+1), scikit-learn
    1+log(tf)). LogisticRegression rather than CalibratedClassifierCV(LinearSVC): both convert exactly, but the
    logistic regression's probabilities are already a softmax fitted by likelihood, while the calibrated SVM is
    five fitted SVMs and their calibrators (cv=5): about five times the ONNX graph and the training time.
    """
    words = TfidfVectorizer(token_pattern=WORD_PATTERN, ngram_range=(1, 2), lowercase=False, vocabulary=vocabulary)
    chars = TfidfVectorizer(
        analyzer="char", ngram_range=(3, 4), lowercase=False, min_df=2, max_features=MAX_CHAR_FEATURES
    )
    # newton-cg: the multinomial fit converges in a handful of iterations (lbfgs needs ~30, each as costly).
    classifier = LogisticRegression(C=10.0, solver="newton-cg", max_iter=200, random_state=seed)
    return Pipeline([("features", FeatureUnion([("words", words), ("chars", chars)])), ("classifier", classifier)])


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int = 0,
    max_chars: int = DEFAULT_MAX_CHARS,
    sample_weight: Sequence[float] | None = None,
) -> TrainedModel:
    """Fit the pipeline on the prepared texts (empty ones carry nothing and are left out) and convert it to ONNX.

    `sample_weight` (one per text, default 1) is how much each text counts in the logistic regression's loss:
    the retraining policy gives people's reviews more weight than generated texts. The vocabulary and the
    TF-IDF weights are learnt from every text alike; only the classifier sees the weights.
    """
    if len(texts) != len(labels):
        raise ValueError(f"There are {len(texts)} texts but {len(labels)} labels.")
    weights = list(sample_weight) if sample_weight is not None else [1.0] * len(texts)
    if len(weights) != len(texts):
        raise ValueError(f"There are {len(texts)} texts but {len(weights)} weights.")
    prepared = (prepare(text, max_chars) for text in texts)
    kept = [(text, label, weight) for text, label, weight in zip(prepared, labels, weights, strict=True) if text]
    if len({label for _, label, _ in kept}) < 2:
        raise ValueError("Training needs texts of at least two categories.")
    started = time.perf_counter()
    fit_texts = [text for text, _, _ in kept]
    pipeline = build_pipeline(word_vocabulary(fit_texts), seed)
    pipeline.fit(
        fit_texts,
        [label for _, label, _ in kept],
        classifier__sample_weight=np.array([weight for _, _, weight in kept], dtype=float),
    )
    fitted = time.perf_counter()
    model_labels = tuple(str(label) for label in pipeline.classes_)
    onnx_model = _convert(
        pipeline,
        {
            "labels": json.dumps(list(model_labels), ensure_ascii=False),
            "normalizer": NORMALIZER,
            "max_chars": str(max_chars),
            "training_size": str(len(kept)),
            "seed": str(seed),
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
        },
    )
    return TrainedModel(
        pipeline=pipeline,
        labels=model_labels,
        onnx_model=onnx_model,
        max_chars=max_chars,
        seed=seed,
        training_size=len(kept),
        fit_seconds=fitted - started,
        convert_seconds=time.perf_counter() - fitted,
    )


def _convert(pipeline: Pipeline, metadata: dict[str, str]) -> bytes:
    options: dict[int, dict[str, Any]] = {}
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        options[id(vectorizer)] = {"locale": ONNX_LOCALE}
        if vectorizer.analyzer == "word":
            options[id(vectorizer)]["tokenexp"] = ""  # "" = use the vectorizer's own token_pattern
    options[id(pipeline.named_steps["classifier"])] = {"zipmap": False}  # a plain probability matrix
    with warnings.catch_warnings():
        # skl2onnx warns that analyzer="char" "may not work"; it does here, and check_agreement is the proof.
        warnings.filterwarnings(
            "ignore", message="The conversion of CountVectorizer may not work", category=UserWarning
        )
        model = convert_sklearn(
            pipeline, initial_types=[(INPUT_NAME, StringTensorType([None, 1]))], options=options, name="documents"
        )
    model.doc_string = "Quartermaster document classifier"
    onnx.helper.set_model_props(model, metadata)
    return model.SerializeToString()


def _compare(model: TrainedModel, texts: Sequence[str]) -> tuple[float, float, int]:
    """Share of equal top labels, the largest probability difference, and how many texts had something to read."""
    prepared = [text for text in (prepare(t, model.max_chars) for t in texts) if text]
    if not prepared:
        raise ValueError("None of the texts has anything the model can read, so agreement cannot be measured.")
    classifier = OnnxClassifier.from_bytes(model.onnx_model, name="the new model")
    expected = model.pipeline.predict_proba(prepared)
    found = classifier.predict_many(prepared, k=1)  # the worker's own path: preparation, labels from metadata
    agree = sum(
        bool(top) and top[0][0] == model.labels[int(row.argmax())] for top, row in zip(found, expected, strict=True)
    )
    gap = float("inf")
    if classifier.labels == model.labels:
        gap = float(np.abs(classifier.probabilities(prepared) - expected).max())
    return agree / len(prepared), gap, len(prepared)


def check_agreement(model: TrainedModel, texts: Sequence[str]) -> float:
    """The share of texts (with something to read) whose top label is the same in scikit-learn and in ONNX."""
    return _compare(model, texts)[0]


def export(
    model: TrainedModel,
    path: str | os.PathLike[str],
    held_out_texts: Sequence[str],
    *,
    min_agreement: float = MIN_AGREEMENT,
) -> Exported:
    """Write the ONNX model to `path` (atomically) if it agrees with scikit-learn on the held-out texts; else refuse."""
    agreement, gap, checked = _compare(model, held_out_texts)
    if agreement < min_agreement:
        raise ModelRejected(
            f"The ONNX form of the model gives the same category as the trained model for only {agreement:.1%} of "
            f"{checked} held-out texts; at least {min_agreement:.1%} is required, so the model was not saved.",
            agreement=agreement,
        )
    proto = onnx.load_from_string(model.onnx_model)
    onnx.helper.set_model_props(
        proto,
        {entry.key: entry.value for entry in proto.metadata_props}
        | {"agreement": f"{agreement:.6f}", "agreement_checked": str(checked)},
    )
    data = proto.SerializeToString()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return Exported(
        path=target,
        agreement=agreement,
        max_probability_gap=gap,
        checked=checked,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def evaluate(model: TrainedModel, texts: Sequence[str], labels: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1, per-class scores and the confusion matrix of the scikit-learn model on labelled texts."""
    if len(texts) != len(labels) or not texts:
        raise ValueError("Evaluation needs as many labels as texts, and at least one of each.")
    truth = [str(label) for label in labels]
    predicted = [str(label) for label in model.pipeline.predict([prepare(t, model.max_chars) for t in texts])]
    order = list(model.labels) + sorted(set(truth) - set(model.labels))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=order, zero_division=0)
    return Evaluation(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, average="macro", zero_division=0)),
        size=len(truth),
        labels=order,
        per_class={
            label: ClassScores(float(p), float(r), float(f), int(s))
            for label, p, r, f, s in zip(order, precision, recall, f1, support, strict=True)
        },
        confusion=confusion_matrix(truth, predicted, labels=order).tolist(),
    )
