"""Every setting Quartermaster reads, in one place, parsed and typed.

Settings come from the environment (and nothing else): `Settings.from_env()`
reads them, `Settings.flask_config()` turns them into Flask's config keys.
Nothing else in the code base reads `os.environ`. The README's configuration
table lists the same names; keep the two together.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

ROLES = ("viewer", "staff", "admin")
DEVELOPMENT_SECRET_PLACEHOLDER = "change-me"  # noqa: S105  (refused in production, below)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


T = TypeVar("T", int, float)


def _number(environ: Mapping[str, str], name: str, default: T, minimum: T, kind: Callable[[str], T], what: str) -> T:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, not {raw!r}") from None
    if value < minimum:  # type: ignore[operator]
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    return _number(environ, name, default, minimum, int, "a whole number")


def _float(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    return _number(environ, name, default, minimum, float, "a number")


def _addresses(raw: str) -> tuple[str, ...]:
    """A comma-separated list of email addresses; each must at least look like one."""
    addresses = tuple(part.strip() for part in raw.split(",") if part.strip())
    for address in addresses:
        if "@" not in address or any(ch.isspace() for ch in address):
            raise ConfigError(f"ALERT_RECIPIENTS holds {address!r}, which is not an email address")
    return addresses


def _persistent_secret(data_dir: Path) -> str:
    """A random key kept under DATA_DIR, so embedded sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    """The environment, parsed once. Field names match the variables, lower-cased."""

    env: str
    data_dir: Path
    secret_key: str
    database_url: str
    redis_url: str | None
    queue_name: str
    log_level: str
    session_lifetime_minutes: float
    session_max_hours: int
    cookie_secure: bool
    proxy_hops: int
    login_rate_limit: str
    max_upload_mb: int
    max_movement: int
    max_import_mb: int
    max_import_rows: int
    max_pages: int
    max_pixels: int
    ocr_threads: int
    stuck_after_seconds: int
    task_timeout_seconds: int
    max_attempts: int
    auto_accept_threshold: float
    retrain_every_hours: float
    retrain_min_reviews: int
    alert_check_minutes: int
    base_url: str
    mail_server: str | None
    mail_port: int
    mail_use_tls: bool
    mail_use_ssl: bool
    mail_username: str | None
    mail_password: str | None
    mail_from: str
    mail_timeout: int
    mail_retry_seconds: int
    alert_recipients: tuple[str, ...]
    trash_days: int
    retain_days: int
    heartbeat_seconds: int
    trusted_hosts: tuple[str, ...]
    metrics_token: str | None
    worker_metrics_port: int
    blob_store: str
    s3_endpoint_url: str | None
    s3_bucket: str | None
    s3_presign_seconds: int
    blob_cache_mb: int
    search_backend: str = "whoosh"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError naming the bad one."""
        environ = os.environ if environ is None else environ
        env = environ.get("QM_ENV", "development")
        if env not in {"development", "production", "testing"}:
            raise ConfigError(f"QM_ENV must be development, production or testing, not {env!r}")
        production = env == "production"
        data_dir = Path(environ.get("DATA_DIR") or "var").resolve()

        secret_key = environ.get("SECRET_KEY", "")
        if production and (not secret_key or secret_key == DEVELOPMENT_SECRET_PLACEHOLDER):
            raise ConfigError(
                "SECRET_KEY must be set to a long random value when QM_ENV=production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not secret_key:
            secret_key = _persistent_secret(data_dir)

        return cls(
            env=env,
            data_dir=data_dir,
            secret_key=secret_key,
            database_url=normalize_database_url(
                environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'quartermaster.db'}"
            ),
            redis_url=environ.get("REDIS_URL") or None,
            queue_name=environ.get("QM_QUEUE_NAME", "quartermaster"),
            log_level=environ.get("LOG_LEVEL", "INFO").upper(),
            session_lifetime_minutes=_float(environ, "QM_SESSION_MINUTES", 8 * 60, minimum=0.01),
            # However active: a working day and its overtime, then sign in again (a stolen cookie dies too).
            session_max_hours=_int(environ, "QM_SESSION_MAX_HOURS", 12, minimum=1),
            cookie_secure=_bool(environ, "QM_COOKIE_SECURE", production),
            proxy_hops=_int(environ, "QM_PROXY_HOPS", 0),
            login_rate_limit=environ.get("QM_LOGIN_RATE_LIMIT", "10 per minute"),
            max_upload_mb=_int(environ, "QM_MAX_UPLOAD_MB", 50, minimum=1),
            max_movement=_int(environ, "QM_MAX_MOVEMENT", 100_000, minimum=1),
            max_import_mb=_int(environ, "QM_MAX_IMPORT_MB", 10, minimum=1),
            max_import_rows=_int(environ, "QM_MAX_IMPORT_ROWS", 50_000, minimum=1),
            max_pages=_int(environ, "QM_MAX_PAGES", 200, minimum=1),
            max_pixels=_int(environ, "QM_MAX_PIXELS", 50_000_000, minimum=10_000),
            ocr_threads=_int(environ, "QM_OCR_THREADS", 2, minimum=1),
            stuck_after_seconds=_int(environ, "QM_STUCK_AFTER_SECONDS", 900, minimum=1),
            # A 200-page scan at ~3.5 s a page is ~12 min here; twice that on a slow or shared machine still fits.
            task_timeout_seconds=_int(environ, "QM_TASK_TIMEOUT_SECONDS", 1800, minimum=0),
            max_attempts=_int(environ, "QM_MAX_ATTEMPTS", 3, minimum=1),
            auto_accept_threshold=_float(environ, "QM_AUTO_ACCEPT_THRESHOLD", 0.85, minimum=0.0),
            retrain_every_hours=_float(environ, "QM_RETRAIN_EVERY_HOURS", 24.0, minimum=0.0),
            retrain_min_reviews=_int(environ, "QM_RETRAIN_MIN_REVIEWS", 1, minimum=1),
            alert_check_minutes=_int(environ, "QM_ALERT_CHECK_MINUTES", 15, minimum=1),
            base_url=(environ.get("QM_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            mail_server=environ.get("MAIL_SERVER") or None,
            mail_port=_int(environ, "MAIL_PORT", 25, minimum=1),
            mail_use_tls=_bool(environ, "MAIL_USE_TLS", False),
            mail_use_ssl=_bool(environ, "MAIL_USE_SSL", False),
            mail_username=environ.get("MAIL_USERNAME") or None,
            mail_password=environ.get("MAIL_PASSWORD") or None,
            mail_from=environ.get("MAIL_FROM") or "Quartermaster <quartermaster@localhost>",
            mail_timeout=_int(environ, "MAIL_TIMEOUT", 15, minimum=1),
            mail_retry_seconds=_int(environ, "QM_MAIL_RETRY_SECONDS", 60, minimum=1),
            alert_recipients=_addresses(environ.get("ALERT_RECIPIENTS", "")),
            trash_days=_int(environ, "QM_TRASH_DAYS", 30, minimum=0),
            retain_days=_int(environ, "QM_RETAIN_DAYS", 0, minimum=0),
            heartbeat_seconds=_int(environ, "QM_HEARTBEAT_SECONDS", 30, minimum=1),
            trusted_hosts=tuple(h.strip() for h in environ.get("QM_TRUSTED_HOSTS", "").split(",") if h.strip()),
            metrics_token=environ.get("QM_METRICS_TOKEN") or None,
            worker_metrics_port=_int(environ, "QM_WORKER_METRICS_PORT", 0, minimum=0),
            blob_store=environ.get("QM_BLOB_STORE") or "local",
            s3_endpoint_url=environ.get("S3_ENDPOINT_URL") or None,
            s3_bucket=environ.get("S3_BUCKET") or None,
            s3_presign_seconds=_int(environ, "QM_S3_PRESIGN_SECONDS", 0, minimum=0),
            blob_cache_mb=_int(environ, "QM_BLOB_CACHE_MB", 2048, minimum=1),
            search_backend=(environ.get("QM_SEARCH_BACKEND") or "whoosh").strip().lower(),
        )

    def __post_init__(self) -> None:
        if self.mail_use_tls and self.mail_use_ssl:
            raise ConfigError("MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL (implicit TLS) exclude each other: set one")
        if self.blob_store not in {"local", "s3"}:
            raise ConfigError(f"QM_BLOB_STORE must be local or s3, not {self.blob_store!r}")
        if self.blob_store == "s3" and not self.s3_bucket:
            raise ConfigError("QM_BLOB_STORE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL unless the bucket is on AWS)")
        if self.search_backend not in {"whoosh", "postgres"}:
            raise ConfigError(f"QM_SEARCH_BACKEND must be whoosh or postgres, not {self.search_backend!r}")

    def flask_config(self) -> dict[str, object]:
        """Flask's and the extensions' config keys for these settings."""
        return {
            "QM_ENV": self.env,
            "TESTING": self.env == "testing",
            "SECRET_KEY": self.secret_key,
            "DATA_DIR": self.data_dir,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url),
            "REDIS_URL": self.redis_url,
            "QUEUE_NAME": self.queue_name,
            "LOG_LEVEL": self.log_level,
            "PERMANENT_SESSION_LIFETIME": timedelta(minutes=self.session_lifetime_minutes),
            "SESSION_REFRESH_EACH_REQUEST": True,
            # The absolute lifetime of a signed-in session, checked on the server (app/auth/access.py).
            "SESSION_MAX_HOURS": self.session_max_hours,
            "SESSION_COOKIE_NAME": "qm_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.cookie_secure,
            "REMEMBER_COOKIE_SECURE": self.cookie_secure,
            "PREFERRED_URL_SCHEME": "https" if self.cookie_secure else "http",
            "PROXY_HOPS": self.proxy_hops,
            "LOGIN_RATE_LIMIT": self.login_rate_limit,
            "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
            "RATELIMIT_KEY_PREFIX": f"{self.queue_name}-limits",
            "RATELIMIT_HEADERS_ENABLED": True,
            "MAX_CONTENT_LENGTH": self.max_upload_mb * 1024 * 1024,
            "MAX_MOVEMENT": self.max_movement,
            "MAX_IMPORT_BYTES": self.max_import_mb * 1024 * 1024,
            "MAX_IMPORT_ROWS": self.max_import_rows,
            "MAX_PAGES": self.max_pages,
            "MAX_PIXELS": self.max_pixels,
            "OCR_THREADS": self.ocr_threads,
            "STUCK_AFTER_SECONDS": self.stuck_after_seconds,
            "TASK_TIMEOUT_SECONDS": self.task_timeout_seconds,  # 0: no limit
            "MAX_ATTEMPTS": self.max_attempts,
            "AUTO_ACCEPT_THRESHOLD": self.auto_accept_threshold,
            "RETRAIN_EVERY_HOURS": self.retrain_every_hours,
            "RETRAIN_MIN_REVIEWS": self.retrain_min_reviews,
            "ALERT_CHECK_MINUTES": self.alert_check_minutes,
            "BASE_URL": self.base_url,
            # Flask-Mailman's own keys; MAIL_FROM is its default sender. SMTP always: Flask-Mailman would
            # otherwise keep mail in memory when TESTING, and our tests talk to a real SMTP server.
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": self.mail_server,
            "MAIL_PORT": self.mail_port,
            "MAIL_USE_TLS": self.mail_use_tls,
            "MAIL_USE_SSL": self.mail_use_ssl,
            "MAIL_USERNAME": self.mail_username,
            "MAIL_PASSWORD": self.mail_password,
            "MAIL_DEFAULT_SENDER": self.mail_from,
            "MAIL_TIMEOUT": self.mail_timeout,
            "MAIL_RETRY_SECONDS": self.mail_retry_seconds,
            "ALERT_RECIPIENTS": list(self.alert_recipients),
            "TRASH_DAYS": self.trash_days,
            "RETAIN_DAYS": self.retain_days,
            "HEARTBEAT_SECONDS": self.heartbeat_seconds,
            # Host names this instance answers to (Flask refuses others with 400); empty = any.
            "TRUSTED_HOSTS": list(self.trusted_hosts) or None,
            "METRICS_TOKEN": self.metrics_token,
            # A consumer serves its own pipeline figures on this port (0: it does not; see worker.py).
            "WORKER_METRICS_PORT": self.worker_metrics_port,
            # Where blobs and thumbnails live (app/documents/storage.py); S3 credentials stay with boto3.
            "BLOB_STORE": self.blob_store,
            "S3_ENDPOINT_URL": self.s3_endpoint_url,
            "S3_BUCKET": self.s3_bucket,
            "S3_PRESIGN_SECONDS": self.s3_presign_seconds,
            "BLOB_CACHE_MB": self.blob_cache_mb,
            # Where search looks (app/search/service.py): the embedded Whoosh index, or PostgreSQL full-text search.
            "SEARCH_BACKEND": self.search_backend,
            # CSRF tokens live as long as the session, so a form left open all
            # morning still submits; the session itself expires on its own clock.
            "WTF_CSRF_TIME_LIMIT": None,
        }


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(database_url: str) -> dict[str, object]:
    """Engine options per backend: pool health checks for servers, a busy wait for SQLite."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def config_for_tests(data_dir: Path, database_url: str, **overrides: object) -> dict[str, object]:
    """The config a test app uses: its own data dir and database, CSRF on, no Redis."""
    environ = {
        "QM_ENV": "testing",
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret-not-for-production",
        "DATABASE_URL": database_url,
    }
    config = Settings.from_env(environ).flask_config()
    config.update(overrides)
    return config


def bootstrap_admin(environ: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """QM_ADMIN_EMAIL and QM_ADMIN_PASSWORD: used once, to create the first admin.

    Kept out of the Flask config on purpose, so the password is never part of
    the app's settings after start-up.
    """
    environ = os.environ if environ is None else environ
    return environ.get("QM_ADMIN_EMAIL") or None, environ.get("QM_ADMIN_PASSWORD") or None
