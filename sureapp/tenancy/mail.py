"""Invitation mails over SMTP (SMTP_URL); without it, the inviter shares the link by hand."""
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)


def smtp_settings(url: str) -> dict:
    """smtp://[user:pass@]host[:port][?starttls=1] or smtps://… (implicit TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:pass@host:587?starttls=1")
    query = parse_qs(parts.query)
    return {
        "ssl": parts.scheme == "smtps",
        "starttls": query.get("starttls", ["0"])[0].lower() in {"1", "true", "yes"},
        "host": parts.hostname,
        "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


def send_invitation(to: str, workspace_name: str, inviter: str, role_label: str, link: str) -> bool:
    """Mail the link when SMTP_URL is set; True if sent. Failures are logged (never the link)."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        return False
    message = EmailMessage()
    message["Subject"] = f"{inviter} invited you to {workspace_name} on sureapp"
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message.set_content(
        f"{inviter} invited you to join the workspace \"{workspace_name}\" as {role_label}.\n\n"
        f"Accept the invitation:\n{link}\n\n"
        "The link works once and expires in 7 days. If you did not expect it, ignore this mail.\n"
    )
    try:
        settings = smtp_settings(url)
        smtp_class = smtplib.SMTP_SSL if settings["ssl"] else smtplib.SMTP
        with smtp_class(settings["host"], settings["port"], timeout=10) as smtp:
            if settings["starttls"]:
                smtp.starttls()
            if settings["username"]:
                smtp.login(settings["username"], settings["password"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        log.warning("Invitation mail to %s could not be sent: %s", to, type(exc).__name__)
        return False
    return True
