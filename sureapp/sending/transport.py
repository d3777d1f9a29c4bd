"""The one way mail to a contact leaves: on the workspace's SMTP connection, else on SMTP_URL.

`send` never raises for what the server or the network does: it answers an Outcome —
sent; bounced (a 5xx for the recipient: the address does not take mail; the caller marks the
contact bounced); failed (`retry` says whether trying later can help: 4xx, network, the
sender's rate used up, with `retry_after`: not an attempt, the caller waits and sends it again). It raises SendingUnavailable when the workspace
cannot send at all (no connection and no SMTP_URL, a From address no connection allows, a
password that can no longer be read): callers refuse before they start.

Call it with no write pending (commit first): it reads through the caller's session but takes its
rate slot on a database connection of its own (one conditional UPDATE, so every worker shares a
sender's rate: a connection's `mails_per_minute`, or SMTP_RATE_PER_MINUTE for SMTP_URL), and it
waits on the network.
Nothing here logs a password, a recipient or a body: only the failure's type.
"""
import logging
import smtplib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import mail, netguard, secretbox
from ..errors import Conflict
from ..extensions import db
from ..models import SmtpConnection, SmtpRateWindow
from ..timeutil import utcnow

log = logging.getLogger(__name__)

PASSWORD_PURPOSE = b"sureapp smtp passwords v1"
RATE_WINDOW = timedelta(minutes=1)
INSTANCE_WINDOW = "smtp_url"  # SMTP_URL's row of smtp_rate_windows
# DATA answers that say the mailbox itself is the problem; other 5xx (552 size, 554 policy)
# reject this message, not the address, so the contact is not marked bounced for them.
MAILBOX_CODES = frozenset({550, 551, 553})


class SendingUnavailable(Conflict):
    """This workspace cannot send mail (the message says why and what to do)."""


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent" | "bounced" | "failed"
    error: str = ""  # our words, with the server's code; never a secret
    code: int | None = None  # the SMTP reply code, when the server gave one
    retry: bool = False  # failed: trying again later may succeed
    retry_after: float | None = None  # seconds, when the sender's rate is used up
    # The connection itself is refused (login, From address): every mail would fail alike, so
    # a bulk sender stops instead of spending each recipient's retries.
    blocking: bool = False

    @property
    def sent(self) -> bool:
        return self.status == "sent"


def encrypt_password(password: str) -> str:
    return secretbox.encrypt(password, current_app.config["SECRET_KEY"], purpose=PASSWORD_PURPOSE)


def _password(connection: SmtpConnection) -> str | None:
    if connection.password_encrypted is None:
        return None
    try:
        return secretbox.decrypt(connection.password_encrypted, current_app.config["SECRET_KEY"],
                                 purpose=PASSWORD_PURPOSE)
    except secretbox.Unreadable:
        raise SendingUnavailable(f"The password of the SMTP connection {connection.name!r} can "
                                 "no longer be read (the server's SECRET_KEY changed); enter it "
                                 "again in Settings → Sending.") from None


def settings_of(connection: SmtpConnection) -> mail.SmtpSettings:
    return mail.SmtpSettings(host=connection.host, port=connection.port,
                             implicit_tls=connection.tls_mode == "tls",
                             starttls=connection.tls_mode == "starttls",
                             username=connection.username or None,
                             password=_password(connection))


def connections(workspace_id: uuid.UUID) -> list[SmtpConnection]:
    return list(db.session.scalars(select(SmtpConnection).where(
        SmtpConnection.workspace_id == workspace_id).order_by(SmtpConnection.created_at,
                                                              SmtpConnection.id)))


def can_send(workspace_id: uuid.UUID) -> bool:
    """Is there anything to send on (a connection of the workspace, or SMTP_URL)?"""
    return bool(current_app.config.get("SMTP_URL")) or bool(connections(workspace_id))


def pick_connection(workspace_id: uuid.UUID, from_addr: str | None
                    ) -> tuple[SmtpConnection | None, str]:
    """The connection that sends as `from_addr` (None: the first connection and its first
    address), and the From address to use; (None, …) means SMTP_URL. SendingUnavailable when
    nothing may send it."""
    found = connections(workspace_id)
    if not found:
        if not current_app.config.get("SMTP_URL"):
            raise SendingUnavailable("No SMTP server is set up: add an SMTP connection in "
                                     "Settings → Sending (or set SMTP_URL) to send mail.")
        return None, current_app.config["MAIL_FROM"]
    if from_addr:
        for connection in found:
            if connection.allows_sender(from_addr):
                return connection, from_addr
        raise SendingUnavailable(f"No SMTP connection of this workspace may send as "
                                 f"{from_addr}; add the address to a connection's allowed From "
                                 "addresses in Settings → Sending.")
    for connection in found:
        if connection.default_sender:
            return connection, connection.default_sender
    raise SendingUnavailable("No SMTP connection names a From address; add one in "
                             "Settings → Sending.")


