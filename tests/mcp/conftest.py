"""MCP test helpers: keys, a live server on a free 127.0.0.1 port, the official SDK client, and
raw JSON-RPC posts through the Flask test client."""
import json
import threading

import anyio
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from werkzeug.serving import make_server

from sureapp.extensions import db
from sureapp.models import Organization, Workspace
from sureapp.usage.recorder import get_recorder

MCP_ACCEPT = "application/json, text/event-stream"
CLIENT_TIMEOUT = 15  # seconds; bounds every SDK call against the live server


@pytest.fixture
def make_workspace_only(app):
    def make(name="Main", timezone="UTC"):
        """An organization with one workspace and no users (keys need none; hashing a password
        for every test would dominate the run time)."""
        org = Organization(name=f"{name} Org")
        db.session.add(org)
        db.session.flush()
        workspace = Workspace(org_id=org.id, name=name, timezone=timezone)
        db.session.add(workspace)
        db.session.commit()
        return workspace

    return make


@pytest.fixture
def workspace(make_workspace_only):
    return make_workspace_only(timezone="Europe/Lisbon")


@pytest.fixture
def live_server(app):
    """The test's app served by werkzeug in a thread on a free port; stopped after the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="mcp-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def sdk_session(live_server):
    """Run `await scenario(session)` in the official SDK client connected to the live server
    with `plaintext` (X-API-Key, or Authorization: Bearer), after the initialize handshake."""
    def run(plaintext: str, scenario, bearer: bool = False):
        headers = {"Authorization": f"Bearer {plaintext}"} if bearer else {"X-API-Key": plaintext}

        async def main():
            with anyio.fail_after(CLIENT_TIMEOUT):
                async with httpx2.AsyncClient(headers=headers, timeout=CLIENT_TIMEOUT) as http:
                    async with streamable_http_client(f"{live_server}/mcp",
                                                      http_client=http) as (read, write):
                        async with ClientSession(read, write) as session:
                            await session.initialize()
                            return await scenario(session)

        return run_unwrapped(main)

    return run


def run_unwrapped(main):
    """anyio.run(main), raising the one real failure the SDK's task groups wrap."""
    try:
        return anyio.run(main)
    except BaseExceptionGroup as group:
        leaves = list(_leaves(group))
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup):
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


@pytest.fixture
def structured():
    def data(result) -> dict:
        """A tool result's data: structuredContent, which the text content must repeat."""
        assert result.content and result.content[0].type == "text"
        if not result.is_error:
            assert json.loads(result.content[0].text) == result.structured_content
        return result.structured_content

    return data


@pytest.fixture
def flush_usage(app):
    """Write the buffered request log now (tests run the recorder without its thread)."""
    return lambda: get_recorder(app).flush()


@pytest.fixture
def rpc(client):
    """POST one raw body to /mcp through the Flask test client; returns the response."""
    def post(body, key: str | None = None, version: str | None = "2025-11-25", **headers):
        sent = {"Accept": MCP_ACCEPT, "Content-Type": "application/json"}
        if key is not None:
            sent["X-API-Key"] = key
        if version is not None:
            sent["MCP-Protocol-Version"] = version
        sent.update(headers)
        data = body if isinstance(body, bytes) else json.dumps(body)
        return client.post("/mcp", data=data, headers=sent)

    return post


@pytest.fixture
def call_tool(rpc):
    """tools/call through the test client; returns the response."""
    def call(key: str, name: str, arguments=None, version: str = "2025-11-25", id_=1):
        params = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return rpc({"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": params},
                   key=key, version=version)

    return call


MODERN = "2026-07-28"
MODERN_META = {"io.modelcontextprotocol/protocolVersion": MODERN,
               "io.modelcontextprotocol/clientCapabilities": {},
               "io.modelcontextprotocol/clientInfo": {"name": "pytest", "version": "1.0"}}
NAMED_BY = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


@pytest.fixture
def modern(rpc):
    """One 2026-07-28 request as a conforming client sends it: `_meta` in params, the
    MCP-Protocol-Version / Mcp-Method / Mcp-Name headers mirroring the body. `headers`
    overrides (None removes) a header; `meta` replaces `_meta` (None: none sent)."""
    def post(key: str, method: str, params: dict | None = None, *, id_=1, meta=MODERN_META,
             headers: dict | None = None):
        params = dict(params or {})
        if meta is not None:
            params["_meta"] = meta
        sent = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
        if method in NAMED_BY and isinstance(params.get(NAMED_BY[method]), str):
            sent["Mcp-Name"] = params[NAMED_BY[method]]
        sent.update(headers or {})
        version = sent.pop("MCP-Protocol-Version")
        return rpc({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}, key=key,
                   version=version, **{k: v for k, v in sent.items() if v is not None})

    return post


def call(rpc, key, method, params=None, version="2025-11-25"):
    """One request (id 1) of a handshake revision through the test client."""
    return rpc({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}, key=key,
               version=version)


def result(response) -> dict:
    """The result of a 200 answer that is not an error."""
    assert response.status_code == 200
    body = response.get_json()
    assert "error" not in body, body
    return body["result"]


def error(response) -> dict:
    """The JSON-RPC error of a 200 answer (an error of one call, not of the transport)."""
    assert response.status_code == 200
    return response.get_json()["error"]
