"""Retraining: people's reviews become training data, the retrain button and its progress, the schedule, the pages.

Every test runs on SQLite and PostgreSQL (the `app` fixture); the queue runs tasks at once, so a retrain
started from the page has finished by the time the response arrives. Models are small (30 generated texts
per category) to keep the suite quick.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.charts import RateBucket, rate_chart
from app.classify import categories, evaluation, registry, retraining, runtime, tasks
from app.classify import service as classify
from app.classify.models import Category, ModelVersion, Review, TrainingRun
from app.db_types import utcnow
from app.documents.models import Document
from app.extensions import db
from app.ops.models import AuditEvent
from tests.support.factories import make_document

PER_CATEGORY = 30
MOODS = ("bright", "malty", "smoky", "floral", "grassy", "nutty", "earthy", "honeyed", "brisk", "mellow")
SLEEVE = ("sleeve", "wrapper", "band", "collar", "tag", "label", "seal", "strip", "tab", "ribbon")


@pytest.fixture(autouse=True)
def small_models(monkeypatch):
    """Retrains started by the button or the schedule train small models too."""
    monkeypatch.setattr(retraining, "TRAIN_PER_CATEGORY", PER_CATEGORY)


@pytest.fixture
def seeded(app):
    with app.app_context():
        categories.ensure_default_categories()


def _train(**options) -> retraining.TrainingOutcome:
    return retraining.train_candidate(per_category=options.pop("per_category", PER_CATEGORY), **options)


def _file(texts_and_categories: list[tuple[str, str]], *, user_id: int | None = None) -> list[int]:
    """Documents as the worker leaves them (text read, classified by the active model), each filed by a person.

    The rows are written here rather than uploaded, so these tests are about what reviews teach the model,
    not about reading files.
    """
    ids = []
    for text, category_name in texts_and_categories:
        fields = classify.classify_text(text).as_fields()
        document = make_document(text=text, filename=f"note-{len(ids)}.txt", **fields)
        db.session.commit()
        category = db.session.scalar(select(Category).where(Category.name == category_name))
        classify.review_document(document.id, category.id, user_id=user_id)
        ids.append(document.id)
    return ids


def _tasting_note(i: int) -> str:
    return f"Tasting note {i}: quorbleflax cupping, {MOODS[i % 10]} finish, score {80 + i % 17} by panel {i % 4}"


def _held_out_texts(count: int, *, held: bool) -> list[str]:
    """Texts of samples whose fate in the split is known in advance: all held out, or all trained on."""
    found = []
    for i in itertools.count():
        text = f"Sample swatch {i} zintaroop {SLEEVE[i % 10]} offcut {1000 + i}"
        if evaluation.is_held_out(text) == held:
            found.append(text)
        if len(found) == count:
            return found
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- reviews become training data


def test_reviewed_documents_flow_into_the_next_training_set(app, seeded):
    """A category that exists only in people's reviews is learnt from them, and the model predicts it."""
    with app.app_context():
        _train()  # the first model knows only the generated categories
        categories.create_category("tasting notes", user_id=None)
        ids = _file([(_tasting_note(i), "tasting notes") for i in range(40)])
        texts = [db.session.get(Document, i).text for i in ids]
        held = sum(evaluation.is_held_out(text) for text in texts)
        assert 0 < held < len(texts)
        newest_review = db.session.scalar(select(func.max(Review.id)))

        outcome = _train()
        candidate = outcome.candidate
        assert candidate.reviewed_size == len(texts) - held
        assert candidate.training_size == 10 * PER_CATEGORY + candidate.reviewed_size
        assert candidate.metrics["eval_reviewed"] == held
        assert candidate.metrics["eval_generated"] == 10 * evaluation.HELD_OUT_PER_CATEGORY
        assert candidate.last_review_id == newest_review
        assert outcome.promoted, outcome.reason  # the old model cannot know the new category: it scores lower
        assert classify.predict("quorbleflax cupping notes, malty finish")[0][0] == "tasting notes"
        assert candidate.metrics["per_class"]["tasting notes"]["support"] == held


def test_a_documents_latest_review_is_what_is_learnt(app, seeded):
    with app.app_context():
        ids = _file([(_tasting_note(i), "receipt") for i in range(6)])
        contract = db.session.scalar(select(Category).where(Category.name == "contract"))
        for document_id in ids:  # a person changed their mind on every one
            classify.review_document(document_id, contract.id, user_id=None)
        found = evaluation.reviewed_texts()
        assert set(found.train_labels + found.held_labels) == {"contract"}
        assert len(found.train_texts) + len(found.held_texts) == 6
        categories.set_active("contract", False, user_id=None)  # a retired category teaches nothing
        assert evaluation.reviewed_texts().train_texts == []


