"""Fixtures for the contacts UI tests: a workspace with a user per role, another workspace
(for cross-workspace attacks) and a client per role (the contact, list and tag factories are the
suite's, in tests/conftest.py)."""
import pytest

from sureapp.models import Role


@pytest.fixture
def ws(workspace_with_roles):
    """(workspace, {'owner','admin','manager','member': user})."""
    return workspace_with_roles


@pytest.fixture
def other_ws(make_user, make_org):
    """A workspace of another organization (the target of cross-workspace attacks)."""
    owner = make_user(email="stranger@example.com")
    _, workspace = make_org(owner, name="Other Org", workspace_name="Elsewhere")
    return workspace


@pytest.fixture
def as_role(ws, login, app):
    """A test client logged in as the given role of `ws`."""
    def client_for(role: str):
        return login(ws[1][role], as_client=app.test_client())

    return client_for


ROLES = [r.slug for r in (Role.MEMBER, Role.MANAGER, Role.ADMIN, Role.OWNER)]
