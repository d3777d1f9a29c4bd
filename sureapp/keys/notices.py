"""Telling people about their keys (expiry reminders, leaked-key revocations): who is told, and
the one way they are mailed. Each notice is also shown as a banner on the API Keys page, so it
reaches the workspace without SMTP too."""
from ..links import external_url
from ..mail import mail_configured, send_mail
from ..models import ApiKey, Role, User, Workspace
from ..tenancy.services import workspace_members


def recipients(workspace: Workspace, creator: User | None) -> list[str]:
    """The emails to tell about a key: its creator (while they can still open the workspace)
    and everyone who manages the workspace's keys (Managers, Org Admins, the Owner)."""
    members = workspace_members(workspace)
    allowed = {m.user.id for m in members}
    emails = [m.user.email for m in members if m.role >= Role.MANAGER]
    if creator is not None and creator.id in allowed and creator.email not in emails:
        emails.insert(0, creator.email)
    return emails


def keys_page_link(workspace: Workspace) -> str:
    """The API Keys page as a link for a mail (empty while no public address is known)."""
    return external_url("keys.index", workspace_id=workspace.id) or ""


def mail_about(key: ApiKey, subject: str, text: str, kind: str) -> int:
    """Mail `text` to the key's recipients, one mail each (nobody sees the others' addresses);
    returns how many the server accepted. Never carries the key string: its masked form only."""
    if not mail_configured():
        return 0
    sent = 0
    for email in recipients(key.workspace, key.created_by):
        sent += send_mail(email, subject, text, headers={"X-Sureapp-Notice": kind})
    return sent
