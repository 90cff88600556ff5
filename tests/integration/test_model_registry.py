"""Model versions: trained, measured on the same held-out texts, promoted only when not worse."""

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from app.classify import categories, registry, retraining, runtime
from app.classify.models import ModelVersion
from app.extensions import db
from app.ops.models import AuditEvent


def test_train_registers_and_promotes_the_first_model(app, runner):
    result = runner.invoke(args=["model", "train", "--per-category", "40"])
    assert result.exit_code == 0, result.output
    assert "There was no active model." in result.output
    assert "Promoted" in result.output
    with app.app_context():
        active = registry.active_version()
        assert active is not None
        assert active.metrics["macro_f1"] > 0.7
        classifier = runtime.load(registry.active_model_path())
        top = classifier.predict("INVOICE No 4711 Amount due 1,240.00 EUR payable within 30 days VAT")
        assert top[0][0] == "invoice"
    listing = runner.invoke(args=["model", "list"]).output.splitlines()
    assert listing[0].startswith("*")
    again = runner.invoke(args=["model", "train", "--if-missing"])
    assert "Active model: version" in again.output


def test_a_worse_model_is_kept_but_not_promoted(app, runner):
    runner.invoke(args=["model", "train", "--per-category", "60"])
    worse = runner.invoke(args=["model", "train", "--per-category", "3", "--seed", "7"])
    assert worse.exit_code == 0, worse.output
    assert "Not promoted" in worse.output
    with app.app_context():
        versions = db.session.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()
        assert [v.active for v in versions] == [True, False]
        assert versions[1].metrics["macro_f1"] < versions[0].metrics["macro_f1"]
        registry.promote(versions[1].id, user_id=None)  # an admin may force it, or roll back the same way
        assert registry.active_version().id == versions[1].id
        registry.promote(versions[0].id, user_id=None)
        assert registry.active_version().id == versions[0].id


def _copies_of_the_active_model(count: int) -> list[int]:
    """`count` more registered versions, each with its own copy of the active model's file (no training needed)."""
    active = registry.active_version()
    source = registry.models_dir() / active.filename
    ids = []
    for number in range(count):
        filename = f"copy-{number}-{active.filename}"
        shutil.copyfile(source, registry.models_dir() / filename)
        version = ModelVersion(
            filename=filename, sha256=active.sha256, training_size=active.training_size, metrics=active.metrics
        )
        db.session.add(version)
        db.session.commit()
        ids.append(version.id)
    return ids


def test_admins_promoting_at_once_leave_exactly_one_active_version(app):
    """Real threads, each with its own connection, promote different versions at the same moment, again and again."""
    with app.app_context():
        categories.ensure_default_categories()
        retraining.train_candidate(per_category=20, seed=1)
        ids = [registry.active_version().id, *_copies_of_the_active_model(3)]

    def promote(version_id: int):
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                return registry.promote(version_id, user_id=None).id
            finally:
                db.session.remove()

    for _ in range(8):
        barrier = threading.Barrier(len(ids))
        with ThreadPoolExecutor(max_workers=len(ids)) as pool:
            results = list(pool.map(promote, ids))  # re-raises any error a thread hit
        assert sorted(results) == sorted(ids)
        with app.app_context():
            active = db.session.scalars(select(ModelVersion.id).where(ModelVersion.active.is_(True))).all()
            assert len(active) == 1
            assert active[0] in ids
    with app.app_context():
        promotions = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "model.promote"))
        assert promotions >= 8  # every change of the active version is in the audit log
