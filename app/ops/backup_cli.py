"""`flask backup …`: write a backup of this instance to a folder, and restore one into an empty instance."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.classify import registry
from app.extensions import db
from app.ops import audit, backup
from app.search.cli import reindex
from app.stock.ledger import verify_ledger
from app.stock.models import Product

backup_cli = AppGroup("backup", help="Backups: create one, restore one into an empty instance.")


class _Bar:
    """A click progress bar on stderr, opened on the first report (when the total is known)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label.format(total=total), file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _with_bar(label: str, work: Callable[[_Bar], object]) -> object:
    bar = _Bar(label)
    try:
        return work(bar)
    finally:
        bar.close()


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


@backup_cli.command("create")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Write into a folder that is not empty (its old backup is replaced).")
def create(folder: Path, force: bool) -> None:
    """Back up the database, the documents' files and the models into FOLDER (new or empty)."""
    try:
        result = _with_bar("Copying {total} blobs", lambda bar: backup.create_backup(folder, force=force, progress=bar))
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    assert isinstance(result, backup.BackupResult)
    manifest = result.manifest
    size = sum(entry["size"] for entry in manifest["files"])
    counts = ", ".join(f"{count} {name}" for name, count in manifest["counts"].items())
    click.echo(
        f"Backup of the {manifest['database']['kind']} database written to {folder} "
        f"({manifest['blobs']['copied']} blobs, {len(manifest['files'])} files, {_megabytes(size)}): {counts}."
    )
    click.echo("Not included (rebuilt on restore): the search index and thumbnails.")
    problems = result.problems
    if problems.missing_deleted:
        click.echo(f"{len(problems.missing_deleted)} documents in the trash have no file left (purged); fine.")
    audit.record(
        "backup.create",
        target_type="instance",
        target_id=None,
        summary=f"Backup written to {folder}",
        actor_id=None,
        after={"counts": manifest["counts"], "files": len(manifest["files"])},
    )
    db.session.commit()
    if problems.serious:
        for sha256 in problems.missing:
            click.echo(f"MISSING blob {sha256}: a document names it but DATA_DIR/blobs has no such file", err=True)
        for sha256 in problems.corrupt:
            click.echo(f"CORRUPT blob {sha256}: its bytes no longer match its name; not copied", err=True)
        click.echo("The backup is written, but without the files above: look into DATA_DIR/blobs.", err=True)
        sys.exit(1)


@backup_cli.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--skip-damaged", is_flag=True, help="Restore even if some blobs are damaged (those documents lose files)."
)
@click.option("--no-thumbnails", is_flag=True, help="Do not redraw the document previews.")
@click.pass_context
def restore(ctx: click.Context, folder: Path, skip_damaged: bool, no_thumbnails: bool) -> None:
    """Restore the backup in FOLDER into this instance, which must be empty; then reindex and check the ledger."""
    try:
        manifest = backup.read_manifest(folder)
        source_kind, target_kind = manifest["database"]["kind"], backup.database_kind()
        if source_kind != target_kind:
            raise backup.BackupError(
                f"This backup holds a {source_kind} database and this instance uses {target_kind}: "
                "a restore only goes into the same kind of database."
            )
        known, head = backup.code_revision(manifest.get("alembic_revision"))
        if not known:
            raise backup.BackupError(
                f"The backup's schema revision {manifest['alembic_revision']!r} is unknown to this version "
                f"(head {head!r}): restore it with the version that made it ({manifest.get('app_version')})."
            )
        backup.check_target_empty()
        damaged = _with_bar("Checking {total} files", lambda bar: backup.check_backup(folder, manifest, bar))
        assert isinstance(damaged, list)
        if damaged:
            for path in damaged:
                click.echo(f"DAMAGED {path}: missing, or its bytes differ from the manifest", err=True)
            if not skip_damaged or any(not path.startswith("blobs/") for path in damaged):
                raise backup.BackupError(
                    f"{len(damaged)} files of the backup are damaged; nothing was restored."
                    + ("" if skip_damaged else " (--skip-damaged restores the rest, without those blobs.)")
                )
        backup.restore_database(folder, manifest)
        copied = _with_bar(
            "Restoring {total} blobs",
            lambda bar: backup.restore_files(folder, manifest, skip=set(damaged), progress=bar),
        )
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    assert isinstance(copied, tuple)
    registry.note_change()  # workers sharing DATA_DIR re-read the active model
    click.echo(f"Database restored; {copied[0]} blobs and {copied[1]} model files copied.")

    ctx.invoke(reindex, wait=60.0)
    if not no_thumbnails:
        drawn = _with_bar("Redrawing previews of {total} documents", lambda bar: backup.redraw_thumbnails(bar))
        click.echo(f"{drawn} previews redrawn.")

    counts = backup.restored_counts()
    for name, expected in manifest["counts"].items():
        if counts.get(name) != expected:
            click.echo(f"MISMATCH {name}: the backup counted {expected}, the database now has {counts.get(name)}")
    mismatches = verify_ledger()
    products = db.session.scalar(select(func.count(Product.id)))
    audit.record(
        "backup.restore",
        target_type="instance",
        target_id=None,
        summary=f"Restored the backup of {manifest['created_at']} from {folder}",
        actor_id=None,
        after={"counts": counts, "skipped": damaged},
    )
    db.session.commit()
    if manifest.get("alembic_revision") and manifest["alembic_revision"] != head:
        click.echo(f"The backup is at schema revision {manifest['alembic_revision']}: run `flask db upgrade` next.")
    if mismatches:
        for m in mismatches:
            click.echo(f"MISMATCH {m.sku}: on hand {m.on_hand}, ledger sum {m.ledger_sum}", err=True)
        click.echo(f"Ledger: {len(mismatches)} of {products} products do not match their ledger.", err=True)
        sys.exit(1)
    click.echo(f"Ledger OK: on-hand matches the ledger for all {products} products.")
    if damaged:
        click.echo(f"Restored without {len(damaged)} damaged blobs: those documents have no file.", err=True)
        sys.exit(1)
