"""The campaign form (new and edit). It carries values; the rules (lengths, addresses, merge tags,
which lists, what a started campaign may still change) are the schemas' and the services',
whose messages show inline."""
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..web import LocalDateTimeField


class CampaignForm(FlaskForm):
    name = StringField("Name", render_kw={"autocomplete": "off"})
    subject = StringField("Subject", render_kw={"autocomplete": "off"})
    from_name = StringField("From name", render_kw={"autocomplete": "off"})
    from_email = StringField("From email", render_kw={"autocomplete": "off",
                                                      "list": "from-addresses"})
    content_html = TextAreaField("Content (HTML)", render_kw={"rows": 16, "spellcheck": "false",
                                                               "class": "mono"})
    # Unknown ids are the service's to refuse (another workspace's list is "No such list").
    list_ids = SelectMultipleField("Lists", choices=[], validate_choice=False,
                                   widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())
    scheduled_at = LocalDateTimeField("Send at")
    send_per_hour = IntegerField("Mails per hour", validators=[Optional()],
                                 render_kw={"min": 1, "inputmode": "numeric"})

    def offer(self, lists, counts) -> None:
        """The workspace's lists, each with its member count."""
        self.list_ids.choices = [
            (str(lst.id), f"{lst.name} ({counts.get(lst.id, 0):,} "
                          f"contact{'' if counts.get(lst.id, 0) == 1 else 's'})")
            for lst in lists]

    def show(self, campaign, tz_name: str) -> None:
        """Fill the form from a stored campaign (GET of the edit page)."""
        for name in ("name", "subject", "from_name", "from_email", "content_html",
                     "send_per_hour"):
            getattr(self, name).data = getattr(campaign, name)
        self.list_ids.data = [str(lst.id) for lst in campaign.lists]
        self.scheduled_at.show_utc(campaign.scheduled_at, tz_name)

    def values(self, tz_name: str) -> dict:
        """The fields as CampaignCreate takes them (a browser's CRLF line ends become LF)."""
        return {"name": self.name.data or "", "subject": self.subject.data or "",
                "from_name": self.from_name.data or "", "from_email": self.from_email.data or "",
                "content_html": (self.content_html.data or "").replace("\r\n", "\n"),
                "list_ids": list(self.list_ids.data or []),
                "scheduled_at": self.scheduled_at.utc(tz_name),
                "send_per_hour": self.send_per_hour.data}
