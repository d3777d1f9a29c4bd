"""The Model Context Protocol's message layer: JSON-RPC 2.0 framing, the protocol revisions and
their methods (tools, resources, prompts). Pure Python with no Flask: routes.py does the HTTP
transport around it.

Two eras are spoken side by side on one endpoint ("dual-era", 2026-07-28 basic/versioning):
- the handshake revisions 2024-11-05 … 2025-11-25: `initialize` negotiates a version that later
  requests repeat in the MCP-Protocol-Version header. Batches exist only in 2025-03-26;
  `structuredContent`, `outputSchema` and titles arrive in 2025-06-18; from 2025-11-25 on,
  arguments that fail a tool's input schema are a tool execution error the model can correct
  (SEP-1303) instead of a JSON-RPC -32602 protocol error.
- the stateless 2026-07-28: no handshake; every request carries its version and capabilities in
  `params._meta`, mirrored in the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers (a
  mismatch is refused before anything runs); `server/discover` tells versions and capabilities;
  every result carries `resultType` and the server's identity in `_meta`, and lists and reads
  carry caching hints (`ttlMs`, `cacheScope`).

A body is handled in two steps, `read` then `answer`, so the transport can charge the key's
budget for every message of a batch before any of them runs.
"""
import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

MODERN_VERSIONS = ("2026-07-28",)
HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
# Newest first: what server/discover and every unsupported-version error list.
SUPPORTED_VERSIONS = (*MODERN_VERSIONS, *HANDSHAKE_VERSIONS)
# `initialize` answers with the client's version when it is a handshake one, else this.
LATEST_HANDSHAKE_VERSION = HANDSHAKE_VERSIONS[0]
# The transport spec: without an MCP-Protocol-Version header, assume 2025-03-26.
VERSION_WITHOUT_HEADER = "2025-03-26"
BATCH_VERSIONS = frozenset({"2025-03-26"})
# A batch is one HTTP request doing many things: past this size it is refused before any
# message runs (a 14,000-call batch once held a worker past its timeout).
MAX_BATCH = 100
_ORDER = tuple(reversed(SUPPORTED_VERSIONS))

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020  # 2026-07-28
UNSUPPORTED_PROTOCOL_VERSION = -32022  # 2026-07-28; the data shape is the one used before too
RESOURCE_NOT_FOUND_BEFORE_2026 = -32002  # 2026-07-28 uses INVALID_PARAMS instead

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"

# The body field each method mirrors into the Mcp-Name header (2026-07-28).
NAMED_BY = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
# Nothing changes at runtime (no listChanged, no subscribe): the same answer in every revision.
CAPABILITIES = {"tools": {"listChanged": False}, "resources": {"subscribe": False,
                                                               "listChanged": False},
                "prompts": {"listChanged": False}}
# Caching hints (2026-07-28). Every list is what this key may use, so never shared across
# credentials ("private"); a list changes only when the key's abilities are edited, which a
# caching client then sees within five minutes (calls are authorised per request anyway).
# Resource contents are live workspace data: stale at once.
LIST_TTL_MS = 300_000
READ_TTL_MS = 0
CACHE_SCOPE = "private"
_BASE64_SENTINEL = re.compile(r"=\?base64\?(.*)\?=", re.DOTALL)
_HEADER_SAFE = re.compile(r"[\x20-\x7e\t]*")


def at_least(version: str, minimum: str) -> bool:
    return _ORDER.index(version) >= _ORDER.index(minimum)


def is_modern(version: str | None) -> bool:
    return version in MODERN_VERSIONS


