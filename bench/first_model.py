"""The first model on realistic documents: what a new installation's users see before anyone has reviewed anything.

`make run` trains the first model with `flask model train --if-missing` (150 generated texts per category,
seed 1, calibrated on the generated held-out set). This script does exactly that, in a temporary folder on
SQLite with the default categories, then classifies the hand-written documents in tests/data/realistic/
(one folder per category, plain text as a PDF's text layer or an OCR pass gives it; none comes from the
generator) through the active model file as the worker loads it, calibration included, and prints:

- accuracy (the top category is the folder's);
- mean confidence of the right answers (the calibrated probability the review page shows);
- the share auto-accepted (confidence at or above the auto-accept threshold, 0.85 by default) and the share
  of those that were wrong (what a person would later have to change);
- every clear invoice's confidence (the issue's acceptance: a clear invoice is filed as "invoice" without a
  person), where "clear" is every invoice whose file name does not say "ocr";
- how long the training took, and one line per document (--verbose).

Run from the project root:

    .venv/bin/python bench/first_model.py            # ~30 s on 2 cores, most of it training
    .venv/bin/python bench/first_model.py --verbose  # and every document's answer
    git show 61d1b87:app/classify/corpus.py > /tmp/old_corpus.py
    .venv/bin/python bench/first_model.py --timing-against /tmp/old_corpus.py   # training cost, old vs new corpus

--timing-against trains on an older corpus module (a file) and on today's, back to back in one process so that
both see the same load, and prints how long generating the 1,500 texts, fitting and converting took, and how
long the texts are; nothing else.

It needs no server and removes its temporary folder at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app import create_app
from app.classify import categories, registry, runtime
from app.config import config_for_tests
from app.extensions import db
from bench.machine import library_versions, load_average

ROOT = Path(__file__).resolve().parent.parent
REALISTIC = ROOT / "tests" / "data" / "realistic"


@dataclass(frozen=True)
class Answer:
    name: str  # category folder / file name
    truth: str
    predicted: str
    confidence: float

    @property
    def right(self) -> bool:
        return self.predicted == self.truth

    @property
    def clear_invoice(self) -> bool:
        return self.truth == "invoice" and "ocr" not in self.name


def realistic_documents(folder: Path = REALISTIC) -> list[tuple[str, str, str]]:
    """(folder/file name, category, text) for every document; a folder's name is its category, _ for a space."""
    return [
        (f"{path.parent.name}/{path.name}", path.parent.name.replace("_", " "), path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*/*.txt"))
    ]


def classify_all(model_path: Path, documents: list[tuple[str, str, str]]) -> list[Answer]:
    classifier = runtime.load(model_path)  # the worker's way: calibration sidecar applied
    tops = classifier.predict_many([text for _, _, text in documents], k=1)
    return [
        Answer(name, truth, top[0][0] if top else "(none)", top[0][1] if top else 0.0)
        for (name, truth, _), top in zip(documents, tops, strict=True)
    ]


def summary(answers: list[Answer], threshold: float) -> dict[str, float]:
    right = [a for a in answers if a.right]
    accepted = [a for a in answers if a.confidence >= threshold]
    invoices = [a for a in answers if a.clear_invoice]
    return {
        "documents": len(answers),
        "accuracy": len(right) / len(answers),
        "mean_confidence_right": sum(a.confidence for a in right) / len(right) if right else 0.0,
        "auto_accepted": len(accepted) / len(answers),
        "wrong_of_auto_accepted": sum(not a.right for a in accepted) / len(accepted) if accepted else 0.0,
        "clear_invoices": len(invoices),
        "clear_invoices_auto_accepted": sum(a.right and a.confidence >= threshold for a in invoices),
        "lowest_clear_invoice": min((a.confidence if a.right else 0.0 for a in invoices), default=0.0),
    }


def training_cost(old_corpus: Path) -> None:
    """Generate and train `make run`'s 1,500 texts from an older corpus module and from today's, back to back."""
    from app.classify import corpus, training  # training: scikit-learn, needed here only

    spec = importlib.util.spec_from_file_location("old_corpus", old_corpus)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{old_corpus} is not a Python module")
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_corpus"] = old  # dataclasses look their module up
    spec.loader.exec_module(old)
    print(f"Load average before: {load_average()}")
    for name, module in ((str(old_corpus), old), ("app/classify/corpus.py", corpus)):
        began = time.perf_counter()
        items = module.generate(150, 1)
        generated = time.perf_counter() - began
        model = training.train([item.text for item in items], [item.category for item in items], seed=1)
        mean = sum(len(item.text) for item in items) / len(items)
        print(
            f"{name}: {len(items)} texts of {mean:.0f} characters on average; generated in {generated:.1f} s, "
            f"fitted in {model.fit_seconds:.1f} s, converted to ONNX in {model.convert_seconds:.1f} s"
        )
    print(f"Load average after: {load_average()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="print every document's answer")
    parser.add_argument("--timing-against", type=Path, help="an older corpus.py: compare training cost only")
    args = parser.parse_args()
    if args.timing_against:
        training_cost(args.timing_against)
        return 0
    documents = realistic_documents()
    print(f"Load average before: {load_average()}")
    print(library_versions(("scikit-learn", "skl2onnx", "onnxruntime", "numpy")))
    with tempfile.TemporaryDirectory(prefix="qm-bench-first-") as folder:
        root = Path(folder)
        app = create_app(config_for_tests(root, f"sqlite:///{root}/bench.db"))
        threshold = float(app.config["AUTO_ACCEPT_THRESHOLD"])
        with app.app_context():
            db.create_all()
            categories.ensure_default_categories()  # what `flask categories seed` does
            began = time.perf_counter()
            result = app.test_cli_runner().invoke(args=["model", "train", "--if-missing"])
            seconds = time.perf_counter() - began
            if result.exit_code != 0:
                print(result.output)
                return 1
            model_path = registry.active_model_path()
            version = registry.active_version()
            fitted = version.metrics.get("calibration", {})
            answers = classify_all(model_path, documents)
            db.session.remove()
    figures = summary(answers, threshold)
    print(
        f"First model: `flask model train --if-missing` in {seconds:.1f} s, {version.training_size} texts, "
        f"generated held-out accuracy {version.metrics['accuracy']:.3f}, temperature {fitted.get('temperature')}"
    )
    print(f"Load average after: {load_average()}")
    print()
    if args.verbose:
        for answer in answers:
            mark = "ok " if answer.right else "NO "
            print(f"  {mark} {answer.confidence:5.2f}  {answer.predicted:<15} {answer.name}")
        print()
    print(f"### The first model on {figures['documents']} realistic documents (tests/data/realistic)")
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| accuracy | {figures['accuracy']:.3f} |")
    print(f"| mean confidence of right answers | {figures['mean_confidence_right']:.3f} |")
    print(f"| auto-accepted (confidence >= {threshold:.2f}) | {figures['auto_accepted']:.3f} |")
    print(f"| wrong among auto-accepted | {figures['wrong_of_auto_accepted']:.3f} |")
    print(
        f"| clear invoices auto-accepted as invoice | {figures['clear_invoices_auto_accepted']} of "
        f"{figures['clear_invoices']} (lowest {figures['lowest_clear_invoice']:.2f}) |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