def test_held_out_reviewed_documents_are_measured_on_but_never_trained_on(app, seeded):
    """Documents of a category that are all in the held-out part: the model never learns the category."""
    with app.app_context():
        categories.create_category("samples", user_id=None)
        _file([(text, "samples") for text in _held_out_texts(5, held=True)])
        candidate = _train().candidate
        assert candidate.reviewed_size == 0
        assert candidate.metrics["eval_reviewed"] == 5
        assert candidate.metrics["per_class"]["samples"]["support"] == 5
        assert candidate.metrics["per_class"]["samples"]["recall"] == 0.0
        learnt = runtime.OnnxClassifier(registry.models_dir() / candidate.filename).labels
        assert "samples" not in learnt

        _file([(text, "samples") for text in _held_out_texts(6, held=False)])
        again = _train().candidate
        assert again.reviewed_size == 6
        assert "samples" in runtime.OnnxClassifier(registry.models_dir() / again.filename).labels


def test_both_models_are_measured_on_the_same_current_texts(app, seeded):
    with app.app_context():
        first = _train().candidate
        categories.create_category("samples", user_id=None)
        _file([(text, "samples") for text in _held_out_texts(4, held=True)])
        second = _train(seed=2)
        baseline = second.candidate.metrics["baseline"]
        assert baseline["version_id"] == first.id
        # The first model was measured again, on today's larger set: its stored figure was on fewer texts.
        assert second.candidate.metrics["size"] == first.metrics["size"] + 4
        assert baseline["macro_f1"] != first.metrics["macro_f1"]


def test_a_broken_active_model_loses_to_any_working_candidate(app, seeded):
    with app.app_context():
        first = _train().candidate
        (registry.models_dir() / first.filename).write_bytes(b"not a model")
        runtime.clear_cache()
        outcome = _train(per_category=5, seed=9)
        assert outcome.promoted
        assert "could not be measured" in outcome.reason
        assert "error" in outcome.candidate.metrics["baseline"]


# ---------------------------------------------------------------- real reviews decide


def _card_slips(count: int, *, held: bool) -> list[str]:
    """Card-terminal slips, which the generated corpus would call receipts, all held out or all trained on."""
    found = []
    for i in itertools.count():
        text = (
            f"Card slip {i}: terminal T{i % 7} VISA contactless approved, amount {3 + i % 40}.{i % 100:02d} EUR, "
            f"auth code {4000 + i * 7}, merchant copy, please keep this slip"
        )
        if evaluation.is_held_out(text) == held:
            found.append(text)
        if len(found) == count:
            return found
    raise AssertionError("unreachable")


def test_a_candidate_better_on_real_reviews_and_slightly_worse_on_generated_text_is_promoted(app, client, auth, seeded):
    """People file card-terminal slips under "other", which the generated corpus would call receipts."""
    with app.app_context():
        first = _train().candidate
        held = _card_slips(evaluation.MIN_REVIEWED + 2, held=True)
        _file([(text, "other") for text in held + _card_slips(40, held=False)])

        outcome = _train()
        metrics, baseline = outcome.candidate.metrics, outcome.baseline
        decision = metrics["decision"]
        assert decision["by"] == "reviewed"
        assert decision["size"] == len(held)
        assert decision["reviewed_categories"] == ["other"]
        assert "other" not in decision["floor_categories"]
        # Better on what people filed, slightly worse on the generated texts: promoted, and the reason says why.
        assert metrics["reviewed"]["accuracy"] > baseline["reviewed"]["accuracy"]
        assert decision["candidate"]["primary"] > decision["active"]["primary"]
        assert metrics["generated"]["macro_f1"] < baseline["generated"]["macro_f1"]
        assert decision["candidate"]["floor"] >= decision["active"]["floor"] - retraining.FLOOR_TOLERANCE
        assert outcome.promoted, outcome.reason
        assert "at least as good as the active model on real documents" in outcome.reason
        assert f"on the same {len(held)} held-out reviewed documents" in outcome.reason
        # Calibrated on the reviewed documents now that there are enough of them.
        assert metrics["calibration"]["fitted_on"] == "reviewed"
        assert metrics["calibration"]["size"] == len(held)

        # The learning curve measures both versions on today's held-out reviewed documents.
        curve = evaluation.learning_curve(registry.versions(), registry.models_dir())
        assert [(point.version_id, point.reviewed_size) for point in curve] == [
            (first.id, 0),
            (outcome.candidate.id, 40),
        ]
        assert curve[1].accuracy == metrics["reviewed"]["accuracy"] > curve[0].accuracy
        assert {point.size for point in curve} == {len(held)}

    auth.login_as("admin")
    page = client.get("/admin/models").get_data(as_text=True)
    assert 'data-testid="learning-curve"' in page
    assert page.count('class="dot"') == 2
    assert "Calibrated on <strong>22 held-out reviewed documents</strong>" in page
    version_page = client.get(f"/admin/models/{outcome.candidate.id}").get_data(as_text=True)
    assert f"Decided on the {len(held)} held-out reviewed documents" in version_page


