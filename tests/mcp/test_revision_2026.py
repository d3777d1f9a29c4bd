"""The stateless 2026-07-28 revision on /mcp beside the handshake ones: server/discover, per-request
`_meta`, the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers (a mismatch runs nothing),
resultType, serverInfo, caching hints, and the HTTP statuses the transport specification names."""
import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sureapp.extensions import db
from sureapp.mcp.protocol import CAPABILITIES, SUPPORTED_VERSIONS
from sureapp.models import ApiRequestLog, Contact

from .conftest import MODERN, MODERN_META


@pytest.fixture
def key(make_key, workspace):
    return make_key(workspace, ("read", "write", "delete"))[1]


def result_of(response) -> dict:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["jsonrpc"] == "2.0" and "error" not in body
    result = body["result"]
    assert result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "sureapp"
    return result


def error_of(response, status, id_=1) -> dict:
    assert response.status_code == status
    body = response.get_json()
    assert body["jsonrpc"] == "2.0" and body["id"] == id_ and "result" not in body
    return body["error"]


def contacts() -> int:
    db.session.expire_all()
    return db.session.query(Contact).count()


# ---- discovery and results ---------------------------------------------------------------

def test_server_discover_tells_versions_capabilities_identity_and_caching(modern, key):
    result = result_of(modern(key, "server/discover"))
    assert result["supportedVersions"] == list(SUPPORTED_VERSIONS)
    assert result["supportedVersions"][0] == MODERN
    assert result["capabilities"] == CAPABILITIES
    info = result["_meta"]["io.modelcontextprotocol/serverInfo"]
    assert info["version"] and info["title"] == "sureapp"
    assert "read, write, delete" in result["instructions"]
    assert result["ttlMs"] == 300_000 and result["cacheScope"] == "private"


def test_lists_carry_caching_hints_and_a_stable_order(modern, key):
    first = result_of(modern(key, "tools/list"))
    again = result_of(modern(key, "tools/list", id_=2))
    assert first["tools"] == again["tools"]
    assert (first["ttlMs"], first["cacheScope"]) == (300_000, "private")
    for method in ("resources/list", "resources/templates/list", "prompts/list"):
        listed = result_of(modern(key, method))
        assert (listed["ttlMs"], listed["cacheScope"]) == (300_000, "private"), method


def test_tools_call_result_is_complete_and_structured(modern, key, workspace):
    result = result_of(modern(key, "tools/call", {"name": "describe_key", "arguments": {}}))
    assert result["isError"] is False
    assert result["structuredContent"]["workspace"]["id"] == str(workspace.id)
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    assert "ttlMs" not in result  # a tool result is not cacheable


def test_handshake_revisions_keep_their_shape(rpc, key):
    """Older clients see exactly what they saw before: no resultType, _meta or caching hints."""
    for version in ("2025-11-25", "2024-11-05"):
        result = rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, key=key,
                     version=version).get_json()["result"]
        assert set(result) == {"tools"}, version


