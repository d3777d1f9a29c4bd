"""HEAD answers exactly like GET without a body, on every GET route of the app (finding 10:
HEAD /login answered 422 because the view took anything but GET for a submitted form)."""
import uuid

import pytest

from sureapp.extensions import db
from sureapp.models import Role
from sureapp.tenancy import services as tenancy

from .conftest import key_headers


def test_head_login_answers_like_get(client):
    get, head = client.get("/login"), client.head("/login")
    assert (head.status_code, head.data) == (200, b"")
    assert head.headers["Content-Length"] == str(len(get.data))


@pytest.fixture
def url_values(owner_workspace, seeded_ids):
    """A real value for every URL argument, so each page answers as it would for its owner."""
    owner, org, workspace = owner_workspace
    from sureapp.keys.services import create_key

    key, _ = create_key(workspace, "Shown", ["read"], actor=owner)
    _, token = tenancy.invite(owner, Role.OWNER, workspace, "guest@example.com", Role.MEMBER)
    db.session.commit()
    values = dict(seeded_ids, workspace_id=workspace.id, org_id=org.id, key_id=key.id,
                  token=token, filename="js/app.js")
    # lists.* and tags.* name their id group_id.
    by_endpoint = {"lists": {"group_id": seeded_ids["list_id"]},
                   "tags": {"group_id": seeded_ids["tag_id"]}}
    return owner, values, by_endpoint


def test_every_get_route_answers_head_like_get(app, client, login, url_values, api_keys):
    owner, values, by_endpoint = url_values
    login(owner)
    headers = key_headers(api_keys["all"])
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        blueprint = rule.endpoint.partition(".")[0]
        args = {name: by_endpoint.get(blueprint, {}).get(name, values.get(name, uuid.uuid4()))
                for name in rule.arguments}
        path = app.url_for(rule.endpoint, **args, _external=False)
        get = client.get(path, headers=headers if path.startswith("/api/") else {})
        head = client.head(path, headers=headers if path.startswith("/api/") else {})
        assert head.status_code == get.status_code, path
        assert head.data == b"", path
        assert head.headers.get("Content-Type") == get.headers.get("Content-Type"), path
        if get.status_code == 200 and not get.is_streamed:
            assert head.headers.get("Content-Length") == str(len(get.data)), path
        checked += 1
    assert checked >= 50  # every GET route, not a handful
