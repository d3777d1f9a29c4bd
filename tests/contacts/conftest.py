"""Fixtures for the contacts UI tests: a workspace with a user per role, another workspace
(for cross-workspace attacks), and factories for contacts, lists and tags."""
import uuid

import pytest

from sureapp.contacts import lists, services, tags
from sureapp.contacts.schemas import ContactCreate, ListCreate, TagCreate
from sureapp.extensions import db
from sureapp.models import Contact, ContactList, Role, Tag


@pytest.fixture
def ws(workspace_with_roles):
    """(workspace, {'owner','admin','manager','member': user})."""
    return workspace_with_roles


@pytest.fixture
def other_ws(make_user, make_org):
    """A workspace of another organization, with its own contact, list and tag."""
    owner = make_user(email="stranger@example.com")
    _, workspace = make_org(owner, name="Other Org", workspace_name="Elsewhere")
    return workspace


@pytest.fixture
def make_contact(app):
    def make(workspace, email=None, **fields) -> Contact:
        data = ContactCreate(email=email or f"c-{uuid.uuid4().hex[:8]}@example.com", **fields)
        contact = services.create_contact(workspace, data, source="Test")
        db.session.commit()
        return contact

    return make


@pytest.fixture
def make_list(app):
    def make(workspace, name="Newsletter", members=()) -> ContactList:
        item = lists.create_list(workspace, ListCreate(name=name))
        if members:
            lists.add_contacts_to_list(workspace, item, [c.id for c in members], "Test")
        db.session.commit()
        return item

    return make


@pytest.fixture
def make_tag(app):
    def make(workspace, name="VIP", color="#dc2626", members=()) -> Tag:
        tag = tags.create_tag(workspace, TagCreate(name=name, color=color))
        if members:
            tags.add_contacts_to_tag(workspace, tag, [c.id for c in members], "Test")
        db.session.commit()
        return tag

    return make


@pytest.fixture
def as_role(ws, login, app):
    """A test client logged in as the given role of `ws`."""
    def client_for(role: str):
        return login(ws[1][role], as_client=app.test_client())

    return client_for


ROLES = [r.slug for r in (Role.MEMBER, Role.MANAGER, Role.ADMIN, Role.OWNER)]