def test_reviews_weigh_more_than_generated_texts_as_they_accumulate():
    weights = retraining.training_weights(["invoice", "receipt", "receipt"], ["receipt"] * 50)
    assert weights[:3] == [1.0, 0.5, 0.5]  # invoice: nobody reviewed it; receipt: 50 reviews halve its generated texts
    assert weights[3:] == [retraining.REVIEWED_WEIGHT] * 50
    many = retraining.training_weights(["receipt"], ["receipt"] * 500)
    assert many[0] == retraining.GENERATED_FLOOR


def test_until_enough_reviews_are_held_out_everything_held_out_decides_together(app, seeded):
    with app.app_context():
        _train()
        _file([(text, "other") for text in _card_slips(evaluation.MIN_REVIEWED - 1, held=True)])
        decision = _train(seed=2).candidate.metrics["decision"]
        assert decision["by"] == "all"
        assert decision["size"] == 10 * evaluation.HELD_OUT_PER_CATEGORY + evaluation.MIN_REVIEWED - 1


# ---------------------------------------------------------------- worse models, forcing and rolling back


def test_a_worse_model_is_not_promoted_and_the_cli_says_so_with_both_figures(app, runner, seeded):
    first = runner.invoke(args=["model", "train", "--per-category", "40"])
    assert first.exit_code == 0, first.output
    worse = runner.invoke(args=["model", "train", "--per-category", "2", "--seed", "7"])
    assert worse.exit_code == 0, worse.output
    assert "new model (version 2):" in worse.output
    assert "active model (version 1):" in worse.output
    assert "Not promoted: it is worse than the active model" in worse.output
    assert "flask model promote 2" in worse.output
    with app.app_context():
        assert registry.active_version().id == 1
        second = db.session.get(ModelVersion, 2)
        assert second.metrics["macro_f1"] < second.metrics["baseline"]["macro_f1"]

    forced = runner.invoke(args=["model", "promote", "2"])
    assert forced.exit_code == 0, forced.output
    assert "Model 2 is now active (was 1)" in forced.output
    listing = runner.invoke(args=["model", "list"]).output.splitlines()
    assert listing[0].startswith("*    2")
    back = runner.invoke(args=["model", "promote", "1"])
    assert "Model 1 is now active (was 2)" in back.output
    missing = runner.invoke(args=["model", "promote", "99"])
    assert missing.exit_code == 1
    assert "There is no model version 99." in missing.output
    with app.app_context():
        assert registry.active_version().id == 1
        summaries = db.session.scalars(
            select(AuditEvent.summary).where(AuditEvent.action == "model.promote").order_by(AuditEvent.id)
        ).all()
        assert summaries[-2:] == [
            "Promoted model 2 (model 1 was active)",
            "Rolled back to model 1 (model 2 was active)",
        ]


