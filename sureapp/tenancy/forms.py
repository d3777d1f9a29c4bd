from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..auth.forms import account_email, strip, visible_text
from ..models import Role
from .services import MAX_CONTACT_ALLOCATION
from ..timeutil import is_valid_timezone

NAME_RULES = [DataRequired(), Length(max=255, message="Must be at most 255 characters."),
              visible_text()]


def valid_timezone(form, field):
    if not is_valid_timezone((field.data or "").strip()):
        raise ValidationError("Choose a timezone from the list, e.g. Europe/Berlin.")


class OrganizationForm(FlaskForm):
    name = StringField("Organization name", filters=[strip], validators=NAME_RULES)
    description = TextAreaField("Description (optional)",
                                validators=[Length(max=2000, message="Must be at most 2000 characters."),
                                            visible_text(allow_newlines=True)])
    workspace_name = StringField(
        "First workspace (optional)",
        validators=[Length(max=255, message="Must be at most 255 characters."), visible_text()])


class WorkspaceForm(FlaskForm):
    name = StringField("Workspace name", filters=[strip], validators=NAME_RULES)
    timezone = StringField("Timezone", default="UTC", validators=[DataRequired(), valid_timezone])


class WorkspaceSettingsForm(WorkspaceForm):
    contact_allocation = IntegerField(
        "Contact allocation",
        validators=[Optional(), NumberRange(min=0, max=MAX_CONTACT_ALLOCATION,
                                            message=f"Must be between 0 and {MAX_CONTACT_ALLOCATION:,}.")],
    )


def role_choices(roles: list[Role]) -> list[tuple[str, str]]:
    return [(r.slug, r.label) for r in roles]


class InviteForm(FlaskForm):
    email = EmailField("Email", filters=[strip], validators=[DataRequired(), Length(max=255),
                                                             account_email])
    role = SelectField("Role", validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField("Role", validators=[DataRequired()])


class TransferOwnershipForm(FlaskForm):
    # A plain id, not a select: an id from another organization must answer 404 like a URL would.
    user_id = StringField("New owner", validators=[DataRequired("Choose the new owner.")])
    confirm = BooleanField("I understand that I will become an Org Admin.",
                           validators=[DataRequired("Tick the box to confirm.")])
