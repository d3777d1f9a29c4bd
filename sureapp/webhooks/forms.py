"""Forms of the Webhooks pages. They only parse input; the rules are the schemas' and services'."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField

from ..events import ALL_EVENTS, SUBSCRIBABLE
from ..keys.forms import CheckboxesField
from ..netguard import MAX_URL_LENGTH
from .schemas import DESCRIPTION_MAX

EVENT_CHOICES = [(ALL_EVENTS, "All events")] + [(t, t) for t in SUBSCRIBABLE]


class EndpointForm(FlaskForm):
    url = StringField("Endpoint URL", render_kw={
        "maxlength": MAX_URL_LENGTH, "autocomplete": "off", "autofocus": True, "inputmode": "url",
        "placeholder": "https://hooks.example.com/sureapp", "spellcheck": "false"})
    events = CheckboxesField("Events to send", choices=EVENT_CHOICES)
    description = TextAreaField("Description", render_kw={"maxlength": DESCRIPTION_MAX, "rows": 2})

    def values(self) -> dict:
        """The posted values, for the schema to validate (every message comes from it)."""
        return {"url": self.url.data or "", "events": list(self.events.data or []),
                "description": self.description.data or ""}


class EditEndpointForm(EndpointForm):
    enabled = BooleanField("Enabled (deliver events)")

    def values(self) -> dict:
        return {**super().values(), "enabled": bool(self.enabled.data)}
