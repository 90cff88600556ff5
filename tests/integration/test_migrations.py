"""`flask db upgrade` builds the schema from empty on SQLite and PostgreSQL, matching the models."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from app import create_app
from app.config import config_for_tests
from app.extensions import db
from tests.support import services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path, worker_suffix):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"{services.database_name(services.TEST_DATABASE_URL)}_qm_migrate_{worker_suffix}"
    url = services.recreate_database(name)
    yield url
    services.drop_database(name)


def _differences(url: str) -> list:
    import app.models  # noqa: F401  (every table in the metadata, whichever test ran first in this process)

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def test_flask_db_upgrade_from_empty_matches_the_models(empty_database, tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": empty_database, "QM_ENV": "testing"}
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert _differences(empty_database) == []


def test_migrations_downgrade_to_empty_and_upgrade_again(empty_database, tmp_path):
    app = create_app(config_for_tests(tmp_path / "data", empty_database))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
    assert _differences(empty_database) == []
