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
