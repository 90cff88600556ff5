"""`flask search …`: rebuild the index, check it against the database, apply the outbox now, merge its segments."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup

from app.search import checks, indexer, merging, repair

search_cli = AppGroup("search", help="Search index: rebuild, verify, drain, optimize.")


@contextmanager
def _progress_bar(verb: str) -> Iterator[Callable[[int, int], None]]:
    """A `progress(done, total)` callback drawing a bar on stderr from its first call (the total is known then)."""
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label=f"{verb} {total} documents", file=sys.stderr, show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@search_cli.command("reindex")
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for another index writer to finish.")
def reindex(wait: float) -> None:
    """Build a fresh index from every processed document and swap it in (searches keep working meanwhile)."""
    started = time.monotonic()
    try:
        with _progress_bar("Indexing") as progress:
            count = indexer.reindex(progress, wait=wait)
    except indexer.WriterBusy as error:
        click.echo(f"Not rebuilt: {error}.", err=True)
        sys.exit(2)
    click.echo(f"{count} documents indexed in {time.monotonic() - started:.1f} s.")


def _ids(ids: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(document_id) for document_id in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


@search_cli.command("verify")
@click.option(
    "--repair", "fix", is_flag=True, help="Put right what drifted, through the outbox (as the periodic checks do)."
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=None,
    help="Check this many documents picked at random instead of all of them.",
)
def verify(fix: bool, sample: int | None) -> None:
    """Compare the index with the database; exit 1 on drift that remains (repair it with --repair).

    With --repair or --sample the check is the periodic one (recorded, shown on the System page).
    """
    if fix or sample is not None:
        _check(sample, fix)
        return
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
    click.echo("The index has drifted: run `flask search verify --repair` (or `flask search reindex`).")
    sys.exit(1)


def _check(sample: int | None, fix: bool) -> None:
    """A recorded check of a sample or of everything, with a progress bar while documents are read."""
    with _progress_bar("Checking") as progress:
        check = repair.check(sample, fix=fix, progress=progress)
    scope = f"a sample of {check.checked} of {check.population}" if check.scope == "sample" else f"all {check.checked}"
    click.echo(f"Checked {scope} documents in {check.took_ms / 1000:.1f} s.")
    for kind in ("missing", "extra", "stale"):
        ids = (check.drifted or {}).get(kind, [])
        if ids:
            count = getattr(check, kind)
            click.echo(f"{kind}: {count} ({_ids(ids)}{' …' if count > len(ids) else ''})")
    for sentence in checks.describe(check):
        click.echo(sentence)
    if check.missing + check.extra + check.stale == 0 and not check.problem:
        click.echo("The index matches the database.")
    if check.unrepaired or check.problem:
        sys.exit(1)


@search_cli.command("drain")
def drain() -> None:
    """Apply the queued index changes now (the worker does this after each change and every minute)."""
    applied = indexer.drain()
    waiting, _ = indexer.outbox_backlog()
    click.echo(f"{applied} changes applied, {waiting} still waiting.")


@search_cli.command("optimize")
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for another index writer to finish.")
def optimize(wait: float) -> None:
    """Merge the index's segments into one now (the worker does it every night at 03:10 UTC)."""
    started = time.monotonic()
    segments = merging.optimize(wait=wait)
    if segments is None:
        click.echo("Not optimised: another process is writing the search index; try again later.", err=True)
        sys.exit(2)
    click.echo(f"{segments} segments merged into one in {time.monotonic() - started:.1f} s.")
