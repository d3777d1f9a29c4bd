"""Streamable HTTP transport rules on /mcp: methods, Origin, Accept, Content-Type, body size,
authentication, the per-key rate limit and CSRF exemption."""
import uuid
from datetime import timedelta

import pytest

from sureapp.extensions import db
from sureapp.timeutil import utcnow

MCP_ACCEPT = "application/json, text/event-stream"

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture
def key(make_key, workspace):
    return make_key(workspace, ("read",))[1]


def rpc_error(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    return body["error"]


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "PATCH", "HEAD"])
def test_only_post_is_offered(client, key, method):
    """No SSE stream (GET) and no sessions to end (DELETE): 405 with Allow: POST."""
    response = client.open("/mcp", method=method, headers={"X-API-Key": key, "Accept": MCP_ACCEPT})
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_options_says_what_is_offered_without_a_key(client):
    """OPTIONS is a CORS preflight (tests/keyauth/test_cors.py): 204 listing POST."""
    response = client.open("/mcp", method="OPTIONS")
    assert response.status_code == 204
    assert response.headers["Allow"] == "OPTIONS, POST"


def test_no_session_id_is_issued(rpc, key):
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    assert "Mcp-Session-Id" not in rpc(body, key=key, version=None).headers


# ---- Origin (DNS rebinding) ------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost.evil.example",
                                    "https://localhost", "http://127.0.0.1:1"])
def test_foreign_origin_is_forbidden_before_anything_else(rpc, key, origin):
    error = rpc_error(rpc(PING, key=key, Origin=origin), 403)
    assert "Origin" in error["message"]
    # Even without a key: the Origin check comes first.
    assert rpc(PING, Origin=origin).status_code == 403


def test_rebinding_host_does_not_make_its_origin_ours(client, key):
    """A rebinding page is same-origin with the host it rebinds: that host is not trusted."""
    response = client.post("/mcp", json=PING, base_url="http://attacker.example:8000",
                           headers={"X-API-Key": key, "Accept": MCP_ACCEPT,
                                    "Origin": "http://attacker.example:8000"})
    assert response.status_code == 403


@pytest.mark.parametrize("origin", [None, "http://localhost"])
def test_missing_or_own_loopback_origin_is_allowed(rpc, key, origin):
    headers = {"Origin": origin} if origin else {}
    assert rpc(PING, key=key, **headers).status_code == 200


class TestConfiguredOrigins:
    @pytest.fixture
    def app_config(self):
        return {"MCP_ALLOWED_ORIGINS": "https://assistant.example.com, https://other.example/"}

    def test_configured_origins_are_allowed(self, rpc, key):
        for origin in ("https://assistant.example.com", "https://other.example"):
            assert rpc(PING, key=key, Origin=origin).status_code == 200
        assert rpc(PING, key=key, Origin="https://assistant.example.org").status_code == 403


# ---- Accept / Content-Type / size ------------------------------------------------------------

@pytest.mark.parametrize("accept", ["text/event-stream", "text/html", ""])
def test_a_client_that_does_not_accept_json_gets_406(rpc, key, accept):
    assert rpc_error(rpc(PING, key=key, Accept=accept), 406)["code"] == -32600


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*;q=0.9"])
def test_json_accepting_clients_are_served(rpc, key, accept):
    assert rpc(PING, key=key, Accept=accept).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_declared_json_gets_415(rpc, key, content_type):
    assert rpc_error(rpc(PING, key=key, **{"Content-Type": content_type}), 415)["code"] == -32600


