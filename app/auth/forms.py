"""Forms for sign-in, the user admin pages and changing one's own password."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.auth.models import Role
from app.auth.service import MIN_PASSWORD_LENGTH

ROLE_CHOICES = [
    SelectChoice(Role.VIEWER.value, "Viewer: read, search, export"),
    SelectChoice(Role.STAFF.value, "Staff: also upload, review, keep stock"),
    SelectChoice(Role.ADMIN.value, "Admin: also users, categories, models, settings"),
]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])


class CreateUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter the new user's email address.")])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value)
    password = PasswordField(
        "Password (leave empty to generate one)",
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, message=f"At least {MIN_PASSWORD_LENGTH} characters.")],
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password (leave empty to generate one)",
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, message=f"At least {MIN_PASSWORD_LENGTH} characters.")],
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(message="Enter your current password.")])
    new = PasswordField(
        "New password",
        validators=[
            DataRequired(message="Enter a new password."),
            Length(min=MIN_PASSWORD_LENGTH, message=f"At least {MIN_PASSWORD_LENGTH} characters."),
        ],
    )
    confirm = PasswordField("New password again", validators=[EqualTo("new", message="The two new passwords differ.")])


class ConfirmForm(FlaskForm):
    """A button-only form: it exists to carry the CSRF token."""


class AccountForm(FlaskForm):
    alert_emails = BooleanField("Email me when a product runs low on stock")
