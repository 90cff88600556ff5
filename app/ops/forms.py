"""The audit log's filter form (GET, so no CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = SelectField("Who", coerce=str, validators=[Optional()])
    action = SelectField("Action", coerce=str, validators=[Optional()])
    target_type = SelectField("Concerning", coerce=str, validators=[Optional()])
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])