def test_force_promote_and_roll_back_from_the_browser(app, client, auth, seeded):
    with app.app_context():
        _train()
        worse = _train(per_category=2, seed=7)
        assert not worse.promoted
    admin = auth.login_as("admin")
    page = client.get("/admin/models").get_data(as_text=True)
    assert 'action="/admin/models/2/promote"' in page
    assert "Promote</button>" in page

    response = client.post("/admin/models/2/promote")
    assert response.status_code == 303
    page = client.get("/admin/models").get_data(as_text=True)
    assert "Model 2 is now active" in page
    assert "Roll back to this version" in page
    response = client.post("/admin/models/1/promote")
    assert response.status_code == 303
    assert "Rolled back to model 1" in client.get("/admin/models").get_data(as_text=True)
    with app.app_context():
        assert registry.active_version().id == 1
        actors = db.session.scalars(
            select(AuditEvent.actor_id).where(AuditEvent.action == "model.promote").order_by(AuditEvent.id)
        ).all()
        assert actors[-2:] == [admin.id, admin.id]

    assert client.post("/admin/models/42/promote").status_code == 404
    with app.app_context():
        (registry.models_dir() / db.session.get(ModelVersion, 2).filename).unlink()
        runtime.clear_cache()
    refused = client.post("/admin/models/2/promote")
    assert refused.status_code == 409
    assert "Model 2 cannot be used, so it stays inactive." in refused.get_data(as_text=True)
    assert client.post("/admin/models/1/promote", csrf=False).status_code == 400


# ---------------------------------------------------------------- the retrain button


def test_the_retrain_button_trains_a_new_version_and_shows_the_outcome(app, client, auth, seeded):
    admin = auth.login_as("admin")
    response = client.post("/admin/models/retrain", htmx=True)
    assert response.status_code == 200
    panel = response.get_data(as_text=True)
    assert 'id="training-run"' in panel
    assert "<html" not in panel
    assert "Training finished" in panel
    assert 'href="/admin/models/1"' in panel
    assert "was promoted" in panel
    assert "every 1s" not in panel  # the run has ended: no more polling
    assert response.headers["HX-Trigger"] == "model-trained"  # the page reloads its list of versions
    versions = client.get("/admin/models", htmx=True).get_data(as_text=True)
    assert versions.lstrip().startswith('<section id="versions"')
    assert 'data-version="1"' in versions
    with app.app_context():
        run = db.session.scalar(select(TrainingRun))
        assert (run.state, run.trigger, run.progress, run.promoted) == ("finished", "manual", 100, True)
        assert run.requested_by == admin.id
        assert run.model_version_id == registry.active_version().id == 1
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "model.retrain")).actor_id == admin.id
    page = client.get("/admin/models").get_data(as_text=True)
    assert 'data-version="1"' in page
    assert 'data-testid="active-badge"' in page

    without_script = client.post("/admin/models/retrain")
    assert without_script.status_code == 303
    assert without_script.headers["Location"].endswith("/admin/models")
    with app.app_context():
        runs = db.session.scalars(select(TrainingRun).order_by(TrainingRun.id)).all()
        assert [r.state for r in runs] == ["finished", "finished"]
        assert runs[1].promoted is True  # the same data and seed: as good, so promoted
        assert registry.active_version().id == 2


def test_the_progress_fragment_shows_the_percent_and_polls_until_the_run_ends(app, client, auth):
    with app.app_context():
        run = TrainingRun(
            trigger="manual", state="running", progress=40, stage="Training on 316 texts", started_at=utcnow()
        )
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    auth.login_as("admin")
    response = client.get(f"/admin/models/runs/{run_id}", htmx=True)
    assert "HX-Trigger" not in response.headers
    fragment = response.get_data(as_text=True)
    assert '<progress value="40" max="100"' in fragment
    assert "<strong>40%</strong> · Training on 316 texts" in fragment
    assert 'hx-trigger="every 1s"' in fragment
    assert f'hx-get="/admin/models/runs/{run_id}"' in fragment
    assert re.search(r'<button type="submit" disabled data-testid="retrain">', fragment)  # one run at a time
    assert "<html" in client.get(f"/admin/models/runs/{run_id}").get_data(as_text=True)  # without htmx: a page

    with app.app_context():
        db.session.execute(
            update(TrainingRun)
            .where(TrainingRun.id == run_id)
            .values(state="failed", finished_at=utcnow(), error="The worker stopped during training.")
        )
        db.session.commit()
    ended = client.get(f"/admin/models/runs/{run_id}", htmx=True).get_data(as_text=True)
    assert "every 1s" not in ended
    assert "Training failed" in ended
    assert "The worker stopped during training." in ended
    assert client.get("/admin/models/runs/999", htmx=True).status_code == 404


