"""Forms of the contacts, lists and tags pages. They check shape (required, length, choices);
the rules that matter (email validity and uniqueness, allocation, names) are the services'."""
from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, FieldList, Form, FormField, HiddenField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import ColorInput

from ..models import CONTACT_STATUSES
from ..schema_types import validated  # noqa: F401  (the views take it from here)
from ..validation import custom_key_problem, custom_value_problem

BLANK_CUSTOM_ROWS = 2  # empty key/value rows offered below the existing ones
MAX_CUSTOM_ROWS = 100


class CustomFieldForm(Form):
    """One key/value row of the custom fields editor (plain Form: the outer form carries CSRF)."""

    # Lengths, characters and formula-looking names: validation.py, via custom_field_dict.
    key = StringField("Field name", validators=[Optional()])
    value = StringField("Value", validators=[Optional()])


class ContactForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter an email address."),
                                            Length(max=254)])
    first_name = StringField("First name", validators=[Length(max=255)])
    last_name = StringField("Last name", validators=[Length(max=255)])
    phone = StringField("Phone", validators=[Length(max=64)])
    company = StringField("Company", validators=[Length(max=255)])
    job_title = StringField("Job title", validators=[Length(max=255)])
    status = SelectField("Status", choices=[(s, s.title()) for s in CONTACT_STATUSES],
                         default="active")
    source = StringField("Source", validators=[Length(max=255)],
                         description="Where this contact came from, e.g. \"Webinar signup\".")
    custom_fields = FieldList(FormField(CustomFieldForm), min_entries=BLANK_CUSTOM_ROWS,
                              max_entries=MAX_CUSTOM_ROWS)
    # Without JavaScript, "Add another field" re-renders the form with one more empty row.
    add_field = SubmitField("Add another field")
    lists = SelectMultipleField("Lists", coerce=str, validate_choice=True)
    tags = SelectMultipleField("Tags", coerce=str, validate_choice=True)

    def custom_field_dict(self) -> dict[str, str]:
        """Non-empty rows as a dict; a value without a name is an inline error."""
        result: dict[str, str] = {}
        for entry in self.custom_fields:
            key = (entry.form.key.data or "").strip()
            value = (entry.form.value.data or "").strip()
            if not key and not value:
                continue
            if not key:
                entry.form.key.errors = [*entry.form.key.errors, "Give this value a field name."]
                continue
            if key in result:
                entry.form.key.errors = [*entry.form.key.errors, "This field name is used twice."]
                continue
            # The schema refuses these too; checked here so the message sits next to its row.
            key_problem, value_problem = custom_key_problem(key), custom_value_problem(value)
            if key_problem:
                entry.form.key.errors = [*entry.form.key.errors, key_problem]
            if value_problem:
                entry.form.value.errors = [*entry.form.value.errors, value_problem]
            if not key_problem and not value_problem:
                result[key] = value
        return result

    def fill_custom_fields(self, values: dict) -> None:
        """Existing custom fields plus empty rows to add new ones."""
        while len(self.custom_fields.entries):
            self.custom_fields.pop_entry()
        for key, value in (values or {}).items():
            self.custom_fields.append_entry({"key": key, "value": "" if value is None else str(value)})
        for _ in range(BLANK_CUSTOM_ROWS):
            self.custom_fields.append_entry()

    def has_custom_field_errors(self) -> bool:
        return any(e.form.key.errors or e.form.value.errors for e in self.custom_fields)


class ListForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=255)])
    description = TextAreaField("Description", validators=[Length(max=2000)])
    show_on_preferences = BooleanField(
        "Show on the preferences page",
        description="Contacts can join or leave this list from the preferences link in your mails.")
    double_opt_in = BooleanField(
        "Double opt-in",
        description="New contacts added from the API or an assistant get a confirmation mail and "
                    "stay Pending until they click its link. Contacts you add here or import "
                    "are active at once: you confirm they agreed.")


class TagForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=255)])
    color = StringField("Color", widget=ColorInput(), default="#6b7280", validators=[
        DataRequired(), Regexp(r"^#[0-9a-fA-F]{6}$", message="Use a color like #4f46e5.")])
    description = TextAreaField("Description", validators=[Length(max=2000)])


class MembershipForm(FlaskForm):
    """Add the contact to one list or tag (inline on the contact page)."""

    target_id = SelectField("Add", coerce=str, validate_choice=True)


BULK_ACTIONS = {
    "add_to_list": "Add to list",
    "remove_from_list": "Remove from list",
    "add_tag": "Add tag",
    "remove_tag": "Remove tag",
    "set_status": "Change status",
    "delete": "Delete",
}


class BulkForm(FlaskForm):
    """A bulk action on selected rows or on everything matching the current filter."""

    action = SelectField("Action", choices=list(BULK_ACTIONS.items()), validate_choice=True)
    list_id = SelectField("List", coerce=str, validate_choice=False)
    tag_id = SelectField("Tag", coerce=str, validate_choice=False)
    new_status = SelectField("New status", choices=[("", "Choose a status")] +
                         [(s, s.title()) for s in CONTACT_STATUSES], validate_choice=False)
    scope = HiddenField(default="selected")  # "selected" or "all"
    confirmed = HiddenField(default="")


