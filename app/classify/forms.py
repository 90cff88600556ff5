"""Forms of classification: the admin's category form and the review queue's filters."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class EditCategoryForm(FlaskForm):
    """What an admin may change about a category once it exists: all of it (the models know it by its key)."""

    name = StringField("Name", validators=[DataRequired(message="A category needs a name."), Length(max=64)])
    description = StringField("What belongs in it", validators=[Optional(), Length(max=500)])
    colour = StringField(
        "Colour",
        default="#6b7280",
        validators=[
            Length(max=7, message="Too long for a colour."),
            Regexp(r"^#[0-9a-fA-F]{6}$", message="A colour like #2563eb."),
        ],
    )


class CategoryForm(EditCategoryForm):
    """A new category: the same fields."""


class ReviewFilterForm(FlaskForm):
    """The review queue's filters (GET, no CSRF); the choices are filled in by the view."""

    class Meta:
        csrf = False

    category = SelectField("Model's choice", default="")
    uploader = SelectField("Uploaded by", default="")
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])
