"""JSON log lines with a request id (and the user and document where they apply), and the access log.

Each line is one JSON object (python-json-logger) with `request_id` taken from
the work context, so a person can follow one request or task through web and
worker logs. The id comes from the `X-Request-ID` header when a proxy sent a
sane one and is echoed back in the response; a task's lines carry the task's
id instead. `user_id` is added when someone is signed in, `document_id` when
the request or task is about one document. What is logged is ids, paths
without query strings, counts and durations: never form fields, passwords,
tokens or a document's text.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from flask_login import current_user
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect

from app.ops import context
from app.queue import huey

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("quartermaster.access")
TASK_HOOK = "quartermaster-log-context"


def _signed_in_user_id() -> int | None:
    """The id of the user this request already loaded, without loading one (no query from inside logging)."""
    if not has_request_context():
        return None
    user = g.get("_login_user")  # where Flask-Login keeps the user once something asked for it
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        identity = inspect(user).identity  # the primary key, even when the row's attributes are expired
    except Exception:
        return None
    return identity[0] if identity else None


class ContextFilter(logging.Filter):
    """Stamp each record with the current request id, and the user and document when known."""

    def filter(self, record: logging.LogRecord) -> bool:
        work = context.current()
        record.request_id = work.request_id
        if getattr(record, "user_id", None) is None:
            user_id = work.user_id if work.user_id is not None else _signed_in_user_id()
            if user_id is not None:
                record.user_id = user_id
        if getattr(record, "document_id", None) is None and work.document_id is not None:
            record.document_id = work.document_id
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr as JSON lines (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_qm_json", False):
            root.setLevel(level)
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    handler._qm_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def _json_root_handler() -> logging.Handler | None:
    return next((h for h in logging.getLogger().handlers if getattr(h, "_qm_json", False)), None)


def request_id_from(header: str | None) -> str:
    if header and _REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    if not app.testing:
        configure_logging(app.config["LOG_LEVEL"])

    @app.before_request
    def _bind_context() -> None:
        g.started = time.perf_counter()
        g.request_id = request_id_from(request.headers.get("X-Request-ID"))
        document_id = (request.view_args or {}).get("document_id")
        g.context_token = context.bind(
            context.WorkContext(
                request_id=g.request_id,
                ip=request.remote_addr,
                document_id=document_id if isinstance(document_id, int) else None,
            )
        )

    @app.after_request
    def _log_access(response):
        started = g.pop("started", None)
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        if started is not None and request.endpoint != "static":
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": current_user.id if current_user.is_authenticated else None,
                },
            )
        return response

    @huey.on_startup(TASK_HOOK)
    def _one_log_format() -> None:
        # huey_consumer gives the "huey" logger a plain-text stderr handler of its own; its records also reach
        # our JSON handler on the root logger, so every consumer line would be written twice, once not as JSON.
        # A --logfile handler (a FileHandler) is the operator's choice and stays.
        consumer_log = logging.getLogger("huey")
        for handler in list(consumer_log.handlers):
            if type(handler) is logging.StreamHandler and _json_root_handler() is not None:
                consumer_log.removeHandler(handler)

    @huey.pre_execute(TASK_HOOK)
    def _bind_task_context(task) -> None:
        # A task's lines carry its own id; its document (when it has one) is added by the task itself.
        task._qm_context_token = context.bind(context.WorkContext(request_id=str(task.id)[:64]))

    @huey.post_execute(TASK_HOOK)
    def _unbind_task_context(task, _value, _error) -> None:
        token = getattr(task, "_qm_context_token", None)
        if token is not None:
            del task._qm_context_token
            with contextlib.suppress(ValueError):  # bound in another thread's context: nothing to undo here
                context.reset(token)

    @app.teardown_request
    def _unbind_context(_error: BaseException | None) -> None:
        token = g.pop("context_token", None)
        if token is not None:
            context.reset(token)