class RpcError(Exception):
    """Becomes a JSON-RPC error response."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class UnknownTool(Exception):
    """No tool by that name."""


class InvalidArguments(Exception):
    """The arguments do not satisfy the tool's (or prompt's) schema; `errors` is field →
    messages."""

    def __init__(self, message: str, errors: dict):
        super().__init__(message)
        self.message, self.errors = message, errors


class ToolFailed(Exception):
    """The tool ran and could not do what was asked (missing ability, not found, conflict…)."""

    def __init__(self, message: str, data: dict | None = None):
        super().__init__(message)
        self.message, self.data = message, data


class NotAllowed(Exception):
    """The key may not read this resource or get this prompt; `data` names the scope."""

    def __init__(self, message: str, data: dict):
        super().__init__(message)
        self.message, self.data = message, data


class ResourceNotFound(Exception):
    """No resource at that URI (for this workspace)."""


class UnknownPrompt(Exception):
    """No prompt by that name."""


class ToolProvider(Protocol):
    def list_tools(self, version: str) -> list[dict]: ...
    def call_tool(self, name: str, arguments: dict) -> dict: ...


class ResourceProvider(Protocol):
    def list_resources(self, version: str) -> list[dict]: ...
    def list_resource_templates(self, version: str) -> list[dict]: ...
    def read_resource(self, uri: str) -> list[dict]: ...


class PromptProvider(Protocol):
    def list_prompts(self, version: str) -> list[dict]: ...
    def get_prompt(self, name: str, arguments: dict[str, str]) -> dict: ...


@dataclass(frozen=True)
class ServerInfo:
    name: str
    version: str
    title: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class Headers:
    """The request headers the protocol reads: MCP-Protocol-Version, and (2026-07-28) the
    Mcp-Method / Mcp-Name mirrors of the body."""

    protocol_version: str | None = None
    method: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Reply:
    """What the transport sends: an HTTP status and a JSON body (None: no body). `stream`:
    messages to send as Server-Sent Events instead, in order (the last one answers)."""

    status: int
    body: Any = None
    stream: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Envelope:
    """A body `Dispatcher.read` accepted: its messages (one unless a batch) and the version."""

    messages: tuple[Any, ...]
    is_batch: bool
    version: str | None


def named(message: Any) -> str | None:
    """What a tools/call, prompts/get or resources/read message names (its Mcp-Name), else
    None."""
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return None
    field = NAMED_BY.get(message["method"])
    params = message.get("params")
    value = params.get(field) if field and isinstance(params, dict) else None
    return value if isinstance(value, str) else None


def describe(message: Any, resource_route: Callable[[str], str] = lambda uri: uri) -> str:
    """"tools/call create_contact", "resources/read sureapp://contacts/{contact_id}", "ping", …
    for a message (what the request log shows; `resource_route` turns a URI into its template
    so the log's routes don't split per contact); "" when it has no method."""
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return ""
    method = message["method"][:64]
    name = named(message)
    if name is None:
        return method
    if method == "resources/read":
        name = resource_route(name)
    return f"{method} {name[:80]}"


def _error(id_: Any, error: RpcError) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "error": error.as_dict()}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse(body: bytes) -> Any:
    """Strict JSON (no NaN/Infinity); raises RpcError(PARSE_ERROR)."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise RpcError(PARSE_ERROR, "Parse error: the body is not valid JSON.",
                       {"detail": str(exc)[:200]}) from None


def _valid_id(value: Any) -> bool:
    # MCP ids are strings or integers, never null (bool is an int in Python, but not in JSON).
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _request_id(message: Any) -> Any:
    """The message's id when it has a valid one (errors about the body echo it), else None."""
    id_ = message.get("id") if isinstance(message, dict) else None
    return id_ if _valid_id(id_) else None


def _request_meta(message: Any) -> Any:
    params = message.get("params") if isinstance(message, dict) else None
    return params.get("_meta") if isinstance(params, dict) else None


def _claimed_version(message: Any) -> Any:
    """The version a 2026-07-28-style request names in its `_meta`, else None."""
    meta = _request_meta(message)
    return meta.get(META_PROTOCOL_VERSION) if isinstance(meta, dict) else None


def _is_implementation(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("name"), str)
            and isinstance(value.get("version"), str))


