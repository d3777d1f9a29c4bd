"""Sending tests: the API tests' workspace and keyed clients, SMTP connections pointing at the
`smtp_server` fixture (a real aiosmtpd on 127.0.0.1), and campaigns ready to send."""
import pytest

from sureapp.extensions import db
from sureapp.models import SmtpConnection
from sureapp.sending.transport import encrypt_password
from tests.api.conftest import api, api_as, full_key, other_workspace, owner, workspace  # noqa: F401
from tests.conftest import SMTP_PASSWORD, SMTP_USERNAME


@pytest.fixture
def app_config():
    return {"SMTP_ALLOW_PRIVATE_HOSTS": True, "PUBLIC_URL": "http://localhost"}


@pytest.fixture
def make_connection(app):
    def make(workspace, server, *, from_addresses=("news@example.com",), mails_per_minute=600,
             login=True, name="Test relay"):
        connection = SmtpConnection(
            workspace_id=workspace.id, name=name, host="127.0.0.1", port=server.port,
            tls_mode="none", username=SMTP_USERNAME if login else "",
            password_encrypted=encrypt_password(SMTP_PASSWORD) if login else None,
            from_addresses=list(from_addresses), mails_per_minute=mails_per_minute)
        db.session.add(connection)
        db.session.commit()
        return connection

    return make


@pytest.fixture
def make_campaign(app):
    from sureapp.campaigns import services
    from sureapp.campaigns.schemas import CampaignCreate

    def make(workspace, lists, **fields):
        data = {"name": "Launch", "subject": "{Hi|Hello} {{ first_name | default: \"there\" }}",
                "content_html": "<p>Dear {{ first_name | default: \"friend\" }},</p>"
                                "<p>{{ company }} news.</p>",
                "from_email": "news@example.com", "from_name": "Acme News",
                "list_ids": [lst.id for lst in lists]} | fields
        campaign = services.create_campaign(workspace, CampaignCreate(**data))
        db.session.commit()
        return campaign

    return make
