"""Calibration: "85% sure" should mean right about 85% of the time, and the models pages show how near a model is.

Models are small (30 generated texts per category) to keep the suite quick; every test runs on SQLite and
PostgreSQL (the `app` fixture).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from app.charts import reliability_chart
from app.classify import calibration, categories, corpus, evaluation, registry, retraining, runtime
from app.classify import service as classify
from app.classify.models import Category
from app.documents.models import ReviewState
from app.extensions import db
from tests.support.factories import make_document

PER_CATEGORY = 30
CLEAR_INVOICE = (
    "INVOICE No 2024-0412\nTeehaus Müller GmbH, Hauptstraße 5, Hamburg\nInvoice date 12.04.2024\n"
    "Green tea Sencha 10 kg 23.00 230.00\nSubtotal 230.00 EUR\nVAT 19% 43.70\nTotal due 273.70 EUR\n"
    "Payment within 30 days to IBAN DE89 3704 0044 0532 0130 00"
)


@pytest.fixture(autouse=True)
def small_models(monkeypatch):
    monkeypatch.setattr(retraining, "TRAIN_PER_CATEGORY", PER_CATEGORY)


@pytest.fixture
def trained(app):
    """The default categories and a first model, trained and promoted (calibrated on the generated held-out set)."""
    with app.app_context():
        categories.ensure_default_categories()
        outcome = retraining.train_candidate(per_category=PER_CATEGORY)
        assert outcome.promoted
        return outcome.candidate.id


def _ece(classifier: runtime.OnnxClassifier, texts: list[str], labels: list[str], *, calibrated: bool) -> float:
    tops = classifier.predict_many(texts, k=1, calibrated=calibrated)
    confidence = [top[0][1] for top in tops]
    correct = [top[0][0] == label for top, label in zip(tops, labels, strict=True)]
    return calibration.expected_calibration_error(calibration.reliability(confidence, correct))


def test_calibration_lowers_the_expected_calibration_error_on_texts_it_was_not_fitted_on(app, trained):
    with app.app_context():
        version = registry.get_version(trained)
        fitted = version.metrics["calibration"]
        assert fitted["fitted_on"] == "generated"  # nobody has reviewed anything yet
        assert fitted["size"] == 10 * evaluation.HELD_OUT_PER_CATEGORY
        assert fitted["ece_after"] < fitted["ece_before"]

        # And on texts neither the training nor the calibration saw: another seed altogether.
        fresh = corpus.generate(20, seed=31337)
        texts, labels = [item.text for item in fresh], [item.category for item in fresh]
        classifier = runtime.load(registry.active_model_path())
        assert classifier.temperature == fitted["temperature"] != 1.0
        before = _ece(classifier, texts, labels, calibrated=False)
        after = _ece(classifier, texts, labels, calibrated=True)
        assert after < before, (before, after)


def test_the_calibration_travels_beside_the_model_file_and_the_worker_applies_it(app, trained):
    with app.app_context():
        path = registry.active_model_path()
        sidecar = calibration.sidecar_path(path)
        assert sidecar.name == path.stem + ".calibration.json"
        stored = json.loads(sidecar.read_text())
        assert stored["model"] == path.name
        classifier = runtime.load(path)
        raw = classifier.predict_many([CLEAR_INVOICE], calibrated=False)[0]
        calibrated = classifier.predict(CLEAR_INVOICE, k=3)
        assert raw[0][0] == calibrated[0][0] == "invoice"  # calibration never changes the answer
        assert calibrated[0][1] != pytest.approx(raw[0][1], abs=1e-4)

        # What the worker stores and what the threshold is compared with are the calibrated probabilities.
        app.config["AUTO_ACCEPT_THRESHOLD"] = (raw[0][1] + calibrated[0][1]) / 2
        outcome = classify.classify_text(CLEAR_INVOICE)
        assert outcome.confidence == pytest.approx(calibrated[0][1])
        assert outcome.predictions[0] == ["invoice", round(calibrated[0][1], 4)]
        sure = calibrated[0][1] > raw[0][1]
        assert outcome.review_state == (ReviewState.AUTO_ACCEPTED if sure else ReviewState.NEEDS_REVIEW)

        # A rewritten calibration is picked up by the next document, like a replaced model file.
        calibration.write_sidecar(path, stored | {"temperature": 8.0})
        softer = runtime.load(path).predict(CLEAR_INVOICE, k=1)
        assert softer[0][0] == "invoice"
        assert softer[0][1] < min(raw[0][1], calibrated[0][1])
        sidecar.write_text("not json")
        assert runtime.load(path).temperature == 1.0  # unreadable: the model's own probabilities, not a failure


def test_temperature_scaling_keeps_the_order_and_fits_an_overconfident_model():
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 3, size=400)
    sure = np.full((400, 3), 0.01)
    right = rng.random(400) < 0.7  # right 70% of the time, yet claims 98%
    guess = np.where(right, truth, (truth + 1) % 3)
    sure[np.arange(400), guess] = 0.98
    temperature = calibration.fit_temperature(sure, truth)
    assert temperature > 1  # too sure: softened
    softened = calibration.apply_temperature(sure, temperature)
    assert (softened.argmax(axis=1) == sure.argmax(axis=1)).all()
    before = calibration.expected_calibration_error(calibration.reliability(*calibration.top_and_correct(sure, truth)))
    after = calibration.expected_calibration_error(
        calibration.reliability(*calibration.top_and_correct(softened, truth))
    )
    assert before > 0.25
    assert after < 0.05


def test_the_reliability_chart_has_a_bar_per_bin_with_documents_and_their_count():
    bins = calibration.reliability([0.95, 0.92, 0.55, 0.51, 0.58], [True, True, True, False, False])
    chart = reliability_chart(bins)
    assert [bar.count for bar in chart.bars] == [3, 2]
    assert "50%-60% sure, 3 documents, 33% right" in chart.summary
    assert reliability_chart(calibration.reliability([], [])) is None


def test_the_models_page_shows_calibration_and_what_the_threshold_does(app, client, auth, trained):
    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.5
    with app.app_context():
        invoice = db.session.scalar(select(Category).where(Category.key == "invoice"))
        receipt = db.session.scalar(select(Category).where(Category.key == "receipt"))
        filed = []
        for number in range(3):
            text = CLEAR_INVOICE.replace("2024-0412", f"2024-04{number}9")
            fields = classify.classify_text(text).as_fields()
            assert fields["review_state"] == ReviewState.AUTO_ACCEPTED
            filed.append(make_document(text=text, filename=f"invoice-{number}.txt", **fields))
        waiting = classify.classify_text(CLEAR_INVOICE).as_fields() | {
            "review_state": ReviewState.NEEDS_REVIEW,
            "review_reason": "The model is 40% sure; documents under 50% are checked by a person.",
        }
        make_document(text="Waiting", filename="waiting.txt", **waiting)
        twin = classify.classify_text(CLEAR_INVOICE).as_fields() | {"review_reason": "Same text as invoice-0.txt"}
        make_document(text="Twin", filename="twin.txt", **twin)  # filed by its twin, not by the threshold
        db.session.commit()
        classify.review_document(filed[0].id, receipt.id, user_id=None)  # a person changed one
        classify.review_document(filed[1].id, invoice.id, user_id=None)  # and kept another
        outcome = evaluation.auto_accept_outcome(trained)
        assert (outcome.classified, outcome.auto_accepted, outcome.changed) == (5, 3, 1)

    auth.login_as("admin")
    page = client.get("/admin/models").get_data(as_text=True)
    assert 'data-testid="promotion-rule"' in page
    assert f"once at least {evaluation.MIN_REVIEWED} reviewed" in page
    assert 'data-testid="reliability-before"' in page
    assert 'data-testid="reliability-after"' in page
    assert 'data-testid="ece-before"' in page
    assert "Calibrated on <strong>the 400 held-out texts, generated ones included</strong>" in page
    assert "auto-accepted\n  <strong>3 of the 5</strong> documents it classified (60%)" in page
    assert "people later changed <strong>1</strong> of those (33%)" in page
    assert ' style="' not in page
    version_page = client.get(f"/admin/models/{trained}").get_data(as_text=True)
    assert 'data-testid="reliability-after"' in version_page
    assert 'data-testid="auto-accept"' in version_page


def test_a_version_trained_before_calibration_says_so(app, client, auth, trained):
    with app.app_context():
        version = registry.get_version(trained)
        version.metrics = {key: value for key, value in version.metrics.items() if key != "calibration"}
        db.session.commit()
    auth.login_as("admin")
    page = client.get(f"/admin/models/{trained}").get_data(as_text=True)
    assert "This version was trained before models were calibrated" in page


def test_flask_model_calibrate_fits_a_version_again_and_the_worker_picks_it_up(app, runner, trained):
    with app.app_context():
        path = registry.active_model_path()
        calibration.sidecar_path(path).unlink()  # as a version trained before calibration existed
        assert runtime.load(path).temperature == 1.0
    result = runner.invoke(args=["model", "calibrate"])
    assert result.exit_code == 0, result.output
    assert "Calibrated on 400 held-out texts (generated ones included): temperature" in result.output
    with app.app_context():
        version = registry.get_version(trained)
        assert runtime.load(registry.active_model_path()).temperature == version.metrics["calibration"]["temperature"]
        assert version.metrics["calibration"]["ece_after"] < version.metrics["calibration"]["ece_before"]
    missing = runner.invoke(args=["model", "calibrate", "99"])
    assert missing.exit_code == 1
    assert "There is no model version 99." in missing.output
