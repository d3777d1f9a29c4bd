"""CORS on /api and /mcp (keyauth/cors.py): API_CORS_ORIGINS' origins get a keyless 204
preflight and readable responses; any other origin gets no CORS header at all."""
import pytest

from .conftest import assert_problem

ALLOWED = "https://app.example.com"
MCP_ONLY = "https://assistant.example.org"
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers", "Access-Control-Expose-Headers")


@pytest.fixture
def app_config():
    return {"API_CORS_ORIGINS": f" {ALLOWED}/ , https://other.example.net",
            "MCP_ALLOWED_ORIGINS": MCP_ONLY}


def preflight(client, path, origin=ALLOWED, method="POST",
              headers="x-api-key, content-type, idempotency-key"):
    return client.open(path, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})


def _listed(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(",")}


def test_a_preflight_from_a_listed_origin_is_204_without_a_key(client):
    response = preflight(client, "/api/v1/contacts")
    assert response.status_code == 204 and response.get_data() == b""
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == ALLOWED  # the origin itself, never *
    assert "origin" in _listed(headers["Vary"])
    assert _listed(headers["Access-Control-Allow-Methods"]) == {"get", "head", "post"}
    assert {"x-api-key", "authorization", "content-type", "idempotency-key",
            "mcp-protocol-version", "mcp-method", "mcp-name", "mcp-session-id"} <= _listed(headers["Access-Control-Allow-Headers"])
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-request-id",
            "etag", "location"} <= _listed(headers["Access-Control-Expose-Headers"])
    assert "Access-Control-Allow-Credentials" not in headers  # keys travel in headers
    assert int(headers["Access-Control-Max-Age"]) > 0


def test_a_preflight_names_the_methods_of_its_path(client):
    one = preflight(client, "/api/v1/contacts/00000000-0000-0000-0000-000000000000", method="DELETE")
    assert _listed(one.headers["Access-Control-Allow-Methods"]) == {"get", "head", "put", "patch",
                                                                     "delete"}
    assert _listed(one.headers["Allow"]) == {"options", "get", "head", "put", "patch", "delete"}


def test_the_origin_is_matched_as_browsers_send_it(client):
    response = preflight(client, "/api/v1/me", origin="HTTPS://APP.example.com", method="GET")
    assert response.headers["Access-Control-Allow-Origin"] == "HTTPS://APP.example.com"


@pytest.mark.parametrize("origin", ["https://evil.example", "https://app.example.com.evil.example",
                                    "http://app.example.com", "https://app.example.com:8443",
                                    "null", MCP_ONLY])
def test_other_origins_get_no_cors_headers(client, origin):
    response = preflight(client, "/api/v1/contacts", origin=origin)
    assert response.status_code == 204
    assert not any(name in response.headers for name in CORS_HEADERS), origin


def test_a_preflight_does_not_touch_the_key_budget_or_the_log(app, client, full_key):
    from sureapp.usage.recorder import get_recorder

    for _ in range(3):
        preflight(client, "/api/v1/me", method="GET")
    assert get_recorder(app).flush() == 0
    assert "X-RateLimit-Remaining" not in preflight(client, "/api/v1/me").headers


def test_a_preflight_for_an_unknown_path_is_the_usual_404(client):
    assert_problem(preflight(client, "/api/v1/nowhere"), 404)


def test_actual_responses_name_a_listed_origin(api, full_key):
    ok = api.get("/me", headers={"Origin": ALLOWED})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "etag" in _listed(ok.headers["Access-Control-Expose-Headers"])
    assert "Origin" in ok.headers.get_all("Vary")
    # Errors too: a browser client must be able to read a 401/404 problem.
    refused = api.request("GET", "/me", headers={"Origin": ALLOWED, "X-API-Key": "nope"})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_actual_responses_to_other_origins_carry_no_cors_header(api):
    response = api.get("/me", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200  # a key is a key; only the browser is kept from reading
    assert not any(name in response.headers for name in CORS_HEADERS)
    assert "Origin" in response.headers.get_all("Vary")


def test_mcp_preflight_and_call_from_a_listed_origin(client, full_key):
    for origin in (ALLOWED, MCP_ONLY):
        pre = preflight(client, "/mcp", origin=origin, headers="x-api-key, mcp-protocol-version")
        assert pre.status_code == 204
        assert pre.headers["Access-Control-Allow-Origin"] == origin
        assert pre.headers["Access-Control-Allow-Methods"] == "POST"
        call = client.post("/mcp", json=PING, headers={"Origin": origin, "X-API-Key": full_key,
                                                       **MCP_HEADERS})
        assert call.status_code == 200, origin  # API_CORS_ORIGINS pass /mcp's Origin check
        assert call.headers["Access-Control-Allow-Origin"] == origin


def test_mcp_refuses_other_origins_without_cors_headers(client, full_key):
    call = client.post("/mcp", json=PING, headers={"Origin": "https://evil.example",
                                                   "X-API-Key": full_key, **MCP_HEADERS})
    assert call.status_code == 403
    assert not any(name in call.headers for name in CORS_HEADERS)


def test_ui_pages_never_get_cors_headers(client):
    response = client.get("/login", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


class TestWithoutOrigins:
    @pytest.fixture
    def app_config(self):
        return {}

    def test_nothing_is_allowed_by_default(self, client, api):
        response = preflight(client, "/api/v1/contacts")
        assert response.status_code == 204
        assert not any(name in response.headers for name in CORS_HEADERS)
        assert "Vary" not in api.get("/me", headers={"Origin": ALLOWED}).headers
