"""`flask model …`: train a candidate (promoted by the rule in `retraining`), list the versions, promote or roll
back, calibrate a version again, look at or rebuild the memory of reviews.

`train` prints both models' figures on the same held-out texts, so whoever runs it sees why the new
model was or was not promoted without opening the models page, and how its calibration changed the
expected calibration error.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.classify import memory, registry, retraining

model_cli = AppGroup("model", help="The document classification model.")


def _figures(metrics: dict) -> str:
    return f"accuracy {metrics.get('accuracy', 0):.3f}, macro-F1 {metrics.get('macro_f1', 0):.3f}"


def _evaluation_set(metrics: dict) -> str:
    size = metrics.get("size", 0)
    if "eval_generated" not in metrics:
        return f"{size} held-out texts"
    return f"{size} held-out texts ({metrics['eval_generated']} generated, {metrics['eval_reviewed']} reviewed)"


@model_cli.command("train")
@click.option("--if-missing", is_flag=True, help="Only when there is no active model yet (used by make run).")
@click.option("--force", is_flag=True, help="Promote the new model even if it is worse.")
@click.option("--per-category", default=150, show_default=True, help="Generated training texts per category.")
@click.option("--seed", default=1, show_default=True)
def train(if_missing: bool, force: bool, per_category: int, seed: int) -> None:
    """Train on generated and reviewed texts; compare with the active model on the same held-out texts."""
    active = registry.active_version()
    if if_missing and active is not None:
        click.echo(f"Active model: version {active.id}.")
        return
    if per_category < 1:
        raise click.BadParameter("give at least 1 text per category.", param_hint="--per-category")

    def progress(percent: int, stage: str) -> None:
        click.echo(f"{percent:>3}%  {stage}")

    try:
        outcome = retraining.train_candidate(per_category=per_category, seed=seed, force=force, progress=progress)
    except ImportError as error:
        raise click.ClickException(
            f"Training needs the training requirements (pip install -r requirements-train.txt): {error}"
        ) from None
    except (ValueError, registry.ModelError) as error:
        raise click.ClickException(str(error)) from None
    candidate = outcome.candidate
    metrics = candidate.metrics
    click.echo(
        f"Trained on {candidate.training_size} texts, {candidate.reviewed_size} of them from reviewed documents."
    )
    click.echo(f"Measured on the same {_evaluation_set(metrics)}:")
    click.echo(f"  new model (version {candidate.id}):     {_figures(metrics)}")
    baseline = outcome.baseline
    if outcome.previous is None:
        click.echo("There was no active model.")
    elif baseline is not None and "error" in baseline:
        click.echo(f"  active model (version {outcome.previous.id}):  could not be measured")
    elif baseline is not None:
        click.echo(f"  active model (version {outcome.previous.id}):  {_figures(baseline)}")
    click.echo(outcome.reason)
    if metrics.get("calibration"):
        click.echo(_calibration_line(metrics["calibration"]))
    if outcome.promoted:
        click.echo("The worker uses it for the next document.")
    else:
        click.echo(f"`flask model promote {candidate.id}` makes it active anyway.")


@model_cli.command("calibrate")
@click.argument("version", type=int, required=False)
def calibrate(version: int | None) -> None:
    """Fit VERSION's confidence calibration (default: the active one) on today's held-out texts."""
    if version is None:
        active = registry.active_version()
        if active is None:
            raise click.ClickException("There is no active model: name a version.")
        version = active.id
    try:
        fitted = registry.recalibrate(version, user_id=None)
    except registry.ModelError as error:
        raise click.ClickException(str(error)) from None
    click.echo(_calibration_line(fitted))
    click.echo("The worker uses it from the next document.")


def _calibration_line(fitted: dict) -> str:
    source = "reviewed documents" if fitted["fitted_on"] == "reviewed" else "texts (generated ones included)"
    return (
        f"Calibrated on {fitted['size']} held-out {source}: temperature {fitted['temperature']:.2f}, "
        f"expected calibration error {fitted['ece_before']:.3f} before, {fitted['ece_after']:.3f} after."
    )


@model_cli.command("list")
def list_versions() -> None:
    """Every model version, newest first; * marks the active one."""
    rows = registry.versions()
    if not rows:
        click.echo("No model versions yet: `flask model train` makes one.")
        return
    for version in rows:
        mark = "*" if version.active else " "
        when = f"{version.created_at:%Y-%m-%d %H:%M}"
        size = f"{version.training_size} texts ({version.reviewed_size} reviewed)"
        click.echo(f"{mark} {version.id:>4}  {when}  {_figures(version.metrics)}  {size}  {version.filename}")


@model_cli.command("promote")
@click.argument("version", type=int)
def promote(version: int) -> None:
    """Make model VERSION the active one, better or not (also how you roll back)."""
    before = registry.active_version()
    before_id = before.id if before else None
    try:
        promoted = registry.promote(version, user_id=None)
    except registry.ModelError as error:
        raise click.ClickException(str(error)) from None
    if before_id == promoted.id:
        click.echo(f"Model {promoted.id} was already the active one; nothing changed.")
        return
    was = f" (was {before_id})" if before_id else ""
    click.echo(f"Model {promoted.id} is now active{was}: the worker uses it for the next document.")


@model_cli.command("memory")
@click.option("--rebuild", is_flag=True, help="Forget every row and recompute them all from the reviews.")
def memory_command(rebuild: bool) -> None:
    """How many reviewed documents the memory holds; --rebuild recomputes it from the reviews table."""
    if rebuild:
        added = memory.rebuild()
        click.echo(f"Rebuilt from the reviews: {added} reviewed documents, the held-out ones among them kept apart.")
    memory.forget_loaded()
    state = memory.current()
    click.echo(
        f"The memory suggests from {state.size} reviewed documents "
        f"(similarity {memory.SUGGEST_AT:.2f} suggests, {memory.AUTO_ACCEPT_AT:.2f} files without a person)."
    )
