"""JSON-RPC and MCP lifecycle rules on /mcp, through the Flask test client: every bad message
gets the right JSON-RPC error, never a 500."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sureapp.mcp.protocol import (CAPABILITIES, HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION,
                                  SUPPORTED_VERSIONS)

CLIENT_INFO = {"name": "pytest", "version": "1.0"}


def initialize(version, **params):
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO,
                       **params}}


@pytest.fixture
def key(make_key, workspace):
    return make_key(workspace, ("read", "write", "delete"))[1]


def error_of(response, status=200, id_=1):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["jsonrpc"] == "2.0" and body["id"] == id_ and "result" not in body
    return body["error"]


# ---- lifecycle ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_initialize_answers_with_the_clients_version_when_supported(rpc, key, version):
    response = rpc(initialize(version), key=key, version=None)
    assert response.status_code == 200
    result = response.get_json()["result"]
    assert result["protocolVersion"] == version
    assert result["capabilities"] == {
        "tools": {"listChanged": False}, "resources": {"subscribe": False, "listChanged": False},
        "prompts": {"listChanged": False}} == CAPABILITIES
    assert "resultType" not in result and "_meta" not in result  # 2026-07-28 fields only
    assert result["serverInfo"]["name"] == "sureapp" and result["serverInfo"]["version"]
    assert "read, write, delete" in result["instructions"]


@pytest.mark.parametrize("version", ["2026-07-28", "2024-10-07", "1.0", ""])
def test_initialize_answers_with_the_latest_version_otherwise(rpc, key, version):
    """2026-07-28 has no handshake: a client asking for it in initialize gets 2025-11-25."""
    response = rpc(initialize(version), key=key, version=None)
    assert response.get_json()["result"]["protocolVersion"] == LATEST_HANDSHAKE_VERSION


def test_initialize_ignores_a_stale_protocol_version_header(rpc, key):
    """The header means "negotiated version"; before initialize there is none to check."""
    response = rpc(initialize("2025-06-18"), key=key, version="1999-01-01")
    assert response.get_json()["result"]["protocolVersion"] == "2025-06-18"


@pytest.mark.parametrize("params", [
    {"capabilities": {}, "clientInfo": CLIENT_INFO},
    {"protocolVersion": 20250618, "capabilities": {}, "clientInfo": CLIENT_INFO},
    {"protocolVersion": LATEST_HANDSHAKE_VERSION, "clientInfo": CLIENT_INFO},
    {"protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {}},
    {"protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": {"name": "x"}},
])
def test_initialize_with_missing_fields_is_invalid_params(rpc, key, params):
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    assert error_of(rpc(body, key=key, version=None))["code"] == -32602


def test_initialized_notification_is_accepted_without_a_body(rpc, key):
    response = rpc({"jsonrpc": "2.0", "method": "notifications/initialized"}, key=key)
    assert response.status_code == 202
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers


def test_a_client_response_is_accepted_and_ignored(rpc, key):
    assert rpc({"jsonrpc": "2.0", "id": 7, "result": {}}, key=key).status_code == 202


def test_ping_answers_an_empty_result_with_the_same_id(rpc, key):
    response = rpc({"jsonrpc": "2.0", "id": "abc-1", "method": "ping"}, key=key)
    assert response.get_json() == {"jsonrpc": "2.0", "id": "abc-1", "result": {}}


# ---- malformed messages ------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"{bad json", b'{"jsonrpc": "2.0", "id": 1,', b"",
                                  b'{"jsonrpc": "2.0", "id": NaN, "method": "ping"}',
                                  b"\xff\xfe\x00garbage", b"[" * 100_000])
def test_malformed_json_is_a_parse_error(rpc, key, body):
    assert error_of(rpc(body, key=key), status=400, id_=None)["code"] == -32700


@pytest.mark.parametrize("body", [
    42, "ping", None, {"id": 1, "method": "ping"}, {"jsonrpc": "1.0", "id": 1, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1}, {"jsonrpc": "2.0", "id": None, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
    {"jsonrpc": "2.0", "id": True, "method": "ping"},
    {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
])
def test_not_a_jsonrpc_request_is_invalid_request(rpc, key, body):
    assert error_of(rpc(body, key=key), status=400, id_=None)["code"] == -32600


def test_a_method_that_is_not_a_string_is_invalid_request_with_the_id(rpc, key):
    response = rpc({"jsonrpc": "2.0", "id": 5, "method": ["ping"]}, key=key)
    assert error_of(response, status=400, id_=5)["code"] == -32600


@pytest.mark.parametrize("method", ["resources/subscribe", "completion/complete", "tools/delete",
                                    "server/discover", "subscriptions/listen",
                                    "logging/setLevel", ""])
def test_unknown_method_is_method_not_found(rpc, key, method):
    response = rpc({"jsonrpc": "2.0", "id": 9, "method": method}, key=key)
    error = error_of(response, id_=9)
    assert error["code"] == -32601
    assert method in error["message"]


@pytest.mark.parametrize("params", [[], "x", 3])
def test_params_that_are_not_an_object_are_invalid_params(rpc, key, params):
    response = rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params}, key=key)
    assert error_of(response)["code"] == -32602


def test_tools_list_rejects_a_cursor_it_never_issued(rpc, key):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "abc"}}
    assert error_of(rpc(body, key=key))["code"] == -32602


# ---- tools/call errors --------------------------------------------------------------------

def test_unknown_tool_is_invalid_params(call_tool, key):
    error = error_of(call_tool(key, "drop_database", {}))
    assert error["code"] == -32602
    assert "Unknown tool: drop_database" in error["message"]


@pytest.mark.parametrize("params", [{}, {"name": 3}, {"name": "describe_key", "arguments": []},
                                    {"name": "describe_key", "arguments": "{}"}])
def test_malformed_tools_call_is_invalid_params(rpc, key, params):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    assert error_of(rpc(body, key=key))["code"] == -32602


@pytest.mark.parametrize("version", ["2025-06-18", "2025-03-26"])
def test_arguments_failing_the_schema_are_invalid_params_before_2025_11_25(call_tool, key, version):
    error = error_of(call_tool(key, "describe_key", {"unexpected": 1}, version=version))
    assert error["code"] == -32602
    assert error["data"]["errors"] == {"unexpected": ["Unknown field."]}


def test_arguments_failing_the_schema_are_a_tool_error_from_2025_11_25(call_tool, key):
    """SEP-1303: the model sees the validation message and can correct itself."""
    response = call_tool(key, "describe_key", {"unexpected": 1}, version="2025-11-25")
    result = response.get_json()["result"]
    assert result["isError"] is True
    assert "unexpected: Unknown field." in result["content"][0]["text"]
    assert result["structuredContent"]["errors"] == {"unexpected": ["Unknown field."]}


def test_structured_content_only_from_2025_06_18(call_tool, key):
    old = call_tool(key, "describe_key", {}, version="2025-03-26").get_json()["result"]
    new = call_tool(key, "describe_key", {}, version="2025-06-18").get_json()["result"]
    assert "structuredContent" not in old
    assert json.loads(old["content"][0]["text"]) == new["structuredContent"]


def test_tool_listing_follows_the_negotiated_revision(rpc, key):
    def first_tool(version):
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        return rpc(body, key=key, version=version).get_json()["result"]["tools"][0]

    assert "title" in first_tool("2025-06-18") and "annotations" in first_tool("2025-06-18")
    assert "title" not in first_tool("2025-03-26") and "annotations" in first_tool("2025-03-26")
    assert "title" not in first_tool("2024-11-05") and "annotations" not in first_tool("2024-11-05")


# ---- protocol version header and batches --------------------------------------------------

@pytest.mark.parametrize("header", ["2026-07-29", "2025-13-01", "latest", ""])
def test_unsupported_protocol_version_header_is_400(rpc, key, header):
    """UnsupportedProtocolVersionError (-32022, named in 2026-07-28) for every revision: its
    data lists what is supported, so any client can retry or fall back."""
    response = rpc({"jsonrpc": "2.0", "id": 1, "method": "ping"}, key=key, version=header)
    error = error_of(response, status=400, id_=1)
    assert error["code"] == -32022
    assert error["data"] == {"supported": list(SUPPORTED_VERSIONS), "requested": header}


PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
NOTE = {"jsonrpc": "2.0", "method": "notifications/initialized"}


@pytest.mark.parametrize("version", ["2025-03-26", None])  # no header: assume 2025-03-26
def test_batches_are_answered_in_2025_03_26(rpc, key, version):
    batch = [PING, NOTE, {**PING, "id": 2, "method": "nope"}, {**PING, "id": "three"}]
    response = rpc(batch, key=key, version=version)
    assert response.status_code == 200
    body = response.get_json()
    assert [r["id"] for r in body] == [1, 2, "three"]
    assert body[0]["result"] == {} and body[1]["error"]["code"] == -32601


def test_a_batch_of_notifications_is_accepted(rpc, key):
    assert rpc([NOTE, NOTE], key=key, version="2025-03-26").status_code == 202


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25", "2024-11-05"])
def test_batches_are_refused_where_the_revision_has_none(rpc, key, version):
    error = error_of(rpc([PING], key=key, version=version), status=400, id_=None)
    assert error["code"] == -32600
    assert version in error["message"]


def test_empty_batch_and_initialize_in_a_batch_are_invalid(rpc, key):
    assert error_of(rpc([], key=key, version="2025-03-26"), 400, None)["code"] == -32600
    batch = [initialize("2025-03-26"), PING]
    assert error_of(rpc(batch, key=key, version="2025-03-26"), 400, None)["code"] == -32600


def test_bad_items_in_a_batch_get_their_own_errors(rpc, key):
    response = rpc([PING, 42, {"jsonrpc": "2.0"}], key=key, version="2025-03-26")
    assert [r.get("error", {}).get("code") for r in response.get_json()] == [None, -32600, -32600]


# ---- never a 500 ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10),
                                                                       children, max_size=4),
    max_leaves=12,
)
methods = st.sampled_from(["initialize", "ping", "tools/list", "tools/call", "x"]) | json_values
tool_params = st.fixed_dictionaries(
    {"name": st.sampled_from(["describe_key", "create_contact", "nope"]) | json_values},
    optional={"arguments": json_values})
messages = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "1.0"]), "method": methods},
    optional={"id": json_values, "params": json_values | tool_params},
)


def _status_for(payload) -> int:
    """The one HTTP status the transport owes each answer: 202 with no body when nothing is
    said (notifications, responses), 400 for a body refused whole (not JSON, not JSON-RPC, a
    batch the version lacks), 200 for every other answer, errors of single calls included."""
    if payload is None:
        return 202
    if isinstance(payload, dict) and payload.get("error", {}).get("code") in (-32700, -32600):
        return 400
    return 200


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=messages | json_values, version=st.sampled_from([None, *HANDSHAKE_VERSIONS]))
def test_any_json_body_gets_a_jsonrpc_answer_never_a_500(rpc, key, body, version):
    response = rpc(body, key=key, version=version)
    payload = response.get_json() if response.data else None
    assert response.status_code == _status_for(payload), (response.status_code, payload)
    if payload is not None:
        for item in payload if isinstance(payload, list) else [payload]:
            assert item["jsonrpc"] == "2.0"
            assert ("result" in item) != ("error" in item)
            if "error" in item:
                assert item["error"]["code"] in (-32700, -32600, -32601, -32602)
