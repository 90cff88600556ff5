"""The memory of reviews: how alike two documents must be before the memory suggests a category, measured.

The memory (app/classify/memory.py) suggests the category of the most similar reviewed document once the
cosine similarity reaches `memory.SUGGEST_AT`, and files the document without a person from
`memory.AUTO_ACCEPT_AT`. This script measures both on documents the memory has not seen:

- reviewed documents (what the memory holds): `corpus.generate(n, seed 11)` for the ten known categories,
  n = 5, 30 and 100 per category (and 1,000 for the unrelated check), plus five documents each of two kinds
  no model was trained on, taken from this machine's own files: Debian copyright files ("licence") and
  Debian changelogs ("changelog");
- questions: 20 generated texts per known category (seed 111), 60 further files of each new kind, and 200
  files nobody filed anything like (READMEs under /usr/share/doc and manual pages), which must not be
  suggested anything.

For every threshold it prints, per group, the share of questions the memory makes a suggestion for
(coverage) and the share of those suggestions that are right (precision), and how many of the unrelated files
got a suggestion. Then the combination with a model (`service._with_memory`, what the worker runs): a model
trained as `make run` trains the first one (150 generated texts per category, seed 1), alone and with the
memory, on the same questions: the first suggestion's accuracy, and how many documents are filed without a
person and how many of those are right.

    .venv/bin/python bench/memory.py           # about a minute
    .venv/bin/python bench/memory.py --quick   # memory sizes 5 and 30, no 1,000

Needs scikit-learn (to train the model); no server.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app import create_app
from app.classify import corpus, memory, registry, runtime, training, vectors
from app.classify import service as classify
from app.config import config_for_tests
from app.documents.models import ReviewState
from bench.machine import load_average

THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
NEW_KINDS = {"licence": "/usr/share/doc/*/copyright", "changelog": "/usr/share/doc/*/changelog.Debian.gz"}
UNRELATED = ("/usr/share/doc/*/README*", "/usr/share/man/man1/*.1.gz")
UNRELATED_LABEL = "(unrelated)"


def _read(path: str, limit: int = 20_000) -> str:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", errors="replace") as file:
            return file.read(limit)
    except OSError:
        return ""


def machine_files(pattern: str, count: int, rng: random.Random) -> list[str]:
    """`count` readable files (over 300 characters) matching `pattern`, in a seeded random order."""
    paths = sorted(glob.glob(pattern))
    rng.shuffle(paths)
    found = []
    for path in paths:
        text = _read(path)
        if len(text) > 300 and runtime.prepare(text):
            found.append(text)
        if len(found) == count:
            break
    return found


def state_of(texts: list[str], labels: list[str]) -> memory.State:
    """The memory holding these documents, as a worker would have loaded it (no database needed)."""
    entries = tuple(memory.Remembered(i, i, label, f"doc{i}", None) for i, label in enumerate(labels))
    matrix = np.vstack([vectors.text_vector(text) for text in texts]).astype(np.float32)
    return memory.State(matrix, entries, {label: label for label in set(labels)}, {})


def group(label: str) -> str:
    return "new" if label in NEW_KINDS else "unrelated" if label == UNRELATED_LABEL else "known"


def threshold_table(state: memory.State, questions: list[str], truth: list[str]) -> list[memory.Match | None]:
    matches = [state.nearest(vectors.text_vector(text)) for text in questions]
    similarity = np.array([m.similarity if m else 0.0 for m in matches])
    right = np.array([bool(m) and m.category_key == label for m, label in zip(matches, truth, strict=True)])
    groups = np.array([group(label) for label in truth])
    print(
        "| similarity at least | known: coverage | known: precision | new kinds: coverage | new kinds: precision "
        "| unrelated suggested |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for threshold in THRESHOLDS:
        cells = []
        for name in ("known", "new"):
            members = groups == name
            above = members & (similarity >= threshold)
            precision = f"{right[above].mean():.3f}" if above.any() else "-"
            cells += [f"{above.sum() / members.sum():.2f}", precision]
        unrelated = (groups == "unrelated") & (similarity >= threshold)
        mark = (
            " ← SUGGEST_AT"
            if threshold == memory.SUGGEST_AT
            else (" ← AUTO_ACCEPT_AT" if threshold == memory.AUTO_ACCEPT_AT else "")
        )
        print(f"| {threshold:.2f}{mark} | {' | '.join(cells)} | {unrelated.sum()} of {(groups == 'unrelated').sum()} |")
    wrong = similarity[(~right) & (groups != "unrelated")]
    print()
    print(
        f"Highest similarity of a wrong nearest document: {wrong.max():.3f}; of an unrelated file: "
        f"{similarity[groups == 'unrelated'].max():.3f}"
    )
    return matches


def combination(
    classifier: runtime.OnnxClassifier, matches: list[memory.Match | None], questions: list[str], truth: list[str]
) -> None:
    """The model alone against the model with the memory (service._with_memory), on the same questions."""
    active = registry.Snapshot(1, "model.onnx", {label: i for i, label in enumerate(sorted(set(truth)))})
    threshold = 0.85  # QM_AUTO_ACCEPT_THRESHOLD's default
    rows = {"model alone": [], "model + memory": []}
    for text, match, label in zip(questions, matches, truth, strict=True):
        if label == UNRELATED_LABEL:
            continue
        top = classifier.predict(text, k=3)
        predictions = [[name, round(p, 4)] for name, p in top]
        sure = bool(top) and top[0][1] >= threshold
        outcome = classify.Classification(
            ReviewState.AUTO_ACCEPTED if sure else ReviewState.NEEDS_REVIEW,
            1,
            predictions,
            top[0][1] if top else None,
            1,
            None,
        )
        combined = classify._with_memory(outcome, match, active)
        for name, result in (("model alone", outcome), ("model + memory", combined)):
            first = result.predictions[0][0] if result.predictions else None
            rows[name].append((group(label), first == label, result.review_state == ReviewState.AUTO_ACCEPTED))
    print("| | known: first right | new kinds: first right | filed without a person | of those right |")
    print("|:--|---:|---:|---:|---:|")
    for name, results in rows.items():
        known = [r for g, r, _ in results if g == "known"]
        new = [r for g, r, _ in results if g == "new"]
        auto = [r for _, r, a in results if a]
        print(
            f"| {name} | {np.mean(known):.3f} | {np.mean(new):.3f} | {len(auto)} of {len(results)} "
            f"| {np.mean(auto) if auto else float('nan'):.3f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="memory sizes 5 and 30 per category only")
    args = parser.parse_args()
    sizes = (5, 30) if args.quick else (5, 30, 100)
    started = time.perf_counter()
    rng = random.Random(3)
    print("Quartermaster memory benchmark: the thresholds of app/classify/memory.py")
    print(
        f"  memory     {memory.SCHEME}, {vectors.DIMENSIONS} columns, SUGGEST_AT {memory.SUGGEST_AT}, "
        f"AUTO_ACCEPT_AT {memory.AUTO_ACCEPT_AT}"
    )
    print(f"  load       {load_average()}")
    new_files = {kind: machine_files(pattern, 65, rng) for kind, pattern in NEW_KINDS.items()}
    unrelated = [text for pattern in UNRELATED for text in machine_files(pattern, 100, rng)]
    generated = corpus.generate(20, 111)
    questions = [item.text for item in generated] + [t for texts in new_files.values() for t in texts[5:]]
    truth = [item.category for item in generated] + [k for k, texts in new_files.items() for _ in texts[5:]]
    questions += unrelated
    truth += [UNRELATED_LABEL] * len(unrelated)
    print(
        f"  questions  {len(generated)} generated (seed 111), "
        + ", ".join(f"{len(texts) - 5} {kind} files" for kind, texts in new_files.items())
        + f", {len(unrelated)} unrelated files (READMEs, manual pages)"
    )

    with tempfile.TemporaryDirectory(prefix="qm-bench-memory-") as folder:
        app = create_app(config_for_tests(Path(folder), f"sqlite:///{folder}/bench.db"))
        with app.app_context():
            began = time.perf_counter()
            items = corpus.generate(150, 1)
            model = training.train([i.text for i in items], [i.category for i in items], seed=1)
            classifier = runtime.OnnxClassifier.from_bytes(model.onnx_model)
            print(
                f"  model      150 generated texts per category, seed 1, trained in {time.perf_counter() - began:.0f} s"
            )
            for per_category in sizes:
                reviewed = corpus.generate(per_category, 11)
                texts = [item.text for item in reviewed] + [t for v in new_files.values() for t in v[:5]]
                labels = [item.category for item in reviewed] + [k for k in new_files for _ in range(5)]
                print()
                print(
                    f"### {len(texts)} reviewed documents in the memory: {per_category} generated per category, "
                    "5 of each new kind"
                )
                print()
                matches = threshold_table(state_of(texts, labels), questions, truth)
                print()
                combination(classifier, matches, questions, truth)
            if not args.quick:
                reviewed = corpus.generate(1_000, 12)
                state = state_of([item.text for item in reviewed], [item.category for item in reviewed])
                matches = [state.nearest(vectors.text_vector(text)) for text in unrelated]
                over = sum(m.similarity >= memory.SUGGEST_AT for m in matches if m)
                print()
                print(
                    f"### 10,000 remembered generated documents: {over} of {len(unrelated)} unrelated files reach "
                    f"SUGGEST_AT (highest similarity {max(m.similarity for m in matches if m):.3f})"
                )
    print()
    print(f"Done in {time.perf_counter() - started:.0f} s; load average {load_average()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
