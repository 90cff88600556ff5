"""Backups of a whole instance, and restoring one into an empty instance.

A backup is a folder:

    manifest.json       what is in it: versions, database kind, counts, every file with size and SHA-256
    database.dump       PostgreSQL: `pg_dump --format=custom`          } one of the two
    database.sqlite3    SQLite: a copy made with the online backup API }
    blobs/ab/cd/<sha>   the documents' bytes, same layout as DATA_DIR/blobs
    models/…            DATA_DIR/models (the trained classifiers)

The manifest is written last: a folder without one is an unfinished backup and is never restored.
The database is copied first, and the blobs copied are exactly those its documents name (read
from the same snapshot on PostgreSQL, from the copy itself on SQLite), so a blob uploaded while
the backup runs is simply not in it, and none that the copy names is missing.

Left out on purpose: the search index (rebuilt from the database on restore), thumbnails
(derived; redrawn on restore), the queue (tasks are re-created by the sweepers), and
DATA_DIR/secret_key (set SECRET_KEY in production; without it, sessions start afresh).

One piece: making a backup and restoring one are two halves of one folder format (the manifest, the
layout, the database copy and its facts, hashing copies); apart, each half would reach into the
other's helpers. The sections below keep them apart inside the module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import tomllib
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from flask import current_app
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from app.db_types import utcnow
from app.documents import extract
from app.documents.models import Document
from app.documents.storage import BlobTooLarge, blob_store
from app.errors import DomainError
from app.extensions import db

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.dump"
SQLITE_FILE = "database.sqlite3"
CHUNK = 1024 * 1024
SKIP_MODEL_FILES = {"changed"}  # the registry's change stamp: per instance, rewritten on restore
# Tables whose rows make an instance "not empty": restoring over them would lose data.
GUARDED_TABLES = ("users", "documents", "products")

Progress = Callable[[int, int], None]  # (done, total)


class BackupError(DomainError):
    """A backup could not be made or restored; the message says why and what to do."""

    status_code = 409


@dataclass
class BlobProblems:
    """Blobs named by documents that could not be copied whole."""

    missing: list[str] = field(default_factory=list)  # of documents not in the trash: data loss to look into
    missing_deleted: list[str] = field(default_factory=list)  # of trashed documents (a purge can remove them)
    corrupt: list[str] = field(default_factory=list)  # bytes no longer match the name: not copied

    @property
    def serious(self) -> bool:
        return bool(self.missing or self.corrupt)


@dataclass
class BackupResult:
    manifest: dict[str, Any]
    problems: BlobProblems


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    blobs: int
    models: int
    skipped_damaged: list[str]


# ---------------------------------------------------------------- helpers


def database_kind(url: str | None = None) -> str:
    """'postgresql' or 'sqlite' for the app's (or the given) database URL."""
    url = url or current_app.config["SQLALCHEMY_DATABASE_URI"]
    backend = make_url(url).get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {backend}.")
    return backend


