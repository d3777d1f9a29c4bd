"""Fixtures for the keys tests (the key factory, make_key, is the suite's, in tests/conftest.py)."""
import pytest


@pytest.fixture
def keys_url():
    def url(workspace, suffix=""):
        return f"/w/{workspace.id}/settings/api-keys{suffix}"

    return url
