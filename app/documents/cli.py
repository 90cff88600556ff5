"""`flask documents …`: bulk import through the same pipeline, and counts per state."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from app.documents import service

documents_cli = AppGroup("documents", help="Documents: bulk import and status.")


def _files(paths: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        else:
            found.append(path)
    return found


@documents_cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--wait", is_flag=True, help="Wait until every imported document is processed or failed.")
def import_documents(paths: tuple[Path, ...], wait: bool) -> None:
    """Ingest files and whole folders exactly as uploads are: stored once, queued for the worker."""
    files = _files(paths)
    added, duplicates, refused = [], 0, []
    with click.progressbar(files, label=f"Importing {len(files)} files", file=sys.stderr, show_pos=True) as bar:
        for path in bar:
            try:
                with path.open("rb") as stream:
                    outcome = service.ingest(stream, path.name, user_id=None)
            except service.DocumentError as error:
                refused.append(f"{path}: {error}")
                continue
            if outcome.duplicate:
                duplicates += 1
            else:
                added.append(outcome.document.id)
    for line in refused:
        click.echo(line, err=True)
    click.echo(f"{len(added)} new, {duplicates} already there, {len(refused)} refused.")
    if wait and added:
        _wait_for(added)
    if refused:
        sys.exit(1)


def _wait_for(document_ids: list[int]) -> None:
    from sqlalchemy import func, select

    from app.documents.models import Document, DocumentState
    from app.extensions import db

    finished = (DocumentState.PROCESSED.value, DocumentState.FAILED.value)
    with click.progressbar(length=len(document_ids), label="Processing", file=sys.stderr, show_pos=True) as bar:
        done = 0
        while done < len(document_ids):
            db.session.rollback()  # see other processes' commits
            now = db.session.scalar(
                select(func.count(Document.id)).where(Document.id.in_(document_ids), Document.state.in_(finished))
            )
            bar.update(now - done)
            done = now
            if done < len(document_ids):
                time.sleep(0.5)


@documents_cli.command("status")
def status() -> None:
    """How many documents are in each state."""
    counts = service.state_counts()
    for state, number in counts.items():
        click.echo(f"{state:<11} {number}")
    click.echo(f"{'total':<11} {sum(counts.values())}")


@documents_cli.command("sweep")
def sweep() -> None:
    """Re-send stuck documents now (the worker also does this every minute)."""
    result = service.sweep_stuck()
    click.echo(f"{len(result.requeued)} re-queued, {len(result.failed)} given up.")
