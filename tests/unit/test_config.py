"""Settings come from the environment, are checked, and refuse unsafe production set-ups."""

from datetime import timedelta

import pytest

from app.config import ConfigError, Settings


def test_production_refuses_to_start_without_a_secret(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"QM_ENV": "production", "DATA_DIR": str(tmp_path)})


def test_production_refuses_the_placeholder_secret(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"QM_ENV": "production", "SECRET_KEY": "change-me", "DATA_DIR": str(tmp_path)})


def test_production_marks_cookies_secure(tmp_path):
    settings = Settings.from_env({"QM_ENV": "production", "SECRET_KEY": "x" * 40, "DATA_DIR": str(tmp_path)})
    config = settings.flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_embedded_default_keeps_everything_under_data_dir(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path / "instance")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'quartermaster.db'}"
    assert settings.redis_url is None
    # A generated secret is kept in the data dir so sessions survive a restart...
    assert (tmp_path / "instance" / "secret_key").read_text() == settings.secret_key
    # ...and the next start reads the same one.
    assert Settings.from_env({"DATA_DIR": str(tmp_path / "instance")}).secret_key == settings.secret_key


def test_two_data_dirs_are_two_instances(tmp_path):
    one = Settings.from_env({"DATA_DIR": str(tmp_path / "one")})
    two = Settings.from_env({"DATA_DIR": str(tmp_path / "two")})
    assert one.database_url != two.database_url
    assert one.secret_key != two.secret_key


def test_postgresql_urls_use_psycopg3(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u@db:5432/qm"})
    assert settings.database_url == "postgresql+psycopg://u@db:5432/qm"


@pytest.mark.parametrize(
    ("name", "value"),
    [("QM_COOKIE_SECURE", "perhaps"), ("QM_PROXY_HOPS", "two"), ("QM_SESSION_MINUTES", "-5"), ("QM_ENV", "prod")],
)
def test_malformed_settings_name_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"DATA_DIR": str(tmp_path), name: value})


def test_session_lifetime_is_in_minutes(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "QM_SESSION_MINUTES": "90"})
    assert settings.flask_config()["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=90)
