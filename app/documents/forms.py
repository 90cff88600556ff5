"""The documents list's filter form (GET, no CSRF)."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.documents.models import DocumentState


class DocumentFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("File name", validators=[Optional(), Length(max=100)])
    state = SelectField(
        "State",
        choices=[SelectChoice("", "Any state")] + [SelectChoice(s.value, s.value) for s in DocumentState],
        default="",
    )
    kind = SelectField(
        "Type",
        choices=[SelectChoice("", "Any type")]
        + [
            SelectChoice(k, label)
            for k, label in (("pdf", "PDF"), ("image", "Image"), ("text", "Text"), ("docx", "Word"))
        ],
        default="",
    )
    category = SelectField("Category", default="")
    review = SelectField(
        "Review",
        choices=[
            SelectChoice("", "Any"),
            SelectChoice("needs_review", "waiting for review"),
            SelectChoice("auto_accepted", "accepted by the model"),
            SelectChoice("reviewed", "reviewed by a person"),
        ],
        default="",
    )
    uploader = SelectField("Uploaded by", default="")
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])
    sort = SelectField(
        "Sort by",
        choices=[
            SelectChoice("newest", "Newest first"),
            SelectChoice("oldest", "Oldest first"),
            SelectChoice("name", "Name"),
            SelectChoice("largest", "Largest"),
        ],
        default="newest",
    )