def decode_header_value(value: str) -> str | None:
    """An Mcp-Name value as the body holds it: plain visible ASCII as sent, or the
    `=?base64?…?=` sentinel decoded (UTF-8); None if it is neither."""
    if not _HEADER_SAFE.fullmatch(value):
        return None
    sentinel = _BASE64_SENTINEL.fullmatch(value)
    if sentinel is None:
        return value
    try:
        return base64.b64decode(sentinel.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


class Dispatcher:
    """Answers one HTTP body's worth of MCP messages against the workspace's tools, resources
    and prompts."""

    def __init__(self, info: ServerInfo, tools: ToolProvider, resources: ResourceProvider,
                 prompts: PromptProvider,
                 log_exception: Callable[[BaseException], None] = lambda exc: None,
                 reraise: tuple[type[BaseException], ...] = ()):
        """`reraise`: failures the transport answers itself (e.g. the database being down)."""
        self.info, self.tools, self.resources, self.prompts = info, tools, resources, prompts
        self.log_exception, self.reraise = log_exception, reraise

    # ---- the body as a whole ------------------------------------------------------------

    def read(self, body: bytes, headers: Headers) -> Envelope | Reply:
        """The body's messages and their protocol version, or the Reply refusing the body as a
        whole (not JSON, an empty or oversized batch, an unsupported version, headers that do
        not match a 2026-07-28 body). Runs nothing."""
        try:
            payload = parse(body)
        except RpcError as exc:
            return Reply(400, _error(None, exc))

        messages = payload if isinstance(payload, list) else [payload]
        is_batch = isinstance(payload, list)
        if is_batch and not payload:
            return self._invalid("An empty batch is not a valid request.")
        if is_batch and len(payload) > MAX_BATCH:
            return self._invalid(
                f"A JSON-RPC batch may hold at most {MAX_BATCH} messages; this one has "
                f"{len(payload)}. Send the messages in several requests.",
                {"maxBatch": MAX_BATCH, "received": len(payload)})
        if any(isinstance(m, dict) and m.get("method") == "initialize" for m in messages):
            if is_batch:
                return self._invalid("initialize must not be part of a JSON-RPC batch.")
            # The handshake negotiates from params; any header is not yet meaningful.
            return Envelope(tuple(messages), is_batch, None)
        version = self._version(None if is_batch else messages[0], headers)
        if isinstance(version, Reply):
            return version
        if is_batch and version not in BATCH_VERSIONS:
            return self._invalid(
                f"JSON-RPC batches are not supported in protocol version {version}; "
                "send one message per request.", {"batchVersions": sorted(BATCH_VERSIONS)})
        if is_modern(version):
            refusal = self._check_modern_request(messages[0], headers)
            if refusal is not None:
                return refusal
        return Envelope(tuple(messages), is_batch, version)

    def _version(self, message: Any, headers: Headers) -> str | Reply:
        """The revision a body speaks: the one its `_meta` names (which the header must
        repeat), else the header's, else 2025-03-26."""
        header, claimed = headers.protocol_version, _claimed_version(message)
        id_ = _request_id(message)
        if claimed is not None:
            if not isinstance(claimed, str):
                return self._bad_meta(id_, f'_meta["{META_PROTOCOL_VERSION}"] must be a string.')
            if header is None:
                return self._mismatch(id_, "the MCP-Protocol-Version header is missing; it must "
                                           f"repeat _meta's protocol version '{claimed}'.")
            if header != claimed:
                return self._mismatch(id_, f"MCP-Protocol-Version header value '{header}' does "
                                           f"not match the body's _meta value '{claimed}'.")
        version = next((v for v in (claimed, header) if v is not None), VERSION_WITHOUT_HEADER)
        if version not in SUPPORTED_VERSIONS:
            return Reply(400, _error(id_, RpcError(
                UNSUPPORTED_PROTOCOL_VERSION, f"Unsupported protocol version: {version!r}.",
                {"supported": list(SUPPORTED_VERSIONS), "requested": version})))
        return version

    def _check_modern_request(self, message: Any, headers: Headers) -> Reply | None:
        """2026-07-28: the Mcp-Method / Mcp-Name headers must mirror the body and `_meta` must
        hold the required fields. Notifications and what is not a request at all are left to
        the message rules."""
        id_ = _request_id(message)
        if id_ is None or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"),
                                                                             str):
            return None
        method = message["method"]
        if headers.method is None:
            return self._mismatch(id_, f"the Mcp-Method header is required; it must repeat the "
                                       f"body's method '{method}'.")
        if headers.method != method:
            return self._mismatch(id_, f"Mcp-Method header value '{headers.method}' does not "
                                       f"match the body's method '{method}'.")
        name = named(message)
        if name is not None:
            if headers.name is None:
                return self._mismatch(id_, f"the Mcp-Name header is required for {method}; it "
                                           f"must repeat the body's {NAMED_BY[method]} '{name}'.")
            decoded = decode_header_value(headers.name)
            if decoded is None:
                return self._mismatch(id_, "the Mcp-Name header holds characters a header may "
                                           "not carry; send non-ASCII values as =?base64?…?=.")
            if decoded != name:
                return self._mismatch(id_, f"Mcp-Name header value '{decoded}' does not match "
                                           f"the body's {NAMED_BY[method]} '{name}'.")
        meta = _request_meta(message)
        if not isinstance(meta, dict) or META_PROTOCOL_VERSION not in meta:
            return self._bad_meta(id_, f'Protocol {MODERN_VERSIONS[0]} requests carry '
                                       f'params._meta["{META_PROTOCOL_VERSION}"].')
        if not isinstance(meta.get(META_CLIENT_CAPABILITIES), dict):
            return self._bad_meta(id_, f'params._meta["{META_CLIENT_CAPABILITIES}"] is required '
                                       '(an object; {} when the client offers none).')
        if META_CLIENT_INFO in meta and not _is_implementation(meta[META_CLIENT_INFO]):
            return self._bad_meta(id_, f'params._meta["{META_CLIENT_INFO}"] needs "name" and '
                                       '"version" (strings).')
        return None

    @staticmethod
    def _invalid(message: str, data: Any = None) -> Reply:
        return Reply(400, _error(None, RpcError(INVALID_REQUEST, message, data)))

    @staticmethod
    def _mismatch(id_: Any, detail: str) -> Reply:
        return Reply(400, _error(id_, RpcError(HEADER_MISMATCH, f"Header mismatch: {detail}")))

    @staticmethod
    def _bad_meta(id_: Any, detail: str) -> Reply:
        return Reply(400, _error(id_, RpcError(INVALID_PARAMS, f"Invalid params: {detail}")))

    def answer(self, envelope: Envelope) -> Reply:
        """Handle every message of a body that `read` accepted."""
        responses = [r for r in (self._handle_message(m, envelope.version)
                                 for m in envelope.messages) if r]
        if not responses:
            return Reply(202)  # only notifications or responses: nothing to say
        if envelope.is_batch:
            return Reply(200, responses)
        response = responses[0]
        code = response.get("error", {}).get("code")
        if code == INVALID_REQUEST:  # not JSON-RPC at all: an HTTP-level bad request
            return Reply(400, response)
        if is_modern(envelope.version) and code == METHOD_NOT_FOUND:
            return Reply(404, response)  # tells a modern server from a legacy one's 404 page
        if (is_modern(envelope.version) and "result" in response
                and envelope.messages[0].get("method") == "subscriptions/listen"):
            return self._subscription_closed(response)
        return Reply(200, response)

    # ---- one message ----------------------------------------------------------------------

    def _handle_message(self, message: Any, version: str | None) -> dict | None:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _error(None, RpcError(INVALID_REQUEST, 'Invalid request: expected a JSON-RPC '
                                                          '2.0 object with "jsonrpc": "2.0".'))
        if "method" not in message:
            if "id" in message and ("result" in message or "error" in message):
                return None  # a response to a server request; this server sends none, so ignore it
            return _error(None, RpcError(INVALID_REQUEST, 'Invalid request: "method" is missing.'))
        method = message["method"]
        is_request = "id" in message
        if is_request and not _valid_id(message["id"]):
            return _error(None, RpcError(INVALID_REQUEST,
                                         'Invalid request: "id" must be a string or an integer.'))
        if not isinstance(method, str):
            return _error(message["id"] if is_request else None,
                          RpcError(INVALID_REQUEST, 'Invalid request: "method" must be a string.'))
        if not is_request:
            return None  # notifications (initialized, cancelled…): a stateless server keeps nothing
        id_ = message["id"]
        params = message.get("params", {})
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, '"params" must be an object.')
            result = self._call(method, params, version)
            if is_modern(version):
                result = {"resultType": "complete", **result,
                          "_meta": {**result.get("_meta", {}),
                                    META_SERVER_INFO: self._server_info(version)}}
            return {"jsonrpc": "2.0", "id": id_, "result": result}
        except RpcError as exc:
            return _error(id_, exc)
        except self.reraise:
            raise
        except Exception as exc:  # a bug must still answer JSON-RPC, never an HTML 500
            self.log_exception(exc)
            return _error(id_, RpcError(INTERNAL_ERROR,
                                        "Internal error while handling the request."))

    def _call(self, method: str, params: dict, version: str | None) -> dict:
        modern = is_modern(version)
        if method == "initialize":
            return self._initialize(params)
        if method == "server/discover" and modern:
            return self._cacheable(version, LIST_TTL_MS, {
                "supportedVersions": list(SUPPORTED_VERSIONS), "capabilities": CAPABILITIES,
                **({"instructions": self.info.instructions} if self.info.instructions else {})})
        if method == "ping" and not modern:  # 2026-07-28 removed ping
            return {}
        if method == "subscriptions/listen" and modern:
            if not isinstance(params.get("notifications", {}), dict):
                raise RpcError(INVALID_PARAMS, '"notifications" must be an object.')
            return {}  # answered as a stream by _subscription_closed
        if method == "tools/list":
            return self._listing(version, params, "tools", self.tools.list_tools)
        if method == "tools/call":
            return self._call_tool(params, version)
        if method == "resources/list":
            return self._listing(version, params, "resources", self.resources.list_resources)
        if method == "resources/templates/list":
            return self._listing(version, params, "resourceTemplates",
                                 self.resources.list_resource_templates)
        if method == "resources/read":
            return self._read_resource(params, version)
        if method == "prompts/list":
            return self._listing(version, params, "prompts", self.prompts.list_prompts)
        if method == "prompts/get":
            return self._get_prompt(params)
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    def _server_info(self, version: str) -> dict:
        info = {"name": self.info.name, "version": self.info.version}
        if self.info.title and at_least(version, "2025-06-18"):
            info["title"] = self.info.title
        return info

    @staticmethod
    def _cacheable(version: str, ttl_ms: int, result: dict) -> dict:
        if is_modern(version):
            return {**result, "ttlMs": ttl_ms, "cacheScope": CACHE_SCOPE}
        return result

    def _listing(self, version: str, params: dict, field: str,
                 items: Callable[[str], list[dict]]) -> dict:
        if params.get("cursor") is not None:
            raise RpcError(INVALID_PARAMS, f"Invalid cursor: every item of {field} fits on one "
                                           "page, so no cursor was issued.")
        return self._cacheable(version, LIST_TTL_MS, {field: items(version)})

    def _initialize(self, params: dict) -> dict:
        requested = params.get("protocolVersion")
        if not isinstance(requested, str):
            raise RpcError(INVALID_PARAMS, 'initialize needs "protocolVersion" (a string).')
        if not isinstance(params.get("capabilities"), dict):
            raise RpcError(INVALID_PARAMS, 'initialize needs "capabilities" (an object).')
        if not _is_implementation(params.get("clientInfo")):
            raise RpcError(INVALID_PARAMS,
                           'initialize needs "clientInfo" with "name" and "version".')
        # A client asking for 2026-07-28 here still gets a handshake revision: the stateless
        # one has no initialize.
        version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION
        result = {"protocolVersion": version, "capabilities": CAPABILITIES,
                  "serverInfo": self._server_info(version)}
        if self.info.instructions:
            result["instructions"] = self.info.instructions
        return result

    def _call_tool(self, params: dict, version: str) -> dict:
        name = params.get("name")
        arguments = params.get("arguments", {})
        if not isinstance(name, str):
            raise RpcError(INVALID_PARAMS, 'tools/call needs "name" (a string).')
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, '"arguments" must be an object.')
        try:
            data = self.tools.call_tool(name, arguments)
        except UnknownTool:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}") from None
        except InvalidArguments as exc:
            detail = {"tool": name, "errors": exc.errors}
            if at_least(version, "2025-11-25"):
                return _tool_result(version, {"error": exc.message, **detail}, text=exc.message,
                                    is_error=True)
            raise RpcError(INVALID_PARAMS, exc.message, detail) from None
        except ToolFailed as exc:
            return _tool_result(version, {"error": exc.message, **(exc.data or {})},
                                text=exc.message, is_error=True)
        return _tool_result(version, data)

    def _read_resource(self, params: dict, version: str) -> dict:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise RpcError(INVALID_PARAMS, 'resources/read needs "uri" (a string).')
        try:
            contents = self.resources.read_resource(uri)
        except ResourceNotFound:
            code = INVALID_PARAMS if is_modern(version) else RESOURCE_NOT_FOUND_BEFORE_2026
            raise RpcError(code, "Resource not found", {"uri": uri}) from None
        except NotAllowed as exc:
            raise RpcError(INVALID_PARAMS, exc.message, {"uri": uri, **exc.data}) from None
        return self._cacheable(version, READ_TTL_MS, {"contents": contents})

    def _get_prompt(self, params: dict) -> dict:
        name, arguments = params.get("name"), params.get("arguments", {})
        if not isinstance(name, str):
            raise RpcError(INVALID_PARAMS, 'prompts/get needs "name" (a string).')
        if arguments is None:
            arguments = {}
        if not (isinstance(arguments, dict)
                and all(isinstance(v, str) for v in arguments.values())):
            raise RpcError(INVALID_PARAMS, '"arguments" must be an object of strings.')
        try:
            return self.prompts.get_prompt(name, arguments)
        except UnknownPrompt:
            raise RpcError(INVALID_PARAMS, f"Unknown prompt: {name}") from None
        except InvalidArguments as exc:
            raise RpcError(INVALID_PARAMS, exc.message, {"prompt": name,
                                                         "errors": exc.errors}) from None
        except NotAllowed as exc:
            raise RpcError(INVALID_PARAMS, exc.message, {"prompt": name, **exc.data}) from None

    def _subscription_closed(self, response: dict) -> Reply:
        """subscriptions/listen: nothing here changes at runtime, so the stream acknowledges an
        empty filter (no notification type is honoured) and ends gracefully at once."""
        id_ = response["id"]
        result = response["result"]
        result["_meta"][META_SUBSCRIPTION_ID] = id_
        acknowledged = {"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                        "params": {"_meta": {META_SUBSCRIPTION_ID: id_}, "notifications": {}}}
        return Reply(200, stream=(acknowledged, response))


def _tool_result(version: str, data: dict, text: str | None = None, is_error: bool = False) -> dict:
    """Text content for every client; the same data as structuredContent in revisions with it."""
    if text is None:
        text = json.dumps(data, ensure_ascii=False, indent=2)
    elif details := {k: v for k, v in data.items() if k != "error"}:
        text = f"{text}\n{json.dumps(details, ensure_ascii=False, indent=2)}"
    result = {"content": [{"type": "text", "text": text}], "isError": is_error}
    if at_least(version, "2025-06-18"):
        result["structuredContent"] = data
    return result
