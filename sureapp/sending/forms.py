"""The SMTP connection form. It only parses input; the rules are the schema's and services'."""
import re

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TextAreaField

TLS_CHOICES = [("starttls", "STARTTLS (port 587)"), ("tls", "TLS from the start (port 465)"),
               ("none", "None (port 25; only on a trusted network)")]


class SmtpConnectionForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 255, "autofocus": True,
                                          "placeholder": "e.g. Postmark"})
    host = StringField("Host", render_kw={"maxlength": 255, "autocomplete": "off",
                                          "spellcheck": "false", "placeholder": "smtp.example.com"})
    port = StringField("Port", render_kw={"inputmode": "numeric", "maxlength": 5})
    tls_mode = SelectField("Encryption", choices=TLS_CHOICES, default="starttls")
    username = StringField("User name", render_kw={"maxlength": 255, "autocomplete": "off",
                                                   "spellcheck": "false"})
    # Never rendered with a value: the stored password is not shown again.
    password = PasswordField("Password", render_kw={"maxlength": 1024,
                                                    "autocomplete": "new-password"})
    from_addresses = TextAreaField("Allowed From addresses", render_kw={
        "rows": 3, "spellcheck": "false", "placeholder": "news@example.com\n@example.com"})
    mails_per_minute = StringField("Mails per minute", default="60",
                                   render_kw={"inputmode": "numeric", "maxlength": 5})

    def values(self) -> dict:
        """The posted values, for the schema to validate (every message comes from it)."""
        tls_mode = self.tls_mode.data or "starttls"
        port = (self.port.data or "").strip() or {"starttls": 587, "tls": 465}.get(tls_mode, 25)
        return {"name": self.name.data or "", "host": self.host.data or "", "port": port,
                "tls_mode": tls_mode, "username": self.username.data or "",
                "password": self.password.data or None,
                "from_addresses": [a for a in re.split(r"[\s,;]+", self.from_addresses.data or "")
                                   if a],
                "mails_per_minute": (self.mails_per_minute.data or "").strip() or 60}
