"""Model versions: trained, measured on the same held-out texts, promoted only when not worse."""

from sqlalchemy import select

from app.classify import registry, runtime
from app.classify.models import ModelVersion
from app.extensions import db


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
