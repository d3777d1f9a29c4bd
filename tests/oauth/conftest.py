"""OAuth test helpers: a workspace with people in every role, a registered client, PKCE pairs,
and the flow driven through the Flask test client as a client and a browser would."""
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sureapp.oauth.grants import pkce_challenge

REDIRECT_URI = "http://127.0.0.1:8765/callback"
RESOURCE = "http://localhost/mcp"
MCP_HEADERS = {"Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25"}


@pytest.fixture
def people(workspace_with_roles):
    """(workspace, {'owner','admin','manager','member'}: users)."""
    return workspace_with_roles


def new_pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)


class OAuthDriver:
    """The flow step by step through the test client (`client`), signed in as whoever the test
    logged in."""

    def __init__(self, client):
        self.client = client

    def register(self, **metadata) -> dict:
        body = {"client_name": "Claude", "redirect_uris": [REDIRECT_URI],
                "token_endpoint_auth_method": "none", **metadata}
        response = self.client.post("/oauth/register", json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json

    def authorize_query(self, client_id: str, challenge: str, **overrides) -> str:
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
                  "state": "xyz-state", "code_challenge": challenge,
                  "code_challenge_method": "S256", "scope": "read write delete",
                  "resource": RESOURCE, **overrides}
        return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})

    def new_request(self, **overrides) -> str:
        """The authorization request URL of a newly registered client (its PKCE verifier is
        not kept: for requests that must not get as far as a token)."""
        registered = self.register()
        return self.authorize_query(registered["client_id"], new_pkce()[1], **overrides)

    def allow(self, url: str, workspace, abilities=("read", "write", "delete")):
        return self.client.post(url, data={"workspace_id": str(workspace.id), "decision": "allow",
                                           "abilities": list(abilities)})

    def code_for(self, client_id: str, workspace, abilities=("read", "write", "delete"),
                 **overrides) -> tuple[str, str]:
        """(code, verifier) after Allow."""
        verifier, challenge = new_pkce()
        response = self.allow(self.authorize_query(client_id, challenge, **overrides), workspace,
                              abilities)
        assert response.status_code == 303, response.get_data(as_text=True)
        query = redirect_query(response)
        assert query["state"] == "xyz-state"
        return query["code"], verifier

    def token(self, **form):
        return self.client.post("/oauth/token", data=form)

    def exchange(self, client_id: str, code: str, verifier: str, **overrides):
        form = {"grant_type": "authorization_code", "client_id": client_id, "code": code,
                "code_verifier": verifier, "redirect_uri": REDIRECT_URI, "resource": RESOURCE}
        return self.token(**{**form, **overrides})

    def refresh(self, client_id: str, refresh_token: str, **extra):
        return self.token(grant_type="refresh_token", client_id=client_id,
                          refresh_token=refresh_token, **extra)

    def connect(self, workspace, abilities=("read", "write", "delete")) -> tuple[dict, dict]:
        """(registered client, token response) of a whole flow."""
        registered = self.register()
        code, verifier = self.code_for(registered["client_id"], workspace, abilities)
        response = self.exchange(registered["client_id"], code, verifier)
        assert response.status_code == 200, response.get_data(as_text=True)
        return registered, response.json

    def mcp(self, token: str, method: str = "tools/list", params=None):
        return self.client.post("/mcp", data=json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}),
            headers={**MCP_HEADERS, "Authorization": f"Bearer {token}",
                     "Content-Type": "application/json"})


def redirect_query(response) -> dict[str, str]:
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def oauth(client):
    return OAuthDriver(client)


def codes_issued() -> int:
    from sqlalchemy import func, select

    from sureapp.extensions import db
    from sureapp.models import OAuthCode

    return db.session.scalar(select(func.count()).select_from(OAuthCode))