def test_json_with_a_charset_is_fine(rpc, key):
    response = rpc(PING, key=key, **{"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200


class TestBodyLimit:
    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": 1024}

    def test_a_body_past_the_limit_gets_413_as_jsonrpc(self, rpc, key):
        body = {**PING, "params": {"padding": "x" * 2000}}
        error = rpc_error(rpc(body, key=key), 413)
        assert "1024 bytes" in error["message"]


# ---- authentication -----------------------------------------------------------------------

def test_missing_key_is_401_with_a_challenge(rpc):
    response = rpc(PING)
    error = rpc_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "API key is required" in error["message"]


@pytest.mark.parametrize("presented", ["not-a-key", "sure" + "a" * 56, " "])
def test_malformed_or_unknown_key_is_401(rpc, presented):
    assert rpc_error(rpc(PING, key=presented), 401)


def test_unknown_well_formed_key_is_401(rpc, make_key, app, workspace):
    key, plaintext = make_key(workspace, ("read",))
    db.session.delete(key)
    db.session.commit()
    assert "not valid" in rpc_error(rpc(PING, key=plaintext), 401)["message"]


def test_revoked_and_expired_keys_are_401(rpc, make_key, workspace):
    revoked, revoked_plain = make_key(workspace, ("read",))
    revoked.status, revoked.revoked_at = "revoked", utcnow()
    expired, expired_plain = make_key(workspace, ("read",))
    expired.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "revoked" in rpc_error(rpc(PING, key=revoked_plain), 401)["message"]
    assert "expired" in rpc_error(rpc(PING, key=expired_plain), 401)["message"]


def test_key_types_on_mcp(rpc, make_key, workspace):
    for key_type, status in (("api", 200), ("mcp", 200), ("suremails", 401)):
        _, plaintext = make_key(workspace, ("read",), key_type=key_type)
        assert rpc(PING, key=plaintext).status_code == status, key_type


def test_mcp_key_is_refused_by_the_api(client, make_key, workspace):
    _, plaintext = make_key(workspace, ("read",), key_type="mcp")
    response = client.get("/api/v1/me", headers={"X-API-Key": plaintext})
    assert response.status_code == 401


def test_a_key_of_another_workspace_sees_its_own_workspace(call_tool, make_key,
                                                           make_workspace_only):
    other_workspace = make_workspace_only("Other")
    _, plaintext = make_key(other_workspace, ("read",))
    data = call_tool(plaintext, "describe_key", {}).get_json()["result"]["structuredContent"]
    assert data["workspace"]["id"] == str(other_workspace.id)


# ---- rate limit ---------------------------------------------------------------------------

class TestRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"API_RATE_LIMIT": "3 per minute", "RATELIMIT_KEY_PREFIX": f"t{uuid.uuid4().hex}"}

    def test_mcp_shares_the_keys_budget_with_the_api(self, client, rpc, key):
        first = client.get("/api/v1/me", headers={"X-API-Key": key})
        assert first.headers["X-RateLimit-Remaining"] == "2"
        assert rpc(PING, key=key).headers["X-RateLimit-Remaining"] == "1"
        assert rpc(PING, key=key).headers["X-RateLimit-Remaining"] == "0"
        response = rpc(PING, key=key)
        error = rpc_error(response, 429)
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert "3 requests" in error["message"]


# ---- CSRF ---------------------------------------------------------------------------------

class TestCsrfOn:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_keys_not_cookies_authenticate_so_no_csrf_token_is_needed(self, rpc, key):
        assert rpc(PING, key=key).status_code == 200


class TestTrustedHosts:
    """Behind a public name, TRUSTED_HOSTS makes Flask validate Host, so the own origin counts."""

    @pytest.fixture
    def app_config(self):
        return {"TRUSTED_HOSTS": ["mcp.example.com"]}

    def test_own_origin_on_a_trusted_host_is_allowed(self, client, key):
        headers = {"X-API-Key": key, "Accept": MCP_ACCEPT}
        own = client.post("/mcp", json=PING, base_url="https://mcp.example.com",
                          headers={**headers, "Origin": "https://mcp.example.com"})
        assert own.status_code == 200
        other = client.post("/mcp", json=PING, base_url="https://mcp.example.com",
                            headers={**headers, "Origin": "https://evil.example.com"})
        assert other.status_code == 403
        # A rebinding page on another host name never gets its own origin accepted.
        rebound = client.post("/mcp", json=PING, base_url="http://attacker.example",
                              headers={**headers, "Origin": "http://attacker.example"})
        assert rebound.status_code == 400  # Flask refuses the untrusted Host outright
