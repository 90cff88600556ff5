"""`flask model …`: train a candidate (promoted only if not worse) and list the versions."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.classify import registry

model_cli = AppGroup("model", help="The document classification model.")


def _figures(metrics: dict) -> str:
    return f"accuracy {metrics.get('accuracy', 0):.3f}, macro-F1 {metrics.get('macro_f1', 0):.3f}"


@model_cli.command("train")
@click.option("--if-missing", is_flag=True, help="Only when there is no active model yet (used by make run).")
@click.option("--force", is_flag=True, help="Promote the new model even if it is worse.")
@click.option("--per-category", default=150, show_default=True, help="Generated training texts per category.")
@click.option("--seed", default=1, show_default=True)
def train(if_missing: bool, force: bool, per_category: int, seed: int) -> None:
    """Train a model, compare it with the active one on the same held-out texts, promote it if not worse."""
    if if_missing and registry.active_version() is not None:
        click.echo(f"Active model: version {registry.active_version().id}.")
        return
    click.echo("Training… (a few seconds)")
    outcome = registry.train_candidate(per_category=per_category, seed=seed, force=force)
    candidate = outcome.candidate
    click.echo(f"Candidate version {candidate.id}: {_figures(candidate.metrics)} ({candidate.training_size} texts)")
    if outcome.previous is not None:
        click.echo(f"Active version {outcome.previous.id}: {_figures(outcome.previous.metrics)}")
    else:
        click.echo("There was no active model.")
    click.echo(
        "Promoted: the worker uses it from now on."
        if outcome.promoted
        else "Not promoted: it is worse than the active model."
    )


@model_cli.command("list")
def list_versions() -> None:
    """Every model version, newest first; * marks the active one."""
    for version in registry.versions():
        mark = "*" if version.active else " "
        when = f"{version.created_at:%Y-%m-%d %H:%M}"
        click.echo(f"{mark} {version.id:>4}  {when}  {_figures(version.metrics)}  {version.filename}")
