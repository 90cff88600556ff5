"""`flask documents …`: bulk import through the same pipeline, counts per state, the trash and its purge."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.documents import queries, service, trash
from app.documents.errors import DocumentError
from app.documents.models import Document, DocumentState
from app.extensions import db

PROGRESS_FROM = 20  # a progress bar for purges longer than this
documents_cli = AppGroup("documents", help="Documents: bulk import, status, the trash and its purge.")


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
            except DocumentError as error:
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
    counts = queries.state_counts()
    for state, number in counts.items():
        click.echo(f"{state:<11} {number}")
    click.echo(f"{'total':<11} {sum(counts.values())}")


@documents_cli.command("sweep")
def sweep() -> None:
    """Re-send stuck documents now (the worker also does this every minute)."""
    result = service.sweep_stuck()
    click.echo(f"{len(result.requeued)} re-queued, {len(result.failed)} given up.")


@documents_cli.command("trash")
def list_trash() -> None:
    """What is in the trash, newest first, and when each goes for good."""
    documents = db.session.scalars(queries.trash_query(queries.TrashFilter())).all()
    for d in documents:
        who = d.deleter.email if d.deleter else "the system"
        due = "being removed" if d.purge_started_at else f"purge after {trash.purge_after(d):%Y-%m-%d %H:%M}"
        click.echo(f"{d.id:>7}  {d.deleted_at:%Y-%m-%d %H:%M}  {who:<30}  {due:<28}  {d.size:>12,}  {d.filename}")
    days = current_app.config["TRASH_DAYS"]
    click.echo(f"{len(documents)} in the trash ({queries.trash_size():,} bytes); kept {days} days; times in UTC.")


@documents_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def purge(dry_run: bool) -> None:
    """Remove for good what has been in the trash longer than TRASH_DAYS (and finish interrupted purges)."""
    if dry_run:
        due = trash.due_for_purge()
        for d in due:
            click.echo(f"would remove {d.id:>7}  {d.size:>12,}  {d.filename}")
        click.echo(
            f"{len(due)} document(s) would be removed ({sum(d.size for d in due):,} bytes). Nothing was changed."
        )
        return
    total = len(trash.due_for_purge())
    if total > PROGRESS_FROM:
        with click.progressbar(length=total, label=f"Purging {total} documents", file=sys.stderr, show_pos=True) as bar:
            run = trash.purge_trash(progress=lambda done, _all: bar.update(done - bar.pos))
    else:
        run = trash.purge_trash()
    for purged in run.purged:
        click.echo(f"removed {purged.document_id:>7}  {purged.bytes_freed:>12,}  {purged.filename}")
    click.echo(f"{run.documents} document(s) removed for good, {run.bytes_freed:,} bytes freed.")
    if run.waiting:
        click.echo(f"{len(run.waiting)} left for the next run (restored meanwhile, or a worker is reading them).")
    if run.failed:
        click.echo(f"{len(run.failed)} failed (see the log); the next run tries them again: {run.failed}", err=True)
        sys.exit(1)
