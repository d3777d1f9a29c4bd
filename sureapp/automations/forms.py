"""Forms of the automations pages. They carry values; the rules (what a trigger may watch, what a
step may hold) are the schemas' and the services', whose messages show inline."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from .schemas import STEP_LABELS, TRIGGER_LABELS, WAIT_UNITS


class AutomationForm(FlaskForm):
    name = StringField("Name")
    trigger = SelectField("Trigger", choices=list(TRIGGER_LABELS.items()))
    trigger_list_id = SelectField("Which list", choices=[], validate_choice=False,
                                  description="For “A contact joins a list”.")
    trigger_tag_id = SelectField("Which tag", choices=[], validate_choice=False,
                                 description="For “A tag is added to a contact”.")
    allow_reentry = BooleanField("Let a contact go through it again after finishing")

    def offer(self, lists, tags) -> None:
        self.trigger_list_id.choices = [("", "Any list"), *((str(i.id), i.name) for i in lists)]
        self.trigger_tag_id.choices = [("", "Any tag"), *((str(t.id), t.name) for t in tags)]

    def values(self) -> dict:
        """The fields as the schema takes them; a list/tag only for the trigger that watches it."""
        trigger = self.trigger.data
        return {"name": self.name.data or "", "trigger": trigger,
                "trigger_list_id": (self.trigger_list_id.data or None)
                if trigger == "list_joined" else None,
                "trigger_tag_id": (self.trigger_tag_id.data or None)
                if trigger == "tag_added" else None,
                "allow_reentry": bool(self.allow_reentry.data)}


class StepForm(FlaskForm):
    """One step; the template shows the fields of its type."""

    type = HiddenField()
    subject = StringField("Subject")
    body = TextAreaField("Message", render_kw={"rows": 10})
    amount = IntegerField("Wait for", validators=[Optional()])
    unit = SelectField("Unit", choices=[(u, u.title()) for u in WAIT_UNITS], default="days")
    tag_id = SelectField("Tag", choices=[], validate_choice=False)
    list_id = SelectField("List", choices=[], validate_choice=False)

    FIELDS = {"send_email": ("subject", "body"), "wait": ("amount", "unit"),
              "add_tag": ("tag_id",), "remove_tag": ("tag_id",), "add_to_list": ("list_id",),
              "remove_from_list": ("list_id",)}

    def offer(self, lists, tags) -> None:
        self.tag_id.choices = [(str(t.id), t.name) for t in tags]
        self.list_id.choices = [(str(i.id), i.name) for i in lists]

    def fields_of_type(self) -> list:
        return [self._fields[name] for name in self.FIELDS.get(self.type.data, ())]

    def values(self) -> dict:
        """The step as the schema takes it (only its type's fields)."""
        values = {"type": self.type.data}
        for field in self.fields_of_type():
            values[field.name] = field.data if field.data is not None else ""
        return values

    @property
    def label(self) -> str:
        return STEP_LABELS.get(self.type.data, "Step")
