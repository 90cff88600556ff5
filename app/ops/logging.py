"""JSON log lines with a request id, and the access log written per request.

Each line is one JSON object (python-json-logger) with `request_id` taken from
the work context, so a person can follow one request or task through web and
worker logs. The id comes from the `X-Request-ID` header when a proxy sent a
sane one and is echoed back in the response.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from flask_login import current_user
from pythonjsonlogger.json import JsonFormatter

from app.ops import context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("quartermaster.access")


class ContextFilter(logging.Filter):
    """Stamp each record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id
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
        g.context_token = context.bind(context.WorkContext(request_id=g.request_id, ip=request.remote_addr))

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

    @app.teardown_request
    def _unbind_context(_error: BaseException | None) -> None:
        token = g.pop("context_token", None)
        if token is not None:
            context.reset(token)
