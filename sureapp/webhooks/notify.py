"""Telling a workspace's managers that an endpoint was disabled automatically: the Webhooks page
and the dashboard show a banner (every endpoint with a `disabled_reason`), and each person who
may manage webhooks gets a mail when SMTP is configured (sureapp/mail.py)."""
from flask import current_app

from .. import mail, policy
from ..extensions import db
from ..links import external_url
from ..models import WebhookEndpoint, Workspace
from ..tenancy.services import workspace_members


def endpoint_disabled(endpoint_id) -> int:
    """Mail the managers about a disabled endpoint (after its commit); returns mails sent."""
    if not mail.mail_configured():
        return 0
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return 0
    workspace = db.session.get(Workspace, endpoint.workspace_id)
    link = ""
    if current_app.config.get("PUBLIC_URL"):  # no request here: only PUBLIC_URL can tell
        with current_app.test_request_context():
            link = external_url("webhooks.show", workspace_id=workspace.id,
                                endpoint_id=endpoint.id)
    sent = 0
    for member in workspace_members(workspace):
        if not policy.can(member.role, policy.Permission.MANAGE_WEBHOOKS):
            continue
        text = (f"The webhook endpoint {endpoint.url} of the workspace \"{workspace.name}\" "
                f"was disabled.\n\n{endpoint.disabled_reason}\n\n"
                "No events are sent to it until someone enables it again in Settings → "
                f"Developer → Webhooks.\n{link}\n")
        sent += mail.send_mail(member.user.email, f"Webhook disabled in {workspace.name}", text)
    return sent
