"""A workspace's SMTP connections: create, change, delete, and the test mail. Never commits.
The password is encrypted at once (transport.encrypt_password) and never read back here."""
import uuid

from flask import current_app

from .. import netguard
from ..errors import LimitExceeded, NotFound, ValidationFailed
from ..extensions import db
from ..models import SmtpConnection, Workspace
from ..tenancy.access import row_in_workspace
from . import transport
from .schemas import SmtpConnectionIn

MAX_CONNECTIONS = 10  # per workspace


def get_connection(workspace: Workspace, connection_id) -> SmtpConnection:
    connection = row_in_workspace(SmtpConnection, workspace.id, connection_id)
    if connection is None:
        raise NotFound("No such SMTP connection.")
    return connection


def _checked_host(data: SmtpConnectionIn) -> str:
    """The host as it will be dialled, refused unless netguard's rule allows its addresses."""
    try:
        host = netguard.normalize_host(data.host.strip().strip("[]"))
        netguard.resolve_addresses(host, data.port,
                                   allow_private=current_app.config["SMTP_ALLOW_PRIVATE_HOSTS"])
    except netguard.UnsafeURL as exc:
        raise ValidationFailed({"host": [exc.message]}) from None
    return host


def _apply(connection: SmtpConnection, data: SmtpConnectionIn) -> None:
    connection.name, connection.host = data.name, _checked_host(data)
    connection.port, connection.tls_mode = data.port, data.tls_mode
    connection.username = data.username.strip()
    connection.from_addresses = list(dict.fromkeys(data.from_addresses))
    connection.mails_per_minute = data.mails_per_minute
    if data.password:  # blank keeps the stored password
        connection.password_encrypted = transport.encrypt_password(data.password)
    if not connection.username:
        connection.password_encrypted = None  # a password without a user is never sent


def create_connection(workspace: Workspace, data: SmtpConnectionIn) -> SmtpConnection:
    if len(transport.connections(workspace.id)) >= MAX_CONNECTIONS:
        raise LimitExceeded(f"A workspace can have at most {MAX_CONNECTIONS} SMTP connections.",
                            limit=MAX_CONNECTIONS)
    if data.username.strip() and not data.password:
        raise ValidationFailed({"password": ["Enter the password for this user."]})
    connection = SmtpConnection(id=uuid.uuid4(), workspace_id=workspace.id, sent_in_window=0)
    _apply(connection, data)
    db.session.add(connection)
    db.session.flush()
    return connection


def update_connection(workspace: Workspace, connection_id, data: SmtpConnectionIn
                      ) -> SmtpConnection:
    connection = get_connection(workspace, connection_id)
    _apply(connection, data)
    if connection.username and connection.password_encrypted is None:
        raise ValidationFailed({"password": ["Enter the password for this user."]})
    db.session.flush()
    return connection


def delete_connection(workspace: Workspace, connection_id) -> None:
    db.session.delete(get_connection(workspace, connection_id))
    db.session.flush()


def send_test_mail(workspace: Workspace, connection_id, to: str) -> transport.Outcome:
    """A short mail to `to` through this connection (as its first address)."""
    connection = get_connection(workspace, connection_id)
    return transport.send_on(connection, connection.default_sender or f"test{connection.from_addresses[0]}",
                             to, f"Test mail from sureapp ({connection.name})",
                             f"This is a test mail from the SMTP connection {connection.name!r} "
                             f"of the workspace {workspace.name!r}. It arrived, so the "
                             "connection works.\n")
