"""The documents list's and the trash's filter forms (GET, no CSRF), and the choices the search form shares."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.documents.models import DocumentState, ReviewState

STATE_CHOICES = [SelectChoice("", "Any state")] + [SelectChoice(s.value, s.value) for s in DocumentState]
REVIEW_CHOICES = [
    SelectChoice("", "Any"),
    SelectChoice(ReviewState.NEEDS_REVIEW.value, "waiting for review"),
    SelectChoice(ReviewState.AUTO_ACCEPTED.value, "accepted by the model"),
    SelectChoice(ReviewState.REVIEWED.value, "reviewed by a person"),
]


class DocumentFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("File name", validators=[Optional(), Length(max=100)])
    state = SelectField("State", choices=STATE_CHOICES, default="")
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
    review = SelectField("Review", choices=REVIEW_CHOICES, default="")
    uploader = SelectField("Uploaded by", default="")
    since = DateField("Uploaded from", validators=[Optional()])
    until = DateField("Uploaded until", validators=[Optional()])
    dated_from = DateField("Document date from", validators=[Optional()])
    dated_until = DateField("Document date to", validators=[Optional()])
    tag = StringField("Tag", validators=[Optional(), Length(max=50)])
    correspondent = SelectField("Correspondent", default="")
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


class TrashFilterForm(FlaskForm):
    """The trash page's filters (GET, no CSRF); the "deleted by" choices are the people with something there."""

    class Meta:
        csrf = False

    q = StringField("File name", validators=[Optional(), Length(max=100)])
    deleted_by = SelectField("Deleted by", default="")
    since = DateField("Deleted from", validators=[Optional()])
    until = DateField("Deleted until", validators=[Optional()])
