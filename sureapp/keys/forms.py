"""Forms of the API Keys pages. They only parse input; the rules live in services.py."""
from flask_wtf import FlaskForm
from wtforms import (BooleanField, HiddenField, IntegerField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import ABILITIES, KEY_TYPES
from ..web import DATETIME_LOCAL_FORMATS, ConfirmForm, LocalDateTimeField
from . import abilities as ability_strings
from .services import GRACE_PERIODS

KEY_TYPE_LABELS = {"api": "API (integrations)", "mcp": "MCP (AI assistants)",
                   "suremails": "SureMails (mail plugin)"}


class CheckboxesField(SelectMultipleField):
    """Multiple choice rendered as checkboxes; unknown values are left for the service to reject."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validate_choice=False, **kwargs)


ACCESS_CHOICES = [("all", "All resources"), ("restricted", "Restricted")]


class KeyFieldsForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 255, "autocomplete": "off", "autofocus": True})
    # "All resources" takes `abilities` (read/write/delete), "Restricted" takes `scopes` (the
    # resource × ability grid). Without JavaScript both are on the page: the choice decides.
    access = RadioField("Access", choices=ACCESS_CHOICES, default="all", validate_choice=False)
    abilities = CheckboxesField("Abilities", choices=[(a, a.title()) for a in ABILITIES])
    scopes = CheckboxesField("Resources", choices=[(s, s) for s in ability_strings.ALL_SCOPES])
    allowed_ips = TextAreaField("Allowed IP addresses", render_kw={
        "rows": 3, "spellcheck": "false", "autocomplete": "off",
        "placeholder": "203.0.113.0/24\n2001:db8::/32"})
    # A preset ("30d"), "never" or "custom" (the date below; empty means never). The choices
    # come from the org's lifetime policy (keys/lifetime.py); a post without it is "custom".
    expiry = RadioField("Expires", validate_choice=False)
    expires_at = LocalDateTimeField("Expires At", format=DATETIME_LOCAL_FORMATS)

    def chosen_abilities(self) -> list[str]:
        """The ability strings of the chosen access; the service validates them. An unknown
        choice grants nothing (the service then asks for at least one ability)."""
        if self.access.data == "restricted":
            return list(self.scopes.data or [])
        if self.access.data == "all":
            return list(self.abilities.data or [])
        return []

    def show_abilities(self, held: list[str]) -> None:
        """Pre-fill access, abilities and grid from a key's ability strings (a mixed key, say
        read + contacts:write, shows as Restricted with read ticked for every resource)."""
        restricted = ability_strings.is_restricted(held)
        self.access.data = "restricted" if restricted else "all"
        self.abilities.data = [] if restricted else list(held)
        self.scopes.data = sorted(ability_strings.expand(held)) if restricted else []


class CreateKeyForm(KeyFieldsForm):
    key_type = SelectField("Type", choices=[(t, KEY_TYPE_LABELS[t]) for t in KEY_TYPES],
                           default="api", validate_choice=False)


class KeyChangeForm(ConfirmForm):
    """A change to an existing key (revoke, activate, end grace, delete, and the base of edit and
    regenerate): carries the key version the page showed, so the change applies only to the key
    as the person saw it (services compare and set)."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        """The version posted. None if none was (a post not made from our pages: the change
        applies to the key as it is now, still one at a time); -1, which never matches, for a
        malformed one."""
        value = (self.version.data or "").strip()
        if not value:
            return None
        return int(value) if value.isdecimal() and len(value) < 12 else -1

    def show(self, key) -> "KeyChangeForm":
        self.version.data = str(key.version)
        return self


class EditKeyForm(KeyFieldsForm, KeyChangeForm):
    active = BooleanField("Active")


class RegenerateKeyForm(KeyChangeForm):
    grace = RadioField("Keep the old key working for", default="none", validate_choice=False,
                       choices=[(value, label) for value, label, _ in GRACE_PERIODS])


class KeyPolicyForm(FlaskForm):
    """The organization's key-lifetime policy; its range is checked by keys/lifetime.set_policy."""

    max_lifetime_days = IntegerField("Maximum key lifetime (days)", validators=[Optional()])
    require_expiry = BooleanField("Every key must expire")
