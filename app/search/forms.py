"""The search page's form (GET, no CSRF): the query and its filters."""

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from app.documents.forms import REVIEW_CHOICES, STATE_CHOICES


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=500, message="Keep the search under 500 characters.")])
    category = SelectField("Category", default="")  # choices: the categories, filled in by the view
    state = SelectField("State", choices=STATE_CHOICES, default="")
    review = SelectField("Review", choices=REVIEW_CHOICES, default="")
    uploader = SelectField("Uploaded by", default="")
    since = DateField("Uploaded from", validators=[Optional()])
    until = DateField("Uploaded until", validators=[Optional()])
    # The document's own date (an invoice's date), which a person sets or confirms on the document page.
    dated_from = DateField("Document date from", validators=[Optional()])
    dated_until = DateField("Document date to", validators=[Optional()])
    sort = SelectField(
        "Sort by",
        choices=[
            SelectChoice("relevance", "Best match"),
            SelectChoice("newest", "Newest first"),
            SelectChoice("oldest", "Oldest first"),
        ],
        default="relevance",
    )

    def validate_dated_until(self, field: DateField) -> None:
        start: date | None = self.dated_from.data
        if field.data and start and field.data < start:
            raise ValidationError("The document date range ends before it starts.")
