"""Domain errors, and the error pages every failure ends on.

Services raise `DomainError` subclasses with a message written for the person
using the app; the handlers here turn them, and HTTP errors, into a page that
fits the layout, or into a message fragment for htmx requests that is swapped
into the page's message area instead of the element that asked.
"""

from __future__ import annotations

import logging

from flask import Flask, has_request_context, render_template
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.web import is_htmx

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the business was broken; the message says which and what to do."""

    status_code = 400


class NotFound(DomainError):
    """What was asked for does not exist (404). Domains mix it into their own error classes."""

    status_code = 404


class Conflict(DomainError):
    """The change does not fit the current state of things (409): look again, then decide."""

    status_code = 409


TITLES = {
    400: "That request could not be used",
    401: "Please sign in",
    403: "You do not have access to this",
    404: "Nothing here",
    405: "That action is not possible here",
    409: "That conflicts with the current state",
    410: "That was deleted",
    413: "That is too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}

DEFAULT_MESSAGES = {
    400: "The request was incomplete or malformed. Go back, check the form and try again.",
    403: "Your role does not include this. Ask an admin if you need it.",
    404: "The page or item does not exist, or it was removed.",
    405: "This address does not accept that kind of request.",
    413: "The upload is larger than the limit.",
    429: "Too many attempts in a short time. Wait a minute, then try again.",
    500: "The error has been logged with its request id. Try again; if it keeps happening, tell an admin.",
}


def render_error(status: int, message: str):
    """The error as a full page, or as a message fragment for htmx."""
    title = TITLES.get(status, "Error")
    if has_request_context() and request_ctx.url_adapter is None:
        # The Host is not one this instance answers to (TRUSTED_HOSTS): no URL can be built, so no page.
        return f"{title}: {message}\n", status, {"Content-Type": "text/plain; charset=utf-8"}
    if is_htmx():
        body = render_template("errors/_message.html", status=status, title=title, message=message)
        return body, status, {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _http_message(error: HTTPException) -> str:
    code = error.code or 500
    # Werkzeug's default descriptions are generic English for developers; ours say what to do.
    if error.description and error.description != type(error).description:
        return str(error.description)
    return DEFAULT_MESSAGES.get(code, str(error.description or ""))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        advice = "Reload the page and try again; nothing was changed."
        return render_error(400, f"The form's security token was missing or expired ({error.description}). {advice}")

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        db.session.rollback()
        return render_error(error.status_code, str(error))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.code == 413:
            limit_mb = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            return render_error(413, f"The upload is larger than the {limit_mb} MB limit. Nothing was stored.")
        return render_error(error.code, _http_message(error))

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError):
        db.session.rollback()
        original = getattr(error, "original_exception", None)
        if original is not None:
            log.error("unhandled error", exc_info=original)
        return render_error(500, DEFAULT_MESSAGES[500])
