"""Factories for the keys tests."""
import pytest

from sureapp.extensions import db
from sureapp.keys import services


@pytest.fixture
def make_key(app):
    def make(workspace, name="Zapier", abilities=("read",), **options):
        """A key created through the service, committed; returns (key, plaintext)."""
        key, plaintext = services.create_key(workspace, name, abilities, **options)
        db.session.commit()
        return key, plaintext

    return make


@pytest.fixture
def keys_url():
    def url(workspace, suffix=""):
        return f"/w/{workspace.id}/settings/api-keys{suffix}"

    return url


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """These tests log users in through the session, never by password: skip scrypt's cost."""
    from werkzeug.security import generate_password_hash

    from sureapp.auth import services as auth_services

    monkeypatch.setattr(auth_services, "generate_password_hash",
                        lambda password: generate_password_hash(password, "pbkdf2:sha256:1"))
