"""Backups that restore: `flask backup create` on a working instance, `flask backup restore` into an empty one.

Both on SQLite and PostgreSQL (the `app` fixture). The restored instance is a second app with its own
database (a new PostgreSQL database, or a new SQLite file) and its own DATA_DIR.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.auth.models import Role
from app.config import config_for_tests
from app.documents import service as documents
from app.documents.models import Document
from app.documents.storage import blob_store
from app.extensions import db
from app.ops import backup
from app.search import indexer
from app.search import service as search_service
from app.stock.ledger import add_stock, remove_stock, verify_ledger
from app.stock.models import Product
from app.stock.orders import create_order, place_order
from app.stock.products import ProductData, create_product
from tests.conftest import PASSWORD, Client
from tests.support import services
from tests.support.documents import text_pdf_bytes

TEXTS = {
    "pallets.txt": "Delivery note: twelve pallets of galvanised hinges for the Harbour Street warehouse.",
    "invoice.txt": "Invoice 2041 for marmalade jars, payable within thirty days.",
    "certificate.txt": "Certificate of conformity for the quince press, model QP-7.",
}


def _kind(app: Flask) -> str:
    return "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "postgresql"


@pytest.fixture
def new_instance(app: Flask, tmp_path: Path, worker_suffix: str) -> Iterator[Callable[[], Flask]]:
    """Make empty instances of the same kind as `app`: a new database (no tables, or migrated) and DATA_DIR."""
    made: list[tuple[Flask, str | None]] = []

    def make(*, migrated: bool = False) -> Flask:
        number = len(made)
        name = None
        if _kind(app) == "postgresql":
            name = f"{services.database_name(services.TEST_DATABASE_URL)}_qm_restore{number}_{worker_suffix}"
            url = services.recreate_database(name)
        else:
            url = f"sqlite:///{tmp_path / f'restored{number}.db'}"
        target = create_app(
            config_for_tests(tmp_path / f"restored{number}-data", url, QUEUE_NAME=f"qm-test-{uuid.uuid4().hex[:8]}")
        )
        made.append((target, name))
        if migrated:  # as a deployment leaves it: the schema in place, no rows
            with target.app_context():
                if name:
                    from flask_migrate import upgrade

                    upgrade()
                else:
                    db.create_all()
        return target

    yield make
    for target, name in made:
        with target.app_context():
            db.session.remove()
            db.engine.dispose()
        if name:
            services.drop_database(name)


def _populate(app: Flask, make_user) -> dict[str, object]:
    """A small working instance: users, processed documents, products with movements and a placed order."""
    staff = make_user(Role.STAFF)
    make_user(Role.ADMIN)
    with app.app_context():
        ids = {
            name: documents.ingest(io.BytesIO(text.encode()), name, user_id=staff.id).document.id
            for name, text in TEXTS.items()
        }
        pdf = io.BytesIO(text_pdf_bytes([["Price list for pomegranate syrup"]]))
        ids["prices.pdf"] = documents.ingest(pdf, "prices.pdf", user_id=staff.id).document.id
        assert db.session.get(Document, ids["prices.pdf"]).has_thumbnail
        indexer.drain()
        hinges = create_product(ProductData.clean(sku="HINGE-1", name="Hinge"), user_id=None).id
        jars = create_product(ProductData.clean(sku="JAR-250", name="Jar 250 ml"), user_id=None).id
        add_stock(hinges, 40, user_id=staff.id)
        add_stock(jars, 12, user_id=staff.id)
        remove_stock(jars, 2, user_id=staff.id)
        order = create_order(customer="Harbour Street", lines=[(hinges, 5), (jars, 3)], user_id=staff.id)
        place_order(order.id, user_id=staff.id)
        assert search_service.search("hinges").total == 1  # indexed before the backup, as it would be
        return {"staff": staff.email, "documents": ids, "on_hand": _on_hand()}


def _on_hand() -> dict[str, int]:
    return dict(db.session.execute(select(Product.sku, Product.on_hand)).all())


def _backup(app: Flask, folder: Path, *extra: str):
    return app.test_cli_runner().invoke(args=["backup", "create", str(folder), *extra])


def _restore(target: Flask, folder: Path, *extra: str):
    return target.test_cli_runner().invoke(args=["backup", "restore", str(folder), *extra])


def test_a_backup_restores_into_an_empty_instance(app, make_user, new_instance, tmp_path):
    before = _populate(app, make_user)
    folder = tmp_path / "backup"

    made = _backup(app, folder)
    assert made.exit_code == 0, made.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"]["kind"] == _kind(app)
    assert manifest["counts"]["documents"] == 4
    assert manifest["counts"]["products"] == 2
    assert manifest["counts"]["movements"] == 5  # two additions, one removal, two order lines
    assert manifest["blobs"]["copied"] == 4
    assert not (folder / "search").exists()
    assert not (folder / "thumbnails").exists()

    target = new_instance(migrated=True)
    restored = _restore(target, folder)
    assert restored.exit_code == 0, restored.output
    assert "Ledger OK" in restored.output
    assert "4 documents indexed" in restored.output

    with target.app_context():
        store = blob_store()
        for name, text in TEXTS.items():
            document = db.session.scalar(select(Document).where(Document.filename == name))
            assert document.id == before["documents"][name]
            with store.open(document.sha256) as handle:
                assert handle.read() == text.encode()
        assert _on_hand() == before["on_hand"] == {"HINGE-1": 35, "JAR-250": 7}
        assert verify_ledger() == []
        assert [hit.document_id for hit in search_service.search("marmalade").hits] == [
            before["documents"]["invoice.txt"]
        ]
        assert [hit.document_id for hit in search_service.search("quince").hits] == [
            before["documents"]["certificate.txt"]
        ]
    verified = target.test_cli_runner().invoke(args=["stock", "verify"])
    assert verified.exit_code == 0, verified.output

    target.test_client_class = Client
    client = target.test_client()
    signed_in = client.post("/login", data={"email": before["staff"], "password": PASSWORD})
    assert signed_in.status_code == 303
    assert client.get("/documents").status_code == 200
    # Thumbnails are not in the backup; the restore draws them again.
    with client.get(f"/documents/{before['documents']['prices.pdf']}/thumbnail.png") as preview:
        assert preview.status_code == 200
        assert preview.data.startswith(b"\x89PNG")


def test_restore_refuses_a_non_empty_instance_and_a_damaged_backup(app, make_user, new_instance, tmp_path):
    _populate(app, make_user)
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0

    again = _backup(app, folder)  # a folder that already holds something
    assert again.exit_code == 1
    assert "not empty" in again.output
    assert _backup(app, folder, "--force").exit_code == 0

    into_itself = _restore(app, folder)
    assert into_itself.exit_code == 1
    assert "not empty" in into_itself.output
    assert "2 users" in into_itself.output

    # One blob's bytes changed after the backup was made: found, and nothing is restored.
    with app.app_context():
        sha256 = db.session.scalar(select(Document.sha256).where(Document.filename == "invoice.txt"))
    blob = folder / "blobs" / sha256[:2] / sha256[2:4] / sha256
    blob.write_bytes(blob.read_bytes().replace(b"marmalade", b"marmalad3"))
    target = new_instance()
    damaged = _restore(target, folder)
    assert damaged.exit_code == 1
    assert f"DAMAGED blobs/{blob.name[:2]}/{blob.name[2:4]}/{blob.name}" in damaged.output
    assert "nothing was restored" in damaged.output
    with target.app_context():
        assert not (Path(target.config["DATA_DIR"]) / "blobs").exists()
        assert "users" not in db.inspect(db.engine).get_table_names()

    # With --skip-damaged the rest comes back, and the exit status still says something is missing.
    skipped = _restore(target, folder, "--skip-damaged")
    assert skipped.exit_code == 1, skipped.output
    assert "Ledger OK" in skipped.output
    assert "without 1 damaged blobs" in skipped.output
    with target.app_context():
        store = blob_store()
        assert not store.exists(blob.name)
        assert sum(store.exists(d.sha256) for d in db.session.scalars(select(Document))) == 3


def test_a_backup_of_one_database_kind_is_not_restored_into_the_other(app, make_user, new_instance, tmp_path):
    make_user(Role.STAFF)
    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    other = "sqlite" if _kind(app) == "postgresql" else "postgresql"
    manifest["database"]["kind"] = other
    manifest_path.write_text(json.dumps(manifest))

    refused = _restore(new_instance(), folder)
    assert refused.exit_code == 1
    assert f"holds a {other} database and this instance uses {_kind(app)}" in refused.output


def test_a_missing_blob_is_reported_by_the_backup(app, make_user, tmp_path):
    with app.app_context():
        document = documents.ingest(io.BytesIO(b"A note about brass screws."), "screws.txt", user_id=None).document
        blob_store().delete(document.sha256)
        sha256 = document.sha256
    made = _backup(app, tmp_path / "backup")
    assert made.exit_code == 1
    assert f"MISSING blob {sha256}" in made.output
    manifest = backup.read_manifest(tmp_path / "backup")  # the rest of the backup is still written
    assert manifest["blobs"]["missing"] == [sha256]
    assert (
        hashlib.sha256((tmp_path / "backup" / manifest["database"]["file"]).read_bytes()).hexdigest()
        == (manifest["files"][0]["sha256"])
    )


def test_a_document_uploaded_while_the_backup_runs_is_left_out_whole(
    app, make_user, new_instance, tmp_path, monkeypatch
):
    """The blobs copied are those of the documents in the database copy: a later upload is in neither."""
    _populate(app, make_user)
    late: list[str] = []

    def upload_meanwhile() -> None:
        with app.app_context():
            document = documents.ingest(io.BytesIO(b"A late note about tin lids."), "late.txt", user_id=None).document
            late.append(document.sha256)

    if _kind(app) == "postgresql":  # between the snapshot being taken and pg_dump reading it
        real_run = backup._run

        def run(command, env):
            upload_meanwhile()
            return real_run(command, env)

        monkeypatch.setattr(backup, "_run", run)
    else:  # just after the online copy
        real_copy = backup._copy_sqlite

        def copy(source, target):
            real_copy(source, target)
            upload_meanwhile()

        monkeypatch.setattr(backup, "_copy_sqlite", copy)

    folder = tmp_path / "backup"
    assert _backup(app, folder).exit_code == 0
    manifest = backup.read_manifest(folder)
    assert manifest["counts"]["documents"] == 4
    assert manifest["blobs"]["copied"] == 4
    assert not (folder / "blobs" / late[0][:2] / late[0][2:4] / late[0]).exists()

    target = new_instance()
    restored = _restore(target, folder)
    assert restored.exit_code == 0, restored.output
    assert "MISMATCH" not in restored.output
    with target.app_context():
        assert db.session.scalar(select(Document).where(Document.filename == "late.txt")) is None


def test_the_database_password_never_reaches_a_command_line():
    dsn, env = backup._libpq("postgresql+psycopg://quartermaster:s3cret%2Fpw@db.internal:5433/qm?sslmode=require")
    assert "s3cret" not in dsn
    assert dsn == "postgresql://quartermaster@db.internal:5433/qm?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret/pw"
