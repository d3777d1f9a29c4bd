"""Sending tests: a workspace, its contacts, and SMTP connections pointing at the `smtp_server`
fixture (a real aiosmtpd on 127.0.0.1)."""
import pytest

from sureapp.extensions import db
from sureapp.models import SmtpConnection
from sureapp.sending.transport import encrypt_password
from tests.conftest import SMTP_PASSWORD, SMTP_USERNAME


@pytest.fixture
def app_config():
    return {"SMTP_ALLOW_PRIVATE_HOSTS": True}


@pytest.fixture
def workspace(make_user, make_org):
    owner = make_user(email="owner@example.com")
    _org, workspace = make_org(owner)
    return workspace


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