def test_a_request_needs_no_initialize_and_each_stands_alone(modern, key):
    """Stateless: the first request of a client may be a tools/call; nothing is remembered
    between requests (two clients' capabilities never mix)."""
    first = modern(key, "tools/call", {"name": "describe_key", "arguments": {}})
    other = {**MODERN_META, "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    second = modern(key, "tools/call", {"name": "describe_key", "arguments": {}}, meta=other)
    assert result_of(first)["structuredContent"] == result_of(second)["structuredContent"]
    assert "Mcp-Session-Id" not in first.headers


def test_ping_is_gone_and_unknown_methods_are_404(modern, key):
    for method in ("ping", "logging/setLevel", "resources/subscribe", "nope"):
        error = error_of(modern(key, method), 404)
        assert error["code"] == -32601 and method in error["message"]


def test_notifications_are_accepted_without_headers(rpc, key):
    response = rpc({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": 1}}, key=key, version=MODERN)
    assert response.status_code == 202 and response.get_data() == b""


def test_batches_are_refused(rpc, key):
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": MODERN_META}}
    response = rpc([message], key=key, version=MODERN, **{"Mcp-Method": "tools/list"})
    assert error_of(response, 400, id_=None)["code"] == -32600


def test_subscriptions_listen_acknowledges_nothing_and_ends_gracefully(modern, key):
    """Nothing here changes at runtime (listChanged false), so the stream honours no
    notification type and closes with its result at once."""
    response = modern(key, "subscriptions/listen",
                      {"notifications": {"toolsListChanged": True,
                                         "resourceSubscriptions": ["sureapp://reports/summary"]}},
                      id_="listen-1")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = [json.loads(line[len("data: "):]) for line in response.get_data(as_text=True)
              .splitlines() if line.startswith("data: ")]
    assert events[0] == {"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                         "params": {"_meta": {"io.modelcontextprotocol/subscriptionId":
                                              "listen-1"}, "notifications": {}}}
    closing = events[1]
    assert closing["id"] == "listen-1" and closing["result"]["resultType"] == "complete"
    assert closing["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1"
    assert len(events) == 2


def test_subscriptions_listen_needs_a_client_that_takes_a_stream(modern, key):
    response = modern(key, "subscriptions/listen", headers={"Accept": "application/json"})
    assert response.status_code == 406


def test_a_malformed_listen_filter_is_invalid_params(modern, key):
    assert error_of(modern(key, "subscriptions/listen", {"notifications": [1]}), 200)["code"] \
        == -32602


# ---- headers mirror the body ---------------------------------------------------------------

def b64(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode()).decode() + "?="


@pytest.mark.parametrize("headers, words", [
    ({"Mcp-Method": None}, "the Mcp-Method header is required"),
    ({"Mcp-Method": "tools/list"}, "Mcp-Method header value 'tools/list' does not match"),
    ({"Mcp-Method": "Tools/Call"}, "does not match"),  # values are case-sensitive
    ({"Mcp-Name": None}, "the Mcp-Name header is required for tools/call"),
    ({"Mcp-Name": "describe_key"}, "Mcp-Name header value 'describe_key' does not match"),
    ({"Mcp-Name": b64("describe_key")}, "does not match"),
    ({"Mcp-Name": "=?base64?not base64!?="}, "characters a header may not carry"),
    ({"Mcp-Name": "=?base64?//79?="}, "characters a header may not carry"),  # not UTF-8
    ({"MCP-Protocol-Version": None}, "the MCP-Protocol-Version header is missing"),
    ({"MCP-Protocol-Version": "2025-11-25"}, "does not match the body's _meta value"),
])
def test_a_header_that_does_not_mirror_the_body_runs_nothing(modern, key, headers, words):
    """A gateway routing on the headers and the server acting on the body must agree: the
    request that claims to be describe_key but creates a contact is refused whole (-32020)."""
    params = {"name": "create_contact", "arguments": {"email": "mallory@example.com"}}
    error = error_of(modern(key, "tools/call", params, headers=headers), 400)
    assert error["code"] == -32020
    assert words in error["message"]
    assert contacts() == 0


def test_mcp_name_may_be_base64_encoded(modern, key):
    params = {"name": "describe_key", "arguments": {}}
    response = modern(key, "tools/call", params, headers={"Mcp-Name": b64("describe_key")})
    assert result_of(response)["isError"] is False


def test_header_names_are_case_insensitive(modern, key):
    response = modern(key, "tools/call", {"name": "describe_key"},
                      headers={"Mcp-Method": None, "Mcp-Name": None,
                               "mcp-method": "tools/call", "MCP-NAME": "describe_key"})
    assert result_of(response)["isError"] is False


def test_mcp_name_mirrors_a_resource_uri_and_a_prompt_name(modern, key):
    read = modern(key, "resources/read", {"uri": "sureapp://reports/summary"},
                  headers={"Mcp-Name": "sureapp://reports/other"})
    assert error_of(read, 400)["code"] == -32020
    prompt = modern(key, "prompts/get", {"name": "summarise_workspace"},
                    headers={"Mcp-Name": None})
    assert error_of(prompt, 400)["code"] == -32020


# ---- _meta ---------------------------------------------------------------------------------

CAPS = "io.modelcontextprotocol/clientCapabilities"


@pytest.mark.parametrize("meta, words", [
    (None, "requests carry params._meta"),
    ({k: v for k, v in MODERN_META.items() if k != CAPS}, "clientCapabilities\"] is required"),
    ({**MODERN_META, CAPS: []}, "clientCapabilities\"] is required"),
    ({**MODERN_META, "io.modelcontextprotocol/clientInfo": {"name": "x"}}, '"version"'),
    ({**MODERN_META, "io.modelcontextprotocol/protocolVersion": 20260728}, "must be a string"),
])
def test_missing_or_malformed_meta_is_invalid_params_400(modern, key, meta, words):
    error = error_of(modern(key, "tools/call", {"name": "describe_key"}, meta=meta), 400)
    assert error["code"] == -32602
    assert words in error["message"]


@pytest.mark.parametrize("version", ["2027-01-01", "1900-01-01", ""])
def test_an_unsupported_version_lists_the_supported_ones(modern, key, version):
    meta = {**MODERN_META, "io.modelcontextprotocol/protocolVersion": version}
    error = error_of(modern(key, "tools/list", meta=meta,
                            headers={"MCP-Protocol-Version": version}), 400)
    assert error["code"] == -32022
    assert error["data"] == {"supported": list(SUPPORTED_VERSIONS), "requested": version}


def test_a_modern_request_is_logged_like_any_other(modern, key, make_key, workspace, flush_usage):
    api_key, plaintext = make_key(workspace, ("read",), name="modern")
    modern(plaintext, "tools/call", {"name": "describe_key"})
    modern(plaintext, "server/discover")
    modern(plaintext, "tools/call", {"name": "describe_key"}, headers={"Mcp-Method": None})
    flush_usage()
    rows = db.session.query(ApiRequestLog).filter_by(api_key_id=api_key.id).all()
    assert sorted((r.path, r.status) for r in rows) == [
        ("/mcp", 400), ("/mcp server/discover", 200), ("/mcp tools/call describe_key", 200)]


# ---- never a 500 ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                       children, max_size=3),
    max_leaves=10)
methods = st.sampled_from(["server/discover", "tools/list", "tools/call", "resources/list",
                           "resources/templates/list", "resources/read", "prompts/list",
                           "prompts/get", "subscriptions/listen", "ping", "initialize", "x"])
params = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["describe_key", "create_contact", "summarise_workspace",
                             "draft_campaign", "nope"]) | json_values,
    "uri": st.sampled_from(["sureapp://reports/summary", "sureapp://contacts/nope",
                            "sureapp://contacts/00000000-0000-0000-0000-000000000000"])
    | json_values,
    "arguments": json_values, "cursor": json_values, "notifications": json_values})


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=methods, params=params | json_values, with_meta=st.booleans())
def test_any_modern_request_gets_the_status_its_answer_calls_for(rpc, key, method, params,
                                                                   with_meta):
    """Headers always mirror the body here; what varies is the body."""
    if isinstance(params, dict) and with_meta:
        params = {**params, "_meta": MODERN_META}
    headers = {"Mcp-Method": method}
    source = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}.get(method)
    if source and isinstance(params, dict) and isinstance(params.get(source), str):
        headers["Mcp-Name"] = b64(params[source])
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    response = rpc(body, key=key, version=MODERN, **headers)
    if method == "subscriptions/listen" and response.mimetype == "text/event-stream":
        assert response.status_code == 200
        return
    payload = response.get_json()
    assert payload["jsonrpc"] == "2.0" and payload["id"] in (7, None)
    if method == "initialize":  # the handshake ignores the header, whatever it says
        assert response.status_code == 200
        return
    if "result" in payload:
        assert response.status_code == 200 and payload["result"]["resultType"] == "complete"
        return
    code = payload["error"]["code"]
    has_meta = isinstance(params, dict) and with_meta
    expected = {-32601: 404, -32600: 400, -32020: 400, -32022: 400}.get(
        code, 200 if has_meta else 400)
    assert response.status_code == expected, payload
    assert code in (-32601, -32602, -32600) and (code != -32602 or has_meta
                                                 or response.status_code == 400)
