"""Fixtures for the JSON API: workspaces with keys, and a client that sends a key (the keyauth/
and usage/ tests reuse them from here)."""
import pytest



@pytest.fixture
def owner(make_user):
    return make_user(email="api-owner@example.com")


@pytest.fixture
def workspace(owner, make_org):
    return make_org(owner, name="Acme", workspace_name="Main")[1]


@pytest.fixture
def other_workspace(make_user, make_org):
    return make_org(make_user(email="other-owner@example.com"), name="Other", workspace_name="B")[1]


@pytest.fixture
def full_key(workspace, make_key):
    """Plaintext of a read+write+delete key of `workspace`."""
    return make_key(workspace)[1]


class ApiClient:
    """Calls /api/v1 with a key in X-API-Key (default) or Authorization: Bearer."""

    def __init__(self, client, key=None, style="x-api-key"):
        self.client, self.key, self.style = client, key, style

    def headers(self, extra=None):
        headers = {}
        if self.key is not None:
            if self.style == "bearer":
                headers["Authorization"] = f"Bearer {self.key}"
            else:
                headers["X-API-Key"] = self.key
        headers.update(extra or {})
        return headers

    def request(self, method, path, json=None, headers=None, **kwargs):
        url = path if path.startswith("/") and path.startswith("/api") else f"/api/v1{path}"
        return self.client.open(url, method=method, json=json, headers=self.headers(headers),
                                **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api_as(client):
    def make(key, style="x-api-key"):
        return ApiClient(client, key, style)

    return make


@pytest.fixture
def api(api_as, full_key):
    """A client holding a full-ability key of `workspace`."""
    return api_as(full_key)


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body
