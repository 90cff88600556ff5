"""Small helpers every blueprint's views share: htmx detection and rendering.

A view renders the full page for a normal request and only a named block of
the same template for an htmx request (template fragments), so one URL and
one template serve both. Static URLs carry a content hash (?v=...), so nginx
may let browsers cache them for a year.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any

from flask import Flask, Response, has_request_context, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """True for a request htmx made (not a boosted full-page navigation)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render_page(template: str, block: str | None = None, **context: Any) -> str:
    """The whole page, or just `block` of it when htmx asked."""
    if block is not None and is_htmx():
        return render_block(template, block, **context)
    return render_template(template, **context)


def invalid_filters(form: Any) -> str:
    """What is wrong with a list page's filters, in one sentence naming each field by its label."""
    problems = "; ".join(f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items())
    return f"Some filters are not valid: {problems}"


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@functools.cache
def _file_version(path: str, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def static_version(static_folder: str | None, filename: str) -> str | None:
    """A short content hash for a static file, so nginx may cache its URL for a year (a new file gets a new URL)."""
    if not static_folder:
        return None
    path = os.path.join(static_folder, filename)
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except OSError:
        return None
    return _file_version(path, mtime_ns)


def init_app(app: Flask) -> None:
    """Security headers on every response, and the template helpers."""

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            # One URL answers with a page or a fragment: caches must keep them apart.
            headers.add("Vary", "HX-Request")
            headers.setdefault("Cache-Control", "no-store")
        return response

    @app.url_defaults
    def _version_static_urls(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        from app.auth.models import Role

        # Emails are rendered by workers, outside any request.
        return {"Role": Role, "htmx_request": has_request_context() and is_htmx()}
