"""The search page's form (GET, no CSRF): the query and its filters."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.documents.forms import REVIEW_CHOICES, STATE_CHOICES


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=500, message="Keep the search under 500 characters.")])
    category = SelectField("Category", default="")  # choices: the categories, filled in by the view
    state = SelectField("State", choices=STATE_CHOICES, default="")
    review = SelectField("Review", choices=REVIEW_CHOICES, default="")
    uploader = SelectField("Uploaded by", default="")
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])
    sort = SelectField(
        "Sort by",
        choices=[
            SelectChoice("relevance", "Best match"),
            SelectChoice("newest", "Newest first"),
            SelectChoice("oldest", "Oldest first"),
        ],
        default="relevance",
    )
