"""Outgoing mail over SMTP. `send_mail` is the instance's own mail (invitations, reminders) over
the SMTP_URL setting: without it nothing is sent and callers show what they would have mailed in
the page instead. `build_message` and `deliver` are the one way any mail is built and handed to
an SMTP server; sending/transport.py uses them for mail to contacts on a workspace's connection.

SMTP_URL: smtp://[user:pass@]host[:port][?starttls=1] or smtps://… (implicit TLS). TLS always
verifies the server's certificate against the system's trust store. Nothing here ever logs the
password, a recipient's message or its body — only the failure's type."""
import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # a settings object in a traceback must not show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.username!r})"


def smtp_settings(url: str) -> SmtpSettings:
    """Parse SMTP_URL; ValueError names what is wrong (never echoing the URL, it holds a password)."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:pass@host:587?starttls=1")
    query = parse_qs(parts.query)
    implicit_tls = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        starttls=query.get("starttls", ["0"])[0].lower() in {"1", "true", "yes"},
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def mail_configured() -> bool:
    """True when SMTP_URL is set (mail is attempted); features say so in the UI when it is not."""
    return bool(current_app.config.get("SMTP_URL"))


def _one_line(value: str) -> str:
    # A header value with a line break would let a name or subject forge more headers.
    return " ".join(str(value).split())


def build_message(to: str, subject: str, text: str, headers: Mapping[str, str] | None = None,
                  *, sender: str | None = None, html: str | None = None) -> EmailMessage:
    """A plain-text mail (with an HTML alternative when `html` is given) from `sender`
    (default MAIL_FROM); `headers` are added or replace ours, each on one line."""
    sender = sender or current_app.config["MAIL_FROM"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = _one_line(to)
    message["Subject"] = _one_line(subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or "localhost")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    for name, value in (headers or {}).items():
        del message[name]
        message[name] = _one_line(value)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


class _PinnedSMTP(smtplib.SMTP):
    """Dials the address the caller checked (netguard), while the host name stays the one TLS
    verifies the certificate against."""

    def __init__(self, address: str, *args, **kwargs):
        self._address = address
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(self._address, port, timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, address: str, *args, **kwargs):
        self._address = address
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):  # wraps with server_hostname=self._host
        return super()._get_socket(self._address, port, timeout)


def _connect(settings: SmtpSettings, address: str | None, context: ssl.SSLContext
             ) -> smtplib.SMTP:
    if settings.implicit_tls:
        if address:
            return _PinnedSMTPSSL(address, settings.host, settings.port,
                                  timeout=SMTP_TIMEOUT_SECONDS, context=context)
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS,
                                context=context)
    if address:
        return _PinnedSMTP(address, settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    return smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)


def deliver(settings: SmtpSettings, message: EmailMessage, *,
            addresses: tuple[str, ...] = ()) -> None:
    """Hand one message to the server (TLS verified, login when a user is set). `addresses`:
    the checked addresses to dial, tried in order (else the host name is resolved). Raises
    smtplib.SMTPException / OSError: the caller decides what a failure means."""
    context = ssl.create_default_context()
    failure: OSError | None = None
    for address in addresses or (None,):
        try:
            smtp = _connect(settings, address, context)
        except (ConnectionError, TimeoutError) as exc:  # this address is down: try the next
            failure = exc
            continue
        with smtp:
            if settings.starttls and not settings.implicit_tls:
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
        return
    raise failure


def send_mail(to: str, subject: str, text: str, *, headers: Mapping[str, str] | None = None
              ) -> bool:
    """Send one plain-text mail to one address when SMTP_URL is set; True if the server took it.
    A failure is logged (its type only) and answers False: mail never breaks the caller."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        return False
    try:
        deliver(smtp_settings(url), build_message(to, subject, text, headers))
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        log.warning("A mail could not be sent: %s", type(exc).__name__)
        return False
    return True
