"""The admin's category form."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class CategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="A category needs a name."), Length(max=64)])
    description = StringField("What belongs in it", validators=[Optional(), Length(max=500)])
    colour = StringField(
        "Colour",
        default="#6b7280",
        validators=[Regexp(r"^#[0-9a-fA-F]{6}$", message="A colour like #2563eb.")],
    )
