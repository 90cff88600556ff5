"""`flask search …`: rebuild the index, check it against the database, apply the outbox now."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from app.search import indexer

search_cli = AppGroup("search", help="Search index: rebuild, verify, drain.")


@search_cli.command("reindex")
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for another index writer to finish.")
def reindex(wait: float) -> None:
    """Build a fresh index from every processed document and swap it in (searches keep working meanwhile)."""
    started = time.monotonic()
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label=f"Indexing {total} documents", file=sys.stderr, show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        count = indexer.reindex(progress, wait=wait)
    except indexer.WriterBusy as error:
        click.echo(f"Not rebuilt: {error}.", err=True)
        sys.exit(2)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(f"{count} documents indexed in {time.monotonic() - started:.1f} s.")


def _ids(ids: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(document_id) for document_id in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


@search_cli.command("verify")
def verify() -> None:
    """Compare the index with the database; exit 1 on any drift (then run `flask search reindex`)."""
    drift = indexer.verify()
    if drift.problem:
        click.echo(f"Index: {drift.problem}.")
    for label, ids in (
        ("missing from the index", drift.missing),
        ("in the index but deleted or gone", drift.extra),
        ("out of date in the index", drift.stale),
    ):
        if ids:
            click.echo(f"{len(ids)} {label}: {_ids(ids)}")
    if drift.pending:
        click.echo(f"{drift.pending} documents have changes waiting in the outbox (not counted as drift).")
    if drift.clean:
        click.echo(f"The index matches the database ({drift.indexed} documents).")
        return
    click.echo("The index has drifted: run `flask search reindex`.")
    sys.exit(1)


@search_cli.command("drain")
def drain() -> None:
    """Apply the queued index changes now (the worker does this after each change and every minute)."""
    applied = indexer.drain()
    waiting, _ = indexer.outbox_backlog()
    click.echo(f"{applied} changes applied, {waiting} still waiting.")
