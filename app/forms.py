"""Forms every domain uses: the button-only confirmation form and what list-page filters share."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A button-only form: it exists to carry the CSRF token of a state change."""
