"""README claim: "One reviewed text in five is never trained on: … it is what models are measured on."

Three parts: about a fifth of texts are held out; the choice is the text's own (the same in every
process and on every run, so a document never moves between training and measuring); and held-out
reviewed documents reach the measuring set and never the training set of a real training run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.classify import categories, evaluation, retraining
from app.classify import service as classify
from app.classify.models import Category
from app.extensions import db
from tests.support.factories import make_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = [f"Delivery note {n}: {n % 7 + 1} pallets of tea for customer {n * 37 % 1000}" for n in range(5000)]


def test_about_one_text_in_five_is_held_out():
    held = sum(evaluation.is_held_out(text) for text in SAMPLE)
    assert 0.18 <= held / len(SAMPLE) <= 0.22  # 20% ± 2 points: over 3 standard deviations for 5,000 texts


def test_whether_a_text_is_held_out_depends_on_the_text_alone():
    """Same text, same answer: asked twice, for an equal copy, and in another process with another hash seed."""
    first = [evaluation.is_held_out(text) for text in SAMPLE[:300]]
    assert first == [evaluation.is_held_out("".join(list(text))) for text in SAMPLE[:300]]
    script = (
        "import json, sys; from app.classify.evaluation import is_held_out; "
        "print(json.dumps([is_held_out(t) for t in json.load(sys.stdin)]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(SAMPLE[:300]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=120,
    )
    assert json.loads(other.stdout) == first
    # Both answers occur in the sample, so the comparison above means something.
    assert len(set(first)) == 2


@pytest.fixture
def seeded(app, monkeypatch):
    monkeypatch.setattr(retraining, "TRAIN_PER_CATEGORY", 30)
    with app.app_context():
        categories.ensure_default_categories()


def _review(texts: list[str], category_name: str) -> None:
    category = db.session.scalar(select(Category).where(Category.name == category_name))
    for n, text in enumerate(texts):
        document = make_document(text=text, filename=f"reviewed-{n}.txt")
        db.session.commit()
        classify.review_document(document.id, category.id, user_id=None)


def test_held_out_reviewed_documents_are_measured_on_and_never_trained_on(app, seeded):
    texts = [
        f"Certificate of origin {n}: {n % 9 + 2} sacks of green tea, lot {n * 53 % 997}, inspected and sealed"
        for n in range(60)
    ]
    held = {text for text in texts if evaluation.is_held_out(text)}
    assert 0 < len(held) < len(texts)
    with app.app_context():
        _review(texts, "certificate")

        split = evaluation.reviewed_texts()
        assert set(split.held_texts) == held
        assert set(split.train_texts) == set(texts) - held
        assert not held & set(split.train_texts)

        candidate = retraining.train_candidate(per_category=30).candidate
        assert candidate.reviewed_size == len(texts) - len(held)  # what it was trained on: none held out
        assert candidate.metrics["eval_reviewed"] == len(held)  # what it was measured on: all of them