def test_a_second_click_joins_the_run_under_way_and_a_stale_run_is_failed(app, client, auth, seeded):
    with app.app_context():
        going = TrainingRun(trigger="schedule", state="running", progress=20, stage="Training", started_at=utcnow())
        db.session.add(going)
        db.session.commit()
        going_id = going.id
    auth.login_as("admin")
    panel = client.post("/admin/models/retrain", htmx=True).get_data(as_text=True)
    assert '<progress value="20"' in panel
    assert "disabled" in panel  # the button waits for the run to end
    with app.app_context():
        assert db.session.scalar(select(func.count(TrainingRun.id))) == 1
        # Nobody has heard from it for over an hour: the worker died with it.
        db.session.execute(
            update(TrainingRun).where(TrainingRun.id == going_id).values(started_at=utcnow() - timedelta(hours=2))
        )
        db.session.commit()
    panel = client.post("/admin/models/retrain", htmx=True).get_data(as_text=True)
    assert "Training finished" in panel
    with app.app_context():
        stale = db.session.get(TrainingRun, going_id)
        assert (stale.state, stale.error) == ("failed", "The worker stopped during training.")
        assert db.session.scalar(select(func.count(TrainingRun.id))) == 2


def test_a_retrain_that_cannot_train_fails_with_the_reason(app, client, auth, seeded):
    with app.app_context():
        for category in categories.list_categories():
            if category.name != "invoice":
                categories.set_active(category.name, False, user_id=None)
    auth.login_as("admin")
    panel = client.post("/admin/models/retrain", htmx=True).get_data(as_text=True)
    assert "Training failed" in panel
    assert "Training needs texts of at least two categories." in panel
    with app.app_context():
        run = db.session.scalar(select(TrainingRun))
        assert run.state == "failed"
        assert registry.versions() == []


def test_only_admins_see_models_and_act_on_them(app, client, auth, seeded):
    with app.app_context():
        _train()
    auth.login_as("viewer")
    assert client.get("/admin/models").status_code == 403
    assert client.get("/admin/models/1").status_code == 403
    auth.logout()
    auth.login_as("staff")
    assert client.get("/admin/models").status_code == 403
    assert client.get("/admin/models/1").status_code == 403
    assert client.post("/admin/models/retrain", htmx=True).status_code == 403
    assert client.post("/admin/models/1/promote").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(TrainingRun.id))) == 0
    auth.logout()
    assert client.get("/admin/models").status_code == 302  # signed out: to the sign-in page


# ---------------------------------------------------------------- the schedule


