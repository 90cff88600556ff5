"""The real services the suite needs, where to find them, and how to start them."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

HOW_TO_START = {
    "PostgreSQL": (
        "Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
        "(Debian; or `sudo systemctl start postgresql`), or point TEST_DATABASE_URL at a server "
        "where this user may create databases."
    ),
    "Redis": (
        "Start it with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no` "
        "(or `sudo systemctl start redis-server`), or point TEST_REDIS_URL at one."
    ),
}


def libpq_url(url: str) -> str:
    """The URL psycopg understands (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def unanswered_services() -> list[str]:
    """A line for each required service that does not answer, saying how to start it."""
    problems = []
    try:
        with psycopg.connect(libpq_url(TEST_DATABASE_URL), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        problems.append(
            f"PostgreSQL at {TEST_DATABASE_URL} does not answer: {first_line}\n  {HOW_TO_START['PostgreSQL']}"
        )
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        problems.append(f"Redis at {TEST_REDIS_URL} does not answer: {error}\n  {HOW_TO_START['Redis']}")
    return problems


def recreate_database(name: str) -> str:
    """Drop and create database `name` on the test server; return its URL."""
    admin_url = libpq_url(TEST_DATABASE_URL)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(TEST_DATABASE_URL, name)


def drop_database(name: str) -> None:
    with psycopg.connect(libpq_url(TEST_DATABASE_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean_environment() -> dict[str, str]:
    """This process's environment without Quartermaster's own settings, for a child that gets its own."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("QM_", "DATABASE_URL", "REDIS_URL", "MAIL_", "ALERT_"))
    }