def app_version() -> str:
    """The version in pyproject.toml, when the source tree is there (it is, in the images)."""
    pyproject = Path(current_app.root_path).parent / "pyproject.toml"
    try:
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and an environment carrying it (never on a command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed._replace(drivername="postgresql", password=None)  # URL.set(password=None) keeps it
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored into.")
    return Path(database)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashing(source: Path | BinaryIO, target: Path) -> tuple[str, int]:
    """Copy a file (or an open blob) through a temporary file, fsynced and renamed; return (sha256, size) read."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".copy-")
    try:
        handle = source.open("rb") if isinstance(source, Path) else source
        with os.fdopen(fd, "wb") as out, handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, target)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    return digest.hexdigest(), size


def _blob_relpath(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _entry(relpath: str, sha256: str, size: int) -> dict[str, Any]:
    return {"path": relpath, "size": size, "sha256": sha256}


def _data_dir() -> Path:
    return Path(current_app.config["DATA_DIR"])


def _model_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.relative_to(folder).as_posix() not in SKIP_MODEL_FILES
    )


# ---------------------------------------------------------------- reading the database copy

_FACTS_SQL = {
    "documents": "SELECT count(*) FROM documents",
    "products": "SELECT count(*) FROM products",
    "movements": "SELECT count(*) FROM stock_movements",
    "users": "SELECT count(*) FROM users",
    "orders": "SELECT count(*) FROM orders",
}
_BLOBS_SQL = "SELECT DISTINCT sha256, deleted_at IS NOT NULL FROM documents ORDER BY sha256"


def _facts(cursor: Any, has_alembic: bool) -> tuple[dict[str, int], str | None, list[tuple[str, bool]]]:
    """Counts, the Alembic revision and the blobs (sha256, trashed) as the database copy has them."""
    counts = {}
    for name, sql in _FACTS_SQL.items():
        cursor.execute(sql)
        counts[name] = int(cursor.fetchone()[0])
    revision = None
    if has_alembic:
        cursor.execute("SELECT version_num FROM alembic_version")
        row = cursor.fetchone()
        revision = row[0] if row else None
    cursor.execute(_BLOBS_SQL)
    blobs: dict[str, bool] = {}
    for sha256, trashed in cursor.fetchall():
        blobs[sha256] = blobs.get(sha256, True) and bool(trashed)
    return counts, revision, sorted(blobs.items())


def _dump_postgresql(url: str, target: Path) -> tuple[dict[str, int], str | None, list[tuple[str, bool]]]:
    """pg_dump of one exported snapshot, and the facts read in that same snapshot."""
    dsn, env = _libpq(url)
    with psycopg.connect(dsn, password=env.get("PGPASSWORD")) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot for the facts and the dump
        conn.read_only = True
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        has_alembic = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()[0]
        facts = _facts(conn.cursor(), bool(has_alembic))
        command = ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}", f"--dbname={dsn}"]
        finished = _run(command, env)
        conn.rollback()
    if finished.returncode != 0:
        raise BackupError(f"pg_dump failed: {finished.stderr.strip() or finished.returncode}")
    return facts


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} is not installed: install PostgreSQL's client programs (Debian: postgresql-client) "
            "of the same major version as the server."
        ) from None


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while others keep reading and writing."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _sqlite_facts(path: Path) -> tuple[dict[str, int], str | None, list[tuple[str, bool]]]:
    with closing(sqlite3.connect(path)) as conn:
        has_alembic = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()[0]
        return _facts(conn.cursor(), bool(has_alembic))


# ---------------------------------------------------------------- create


def prepare_folder(folder: Path, *, force: bool) -> None:
    """Refuse a folder that holds anything, unless told to write over it."""
    if folder.exists() and not folder.is_dir():
        raise BackupError(f"{folder} is a file, not a folder.")
    if folder.exists() and any(folder.iterdir()):
        if not force:
            raise BackupError(
                f"{folder} is not empty: choose an empty or new folder, or pass --force to write over it."
            )
        # An old manifest must never describe the files this run is replacing.
        (folder / MANIFEST).unlink(missing_ok=True)
        for old in (PG_DUMP_FILE, SQLITE_FILE):
            (folder / old).unlink(missing_ok=True)
        shutil.rmtree(folder / "models", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def create_backup(folder: Path, *, force: bool = False, progress: Progress | None = None) -> BackupResult:
    """Copy the database, then the blobs it names, then the models; write the manifest last."""
    prepare_folder(folder, force=force)
    kind = database_kind()
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    created_at = utcnow()
    if kind == "postgresql":
        database_file = folder / PG_DUMP_FILE
        counts, revision, blobs = _dump_postgresql(url, database_file)
    else:
        database_file = folder / SQLITE_FILE
        _copy_sqlite(_sqlite_path(url), database_file)
        counts, revision, blobs = _sqlite_facts(database_file)
    files = [_entry(database_file.name, _sha256_file(database_file), database_file.stat().st_size)]

    problems = BlobProblems()
    store = blob_store()  # local files or the S3 bucket: read the same way
    for done, (sha256, trashed) in enumerate(blobs, start=1):
        if progress:
            progress(done, len(blobs))
        target = folder / _blob_relpath(sha256)
        try:
            source = store.open(sha256)
        except FileNotFoundError:
            (problems.missing_deleted if trashed else problems.missing).append(sha256)
            continue
        actual, size = _copy_hashing(source, target)
        if actual != sha256:
            target.unlink(missing_ok=True)
            problems.corrupt.append(sha256)
            continue
        files.append(_entry(_blob_relpath(sha256), sha256, size))

    models_root = _data_dir() / "models"
    for path in _model_files(models_root):
        relpath = "models/" + path.relative_to(models_root).as_posix()
        digest, size = _copy_hashing(path, folder / relpath)
        files.append(_entry(relpath, digest, size))

    manifest = {
        "format": FORMAT_VERSION,
        "app_version": app_version(),
        "alembic_revision": revision,
        "created_at": created_at.isoformat(),
        "database": {"kind": kind, "file": database_file.name},
        "counts": counts,
        "blobs": {
            "copied": sum(1 for f in files if f["path"].startswith("blobs/")),
            "missing": problems.missing,
            "missing_deleted": problems.missing_deleted,
            "corrupt": problems.corrupt,
        },
        "excluded": ["search index (rebuilt on restore)", "thumbnails (redrawn on restore)", "queue"],
        "files": files,
    }
    temp = folder / f".{MANIFEST}.tmp"
    temp.write_text(json.dumps(manifest, indent=2) + "\n")
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, folder / MANIFEST)
    return BackupResult(manifest, problems)


# ---------------------------------------------------------------- restore


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST}: it is not a backup, or the backup did not finish.")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{path} cannot be read: {error}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(
            f"{path} is in backup format {manifest.get('format')!r}; this version reads {FORMAT_VERSION}."
        )
    return manifest


def check_target_empty() -> None:
    """Refuse an instance that has users, documents or products, or any blob."""
    kind = database_kind()
    engine = db.engine
    tables = set(inspect(engine).get_table_names())
    found = []
    with engine.connect() as conn:
        for table in GUARDED_TABLES:
            if table in tables:
                count = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()  # noqa: S608 (fixed names)
                if count:
                    found.append(f"{count} {table}")
    blobs = _data_dir() / "blobs"
    if blobs.is_dir() and any(p.is_file() for p in blobs.rglob("*")):
        found.append(f"files in {blobs}")
    if found:
        raise BackupError(
            f"The target instance is not empty ({', '.join(found)} in this {kind} database and data folder). "
            "A restore only goes into an empty instance: point DATABASE_URL at a new database and DATA_DIR "
            "at a new folder."
        )


def check_backup(folder: Path, manifest: dict[str, Any], progress: Progress | None = None) -> list[str]:
    """Every file the manifest lists, re-read and hashed; return the paths that are missing or changed."""
    damaged = []
    entries = manifest["files"]
    for done, entry in enumerate(entries, start=1):
        if progress:
            progress(done, len(entries))
        if not _intact(folder, entry):
            damaged.append(entry["path"])
    return damaged


def _intact(folder: Path, entry: dict[str, Any]) -> bool:
    """The file is there with the listed size and hash (and a blob's hash is its name)."""
    path = folder / entry["path"]
    if entry["path"].startswith("blobs/") and entry["sha256"] != Path(entry["path"]).name:
        return False
    return path.is_file() and path.stat().st_size == entry["size"] and _sha256_file(path) == entry["sha256"]


def restore_database(folder: Path, manifest: dict[str, Any]) -> None:
    """Load the copy into the (empty) target database; same kind only."""
    kind = database_kind()
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the target while it is replaced
    source = folder / manifest["database"]["file"]
    if kind == "postgresql":
        dsn, env = _libpq(url)
        # --clean --if-exists: a target migrated but empty has the tables already; they are replaced.
        command = [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={dsn}",
            str(source),
        ]
        finished = _run(command, env)
        if finished.returncode != 0:
            raise BackupError(f"pg_restore failed, nothing was loaded: {finished.stderr.strip()}")
    else:
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
    db.engine.dispose()


def restore_files(
    folder: Path,
    manifest: dict[str, Any],
    *,
    skip: set[str],
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Copy blobs and models into DATA_DIR, hashing each again on the way; return (blobs, models) copied."""
    data = _data_dir()
    blobs = [f for f in manifest["files"] if f["path"].startswith("blobs/") and f["path"] not in skip]
    models = [f for f in manifest["files"] if f["path"].startswith("models/") and f["path"] not in skip]
    store = blob_store()  # into DATA_DIR/blobs or the S3 bucket, hashed again on the way
    named = {entry["sha256"] for entry in blobs}
    for done, entry in enumerate(blobs, start=1):
        if progress:
            progress(done, len(blobs))
        try:
            with (folder / entry["path"]).open("rb") as handle:
                digest = store.put(handle, max_bytes=entry["size"]).sha256
        except BlobTooLarge:  # grew since it was checked: nothing was stored
            digest = None
        if digest != entry["sha256"]:  # changed since it was checked a moment ago
            if digest is not None and digest not in named:
                store.delete(digest)
            raise BackupError(
                f"{entry['path']} changed while it was being restored: start again with a new database and data folder."
            )
    for entry in models:
        digest, _ = _copy_hashing(folder / entry["path"], data / entry["path"])
        if digest != entry["sha256"]:
            raise BackupError(
                f"{entry['path']} changed while it was being restored: start again with a new database and data folder."
            )
    return len(blobs), len(models)


def redraw_thumbnails(progress: Progress | None = None) -> int:
    """Draw the previews of documents that had one (derived data, so not in the backup); return how many."""
    store = blob_store()
    rows = db.session.execute(select(Document.id, Document.sha256).where(Document.has_thumbnail.is_(True))).all()
    drawn = 0
    for done, (_id, sha256) in enumerate(rows, start=1):
        if store.exists(sha256) and not store.derived_exists("thumbnails", sha256):
            path = store.local_path(sha256)
            try:
                png = extract.thumbnail(path, extract.detect_type(path), max_pixels=current_app.config["MAX_PIXELS"])
            except extract.ExtractionError:
                png = None
            if png:
                store.put_derived("thumbnails", sha256, png)
                drawn += 1
        if progress:
            progress(done, len(rows))
    return drawn


def code_revision(revision: str | None) -> tuple[bool, str | None]:
    """(whether this code's migrations know the backup's revision, this code's head revision)."""
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    head = script.get_current_head()
    if revision is None:
        return True, head
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    return known, head


def restored_counts() -> dict[str, int]:
    """The same counts the manifest holds, read from the restored database."""
    with db.engine.connect() as conn:
        return {name: int(conn.exec_driver_sql(sql).scalar_one()) for name, sql in _FACTS_SQL.items()}
