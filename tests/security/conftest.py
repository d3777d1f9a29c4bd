"""Fixtures for the security suite: a seeded workspace with keys of every ability, a counter of
SQL statements, and helpers that build requests the way an attacker would."""
import uuid

import pytest

from sureapp.extensions import db

# Every ability combination a schemathesis/abuse test needs, by the name tests use.
KEY_ABILITIES = {
    "read": ["read"],
    "read_write": ["read", "write"],
    "all": ["read", "write", "delete"],
}


@pytest.fixture
def owner_workspace(make_user, make_org):
    """(owner, org, workspace): a workspace owned by a fresh user."""
    owner = make_user(email=f"owner-{uuid.uuid4().hex[:6]}@example.com")
    org, workspace = make_org(owner)
    return owner, org, workspace


@pytest.fixture
def api_keys(app, owner_workspace):
    """{"read": plaintext, "read_write": …, "all": …} for keys in `owner_workspace`."""
    from sureapp.keys.services import create_key

    owner, _, workspace = owner_workspace
    keys = {}
    for name, abilities in KEY_ABILITIES.items():
        _, plaintext = create_key(workspace, f"{name} key", abilities, actor=owner)
        keys[name] = plaintext
    db.session.commit()
    return keys


def key_headers(plaintext: str) -> dict[str, str]:
    return {"X-API-Key": plaintext}


SEED_REQUESTS = {
    # path parameter name → (collection, body) created through the API itself
    "list_id": ("/api/v1/lists", {"name": "Seed list"}),
    "tag_id": ("/api/v1/tags", {"name": "Seed tag"}),
    "campaign_id": ("/api/v1/campaigns", {"name": "Seed campaign", "subject": "Hello"}),
    "automation_id": ("/api/v1/automations", {"name": "Seed automation",
                                              "trigger": "contact_created"}),
}


@pytest.fixture
def seeded_ids(app, api_keys):
    """One of every resource in the keys' workspace, made through the API: {"contact_id": …}."""
    client = app.test_client()
    headers = key_headers(api_keys["all"])
    ids = {}
    for param, (path, body) in SEED_REQUESTS.items():
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, (path, response.get_json())
        ids[param] = response.get_json()["id"]
    response = client.post("/api/v1/contacts", headers=headers, json={
        "email": "seed@example.com", "first_name": "Seed", "list_ids": [ids["list_id"]],
        "tag_ids": [ids["tag_id"]], "custom_fields": {"plan": "pro"}})
    assert response.status_code == 201, response.get_json()
    ids["contact_id"] = response.get_json()["id"]
    return ids


def sqlite_only():
    """For a module whose subject never reaches the database layer (headers, CSRF, redirects,
    key parsing before lookup): `backend = sqlite_only()` runs it once, not per backend."""
    @pytest.fixture(params=["sqlite"])
    def backend(request):
        return request.param

    return backend