def test_the_periodic_retrain_waits_for_new_reviews(app, seeded):
    with app.app_context():
        app.config["RETRAIN_EVERY_HOURS"] = 24.0
        app.config["RETRAIN_MIN_REVIEWS"] = 2
        _train()
        later = utcnow() + timedelta(hours=25)
        decision = retraining.retrain_due(now=later)
        assert not decision
        assert decision.reason == "0 new reviews since the last training; the periodic retrain waits for 2."

        _file([(_tasting_note(i), "receipt") for i in range(3)])
        assert retraining.retrain_due(now=later)
        assert retraining.retrain_due(now=later).reason == "3 new reviews since the last training."
        too_soon = retraining.retrain_due()  # the model is minutes old
        assert not too_soon
        assert "the next is due after" in too_soon.reason

        app.config["RETRAIN_EVERY_HOURS"] = 0.0
        assert retraining.retrain_due(now=later).reason.startswith("The periodic retrain is off")
        app.config["RETRAIN_EVERY_HOURS"] = 24.0

        # The schedule's own task: a day later it starts a run, which learns the three reviews.
        db.session.execute(update(ModelVersion).values(created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        tasks.scheduled_retrain.call_local()
        run = db.session.scalar(select(TrainingRun))
        assert (run.trigger, run.state, run.requested_by) == ("schedule", "finished", None)
        newest = db.session.get(ModelVersion, run.model_version_id)
        assert newest.last_review_id == db.session.scalar(select(func.max(Review.id)))
        # Nothing new since: the next tick does nothing, however late.
        assert retraining.retrain_due(now=utcnow() + timedelta(days=3)).reason.startswith("0 new reviews")
        tasks.scheduled_retrain.call_local()
        assert db.session.scalar(select(func.count(TrainingRun.id))) == 1


# ---------------------------------------------------------------- the pages' figures and charts


def test_the_version_page_shows_figures_per_category_the_heatmap_and_the_acceptance_chart(app, client, auth, seeded):
    app.config["AUTO_ACCEPT_THRESHOLD"] = 0.999  # everything waits for a person, who then reviews it
    with app.app_context():
        version = _train().candidate
        version_id, labels = version.id, version.metrics["labels"]
        ids = _file(
            [
                ("INVOICE No 4711 Amount due 1,240.00 EUR payable within 30 days VAT", "invoice"),
                ("Invoice 88 total due 300.00 GBP bank transfer IBAN", "invoice"),
                ("Delivery note: 4 pallets, 120 cartons received at dock 2", "credit note"),
            ]
        )
        # Spread the reviews over days so the chart has more than one bar.
        for days, document_id in zip((3, 1, 0), ids, strict=True):
            db.session.execute(
                update(Review).where(Review.document_id == document_id).values(at=utcnow() - timedelta(days=days))
            )
        db.session.commit()
        accepted = db.session.scalar(select(func.count(Review.id)).where(Review.accepted.is_(True)))
    auth.login_as("admin")
    response = client.get(f"/admin/models/{version_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="per-class"' in page
    assert '<tr data-category="invoice">' in page
    assert page.count('<tr data-category="') == len(labels)
    assert 'data-testid="confusion"' in page
    assert page.count('class="num heat-') == len(labels) ** 2
    assert "diagonal" in page
    assert 'data-testid="acceptance-chart"' in page
    assert "<rect " in page
    assert f"{accepted} of 3" in page  # the summary in words
    assert ' style="' not in page  # the CSP forbids inline styles: shading is by class
    assert "/static/css/models.css" in page

    index = client.get("/admin/models").get_data(as_text=True)
    assert 'data-testid="acceptance-chart"' in index
    assert "The figures as a table" in index


def test_without_reviews_the_chart_says_there_is_nothing_yet(app, client, auth, seeded):
    with app.app_context():
        _train()
    auth.login_as("admin")
    index = client.get("/admin/models").get_data(as_text=True)
    assert 'data-testid="acceptance-empty"' in index
    assert 'data-testid="acceptance-chart"' not in index
    assert 'data-testid="learning-empty"' in index  # no reviewed document is held out to measure versions on
    assert "Now: 0 new reviews since the last training" in index
    version = client.get("/admin/models/1").get_data(as_text=True)
    assert "Nobody has reviewed a document this version classified yet." in version


def test_the_admin_page_links_to_the_models(app, client, auth):
    auth.login_as("admin")
    page = client.get("/admin").get_data(as_text=True)
    assert 'href="/admin/models"' in page
    assert "will be managed here" not in page


def test_rate_chart_draws_a_bar_per_period_with_reviews():
    from datetime import date

    buckets = [
        RateBucket(date(2026, 11, 2), "2 Nov", 3, 4),
        RateBucket(date(2026, 11, 3), "3 Nov", 0, 0),
        RateBucket(date(2026, 11, 4), "4 Nov", 0, 2),
    ]
    chart = rate_chart(buckets, what="kept")
    assert len(chart.bars) == 2  # the day without reviews has no bar
    assert chart.bars[0].title == "2 Nov: 3 of 4 kept (75%)"
    assert chart.bars[1].height == 1.0  # 0% still shows
    assert chart.summary == "3 of 6 (50%) kept from 2 Nov to 4 Nov; lowest 0% (4 Nov), latest 0% (4 Nov)."
    assert [tick.label for tick in chart.y_ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert rate_chart([RateBucket(date(2026, 11, 2), "2 Nov", 0, 0)]) is None


def test_the_schedule_line_stops_saying_a_retrain_is_under_way_once_the_run_ends(app, client, auth, seeded):
    with app.app_context():
        going = TrainingRun(trigger="manual", state="running", progress=50, stage="Training", started_at=utcnow())
        db.session.add(going)
        db.session.commit()
        going_id = going.id
    auth.login_as("admin")
    page = client.get("/admin/models").get_data(as_text=True)
    assert "A retrain is already under way." in page
    with app.app_context():
        db.session.execute(
            update(TrainingRun).where(TrainingRun.id == going_id).values(state="failed", finished_at=utcnow())
        )
        db.session.commit()
    ended = client.get(f"/admin/models/runs/{going_id}", htmx=True)
    assert ended.headers["HX-Trigger"] == "model-trained"
    # What the page then asks for: the part below the panel, schedule line included, drawn again.
    reloaded = client.get("/admin/models", htmx=True).get_data(as_text=True)
    assert reloaded.lstrip().startswith('<section id="versions"')
    assert 'data-testid="schedule"' in reloaded
    assert "already under way" not in reloaded
    assert "<h1" not in reloaded  # only the block, not the page