def _take_slot(window, row_id, rate, now: datetime) -> float | None:
    """Count one mail against a sender's rate; None if admitted, else seconds to wait. `window`
    is the model holding the sender's fixed window (SmtpConnection: its own row and its
    `mails_per_minute`; SmtpRateWindow: SMTP_URL's row and SMTP_RATE_PER_MINUTE), `rate` a
    column or a number: one rule for every sender, one conditional UPDATE shared by every
    worker."""
    window_over = or_(window.window_started_at.is_(None),
                      window.window_started_at <= now - RATE_WINDOW)
    admit = (update(window)
             .where(window.id == row_id, or_(window_over, window.sent_in_window < rate))
             .values(window_started_at=case((window_over, now),
                                            else_=window.window_started_at),
                     sent_in_window=case((window_over, 1), else_=window.sent_in_window + 1)))
    with db.engine.begin() as conn:
        admitted = conn.execute(admit).rowcount
        if not admitted and window is SmtpRateWindow and conn.scalar(
                select(func.count()).where(window.id == row_id)) == 0:
            # SMTP_URL's row is written on its first mail (an install that never used it has none).
            insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
            conn.execute(insert(window).values(id=row_id, sent_in_window=0)
                         .on_conflict_do_nothing())
            admitted = conn.execute(admit).rowcount
        if admitted:
            return None
        started = conn.scalar(select(window.window_started_at).where(window.id == row_id))
    if started is None:
        return 1.0
    # Never longer than a window (a window started by a clock ahead of this one).
    return min(max((started + RATE_WINDOW - now).total_seconds(), 0.1),
               RATE_WINDOW.total_seconds())


def _rate_used_up(wait: float) -> Outcome:
    return Outcome("failed", "The SMTP server's rate (mails per minute) is used up.", retry=True,
                   retry_after=wait)


def _classify(exc: Exception) -> Outcome:
    """What a failed hand-over means for the recipient and for retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, _message = next(iter(exc.recipients.values()), (None, b""))
        if code and 500 <= code < 600:
            return Outcome("bounced", f"The server refused the address ({code}).", code)
        return Outcome("failed", f"The server deferred the address ({code}).", code, retry=True)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Outcome("failed", f"The SMTP server refused the login ({exc.smtp_code}); check "
                       "the user and password in Settings → Sending.", exc.smtp_code, retry=True,
                       blocking=True)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return Outcome("failed", f"The SMTP server refused the From address ({exc.smtp_code}).",
                       exc.smtp_code, retry=True, blocking=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        if 500 <= code < 600 and code in MAILBOX_CODES:
            return Outcome("bounced", f"The server refused the mailbox ({code}).", code)
        if 500 <= code < 600:
            return Outcome("failed", f"The server rejected the message ({code}).", code)
        return Outcome("failed", f"The server answered {code}; trying again later.", code,
                       retry=True)
    if isinstance(exc, netguard.UnsafeURL):
        return Outcome("failed", exc.message, retry=True)
    if isinstance(exc, (TimeoutError, ConnectionError, smtplib.SMTPServerDisconnected)):
        return Outcome("failed", "The SMTP server could not be reached; trying again later.",
                       retry=True)
    if isinstance(exc, OSError):  # TLS errors (certificate), refused connections, DNS
        return Outcome("failed", f"The connection to the SMTP server failed "
                       f"({type(exc).__name__}); trying again later.", retry=True)
    return Outcome("failed", f"The mail could not be handed over ({type(exc).__name__}).",
                   retry=True)


def send(workspace_id: uuid.UUID, to: str, subject: str, text: str, *,
         headers: Mapping[str, str] | None = None, from_addr: str | None = None,
         from_name: str = "", html: str | None = None, now: datetime | None = None) -> Outcome:
    """Send one mail to `to` as `from_addr` (None: the connection's first address; `from_name`
    its display name) with an optional HTML alternative; see the module docstring for what the
    Outcome means. `now` (the caller's clock, injected by tests) places it in a rate window."""
    connection, sender = pick_connection(workspace_id, from_addr)
    if connection is not None:
        return send_on(connection, sender, to, subject, text, headers=headers,
                       from_name=from_name, html=html, now=now)
    try:
        settings = mail.smtp_settings(current_app.config["SMTP_URL"])
    except ValueError as exc:
        raise SendingUnavailable(f"The server's SMTP_URL setting is not valid: {exc}") from None
    wait = _take_slot(SmtpRateWindow, INSTANCE_WINDOW, current_app.config["SMTP_RATE_PER_MINUTE"],
                      now or utcnow())
    if wait is not None:
        return _rate_used_up(wait)
    headers = dict(headers or {})
    if from_addr and from_addr.lower() != sender.lower():
        headers.setdefault("Reply-To", from_addr)  # the instance's server sends as MAIL_FROM
    return _hand_over(settings, (), sender, to, subject, text, headers, from_name, html)


def send_on(connection: SmtpConnection, sender: str, to: str, subject: str, text: str, *,
            headers: Mapping[str, str] | None = None, from_name: str = "",
            html: str | None = None, now: datetime | None = None) -> Outcome:
    """Send through this connection as `sender` (the test mail; `send` picks the connection)."""
    settings = settings_of(connection)
    wait = _take_slot(SmtpConnection, connection.id, SmtpConnection.mails_per_minute,
                      now or utcnow())
    if wait is not None:
        return _rate_used_up(wait)
    try:
        addresses = netguard.resolve_addresses(
            settings.host, settings.port,
            allow_private=current_app.config["SMTP_ALLOW_PRIVATE_HOSTS"])
    except netguard.UnsafeURL as exc:
        return _failed(exc)
    return _hand_over(settings, addresses, sender, to, subject, text, headers, from_name, html)


def _failed(exc: Exception) -> Outcome:
    outcome = _classify(exc)
    log.warning("A mail to a contact was not sent: %s (%s)", type(exc).__name__, outcome.status)
    return outcome


def _hand_over(settings, addresses, sender, to, subject, text, headers, from_name, html
               ) -> Outcome:
    shown_sender = formataddr((from_name, sender)) if from_name else sender
    try:
        message = mail.build_message(to, subject, text, headers, html=html, sender=shown_sender)
        mail.deliver(settings, message, addresses=addresses)
    except (OSError, smtplib.SMTPException) as exc:
        return _failed(exc)
    return Outcome("sent")
