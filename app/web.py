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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import Flask, Response, abort, has_request_context, render_template, request
from jinja2_fragments.flask import render_block

from app import timezones
from app.forms import ConfirmForm

FormT = TypeVar("FormT")
FilterT = TypeVar("FilterT")


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


@dataclass(frozen=True)
class Filtered(Generic[FormT, FilterT]):
    """A list page's filter form as read from the query string: the form to show again, what it
    asks for, and `problem`, the sentence shown (with a 400) when a filter is not valid."""

    form: FormT
    filters: FilterT
    problem: str | None = None

    @property
    def status(self) -> int:
        """The page's status: 400 while a filter is not valid (the page still shows the form)."""
        return 400 if self.problem else 200

    def or_400(self) -> FilterT:
        """The filters, or a 400 with the problem (for exports, which have no form to show it on)."""
        if self.problem:
            abort(400, description=self.problem)
        return self.filters


def read_filters(form: FormT, build: Callable[[FormT], FilterT], empty: FilterT) -> Filtered[FormT, FilterT]:
    """Validate a filter form bound to the query string and `build` the filters it asks for; `empty`
    stands in (and lists nothing) while a filter is not valid."""
    if not form.validate():  # type: ignore[attr-defined]
        return Filtered(form, empty, invalid_filters(form))
    return Filtered(form, build(form))


def require_confirmation(expired: str = "The form expired; reload the page and try again.") -> None:
    """Refuse (400, saying `expired`) a state change whose button-only form did not carry a valid CSRF token."""
    if not ConfirmForm().validate_on_submit():
        abort(400, description=expired)


# Bounds on the query string, checked before any view (and before the sign-in guard) reads it. The
# longest value a page accepts is a search of 500 characters (the forms say so); a value over twice that
# is refused with a 400 at once, so no view, form or query spends time on it.
MAX_QUERY_STRING_BYTES = 8_192  # percent-encoded, as sent: 500 characters of any script fit
MAX_QUERY_VALUE_CHARS = 1_000  # forms bound their own fields lower, with messages of their own
MAX_QUERY_PARAMETERS = 64
MAX_PAGE = 1_000_000  # the deepest page of any list; beyond it the row offset overflows the database's integers
# Names a query string may not use: list pages pass their query string back into url_for() for the
# pager and CSV links, where these mean something else (?_method=POST made every list page a 500).
RESERVED_QUERY_NAMES = frozenset({"endpoint"})


def query_string_problem() -> str | None:
    """What is wrong with this request's query string, in a sentence, or None when it is usable."""
    if len(request.query_string) > MAX_QUERY_STRING_BYTES:
        return f"The address is too long: its query part may be at most {MAX_QUERY_STRING_BYTES:,} bytes."
    args = request.args
    if len(args) > MAX_QUERY_PARAMETERS:
        return f"The address has too many parameters (at most {MAX_QUERY_PARAMETERS})."
    path_parts = set(request.view_args or ())
    for name in args:
        if len(name) > 64 or name.startswith("_") or name in RESERVED_QUERY_NAMES or name in path_parts:
            return f"The address has a parameter this page does not take: {name[:40]!r}."
    for name, value in args.items(multi=True):
        if len(value) > MAX_QUERY_VALUE_CHARS:
            return f"The value of {name!r} is too long: at most {MAX_QUERY_VALUE_CHARS} characters."
    page = args.get("page")
    if page is not None and not (page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_PAGE):
        return f"The page must be a whole number from 1 to {MAX_PAGE:,}, not {page[:20]!r}."
    return None


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
    """Query-string bounds, the favicon, security headers on every response, and the template helpers."""

    def _refuse_unusable_query_string() -> None:
        problem = query_string_problem()
        if problem:
            abort(400, description=f"{problem} Nothing was changed.")

    # After the request id and timer hooks (a refusal is logged and counted like any answer) and before the
    # sign-in guard, which would otherwise copy a huge address into the sign-in link's ?next=.
    hooks = app.before_request_funcs.setdefault(None, [])
    guard = next((i for i, hook in enumerate(hooks) if hook.__module__ == "app.auth.access"), len(hooks))
    hooks.insert(guard, _refuse_unusable_query_string)

    # Browsers ask for /favicon.ico on every site, whatever the page links. It is one more address of the
    # static files (public like them, no endpoint of its own): static/favicon.ico, the ICO twin of the
    # SVG icon base.html links. Pages keep building /static/favicon.svg (another file name, another rule).
    app.add_url_rule("/favicon.ico", endpoint="static", defaults={"filename": "favicon.ico"})

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

    def pager(*args: Any, **kwargs: Any) -> Any:
        """The `pager` macro of _pager.html as a global: every list's results block calls it, and htmx
        renders that block alone, where an import at the top of the template would not run."""
        module = app.jinja_env.get_template("_pager.html").make_module({"request": request})
        return module.pager(*args, **kwargs)

    app.jinja_env.globals["pager"] = pager
    # Times in the reader's zone: {{ moment | local }}, {{ moment | local('%H:%M', zoned=true) }}, and the
    # zone for a column header, {{ time_zone_label() }} (app/timezones.py).
    app.jinja_env.filters["local"] = timezones.local
    app.jinja_env.globals["time_zone_label"] = timezones.time_zone_label

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        # Emails are rendered by workers, outside any request.
        return {"htmx_request": has_request_context() and is_htmx()}
