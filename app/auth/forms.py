"""Forms for sign-in, the user admin pages and changing one's own password."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from app import timezones
from app.auth.models import Role
from app.auth.service import MIN_PASSWORD_LENGTH

# Every text field is bounded: an address fits the 254-character column, and a password of 1,024
# characters is longer than any a person or a password manager uses.
EMAIL_LENGTH = Length(max=254, message="An email address has at most 254 characters.")
PASSWORD_LENGTH = Length(max=1024, message="At most 1,024 characters.")
LONG_ENOUGH = Length(min=MIN_PASSWORD_LENGTH, message=f"At least {MIN_PASSWORD_LENGTH} characters.")
# A password an admin may leave empty (then one is generated and shown once).
OPTIONAL_PASSWORD = [Optional(), LONG_ENOUGH, PASSWORD_LENGTH]

ROLE_CHOICES = [
    SelectChoice(Role.VIEWER.value, "Viewer: read, search, export"),
    SelectChoice(Role.STAFF.value, "Staff: also upload, review, keep stock"),
    SelectChoice(Role.ADMIN.value, "Admin: also users, categories, models, settings"),
]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email address."), EMAIL_LENGTH])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password."), PASSWORD_LENGTH])
    # The browser's zone, filled in by static/js/app.js; stored at sign-in for a person who has chosen none.
    # Not validated here: a strange value must not stop anyone signing in, so the service ignores it instead.
    time_zone = HiddenField(render_kw={"data-browser-time-zone": ""})


class CreateUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter the new user's email address."), EMAIL_LENGTH])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value)
    password = PasswordField("Password (leave empty to generate one)", validators=OPTIONAL_PASSWORD)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password (leave empty to generate one)", validators=OPTIONAL_PASSWORD)


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired(message="Enter your current password."), PASSWORD_LENGTH]
    )
    new = PasswordField(
        "New password",
        validators=[
            DataRequired(message="Enter a new password."),
            LONG_ENOUGH,
            PASSWORD_LENGTH,
        ],
    )
    confirm = PasswordField(
        "New password again", validators=[EqualTo("new", message="The two new passwords differ."), PASSWORD_LENGTH]
    )


class AccountForm(FlaskForm):
    display_name = StringField(
        "Your name on pages and in lists (empty: the part of your email before the @)",
        validators=[Optional(), Length(max=80, message="At most 80 characters.")],
    )
    alert_emails = BooleanField("Email me when a product runs low on stock")
    # Empty: not chosen yet (UTC until a sign-in brings the browser's zone). Checked by the validator
    # below rather than as a choice, so a wrong value gets a sentence naming it.
    time_zone = SelectField("Time zone", validate_choice=False, validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = [SelectChoice("", NO_ZONE_CHOSEN)] + [
            SelectChoice(name, label, optgroup=region) for region, name, label in timezones.zone_groups()
        ]

    def validate_time_zone(self, field: SelectField) -> None:
        if field.data and not timezones.is_known_zone(field.data):
            raise ValidationError(f"{str(field.data)[:40]!r} is not a time zone: choose one from the list.")


NO_ZONE_CHOSEN = "Not chosen: UTC until you sign in with a browser that tells us"
