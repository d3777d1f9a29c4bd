from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..schema_types import normalize_account_email
from ..validation import has_control_characters

def strip(value):
    return value.strip() if isinstance(value, str) else value


def visible_text(allow_newlines: bool = False):
    """Reject control characters (NUL breaks PostgreSQL; none belongs in a name)."""
    def check(form, field):
        if isinstance(field.data, str) and has_control_characters(field.data, allow_newlines):
            raise ValidationError("Use visible characters only (no control characters).")
    return check


def account_email(form, field):
    """An account's address (schema_types.normalize_account_email: .local and other special-use
    domains allowed), with what is wrong said in our words."""
    try:
        normalize_account_email(field.data or "")
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


PASSWORD_RULES = [DataRequired(), Length(min=8, max=1024, message="Use 8 to 1024 characters.")]


class LoginForm(FlaskForm):
    email = EmailField("Email", filters=[strip],
                       validators=[DataRequired(), Length(max=255), account_email])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class SignupForm(FlaskForm):
    name = StringField("Your name", validators=[Length(max=255), visible_text()])
    email = EmailField("Email", filters=[strip],
                       validators=[DataRequired(), Length(max=255), account_email])
    password = PasswordField("Password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")]
    )


class InvitedSignupForm(FlaskForm):
    """Sign-up from an invitation: the email is the invited one, so it is not asked for."""
    name = StringField("Your name", validators=[Length(max=255), visible_text()])
    password = PasswordField("Password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")]
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField("New password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", "Passwords differ.")],
    )
