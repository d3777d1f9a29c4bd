"""The Model Context Protocol's message layer: JSON-RPC 2.0 framing, version negotiation and the
lifecycle/tools methods. Pure Python with no Flask: routes.py does the HTTP transport around it.

Only the initialize-handshake revisions are spoken. Differences between them that matter here:
batches exist only in 2025-03-26; `structuredContent` and tool titles arrive in 2025-06-18;
from 2025-11-25 on, arguments that fail a tool's input schema are a tool execution error the
model can correct (SEP-1303) instead of a JSON-RPC -32602 protocol error.

A body is handled in two steps, `read` then `answer`, so the transport can charge the key's
budget for every message of a batch before any of them runs.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

# Newest first: `initialize` answers with the client's version when it is here, else the first.
SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_VERSION = SUPPORTED_VERSIONS[0]
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


def at_least(version: str, minimum: str) -> bool:
    return _ORDER.index(version) >= _ORDER.index(minimum)


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
    """The arguments do not satisfy the tool's input schema; `errors` is [{"field", "message"}]."""

    def __init__(self, message: str, errors: list[dict]):
        super().__init__(message)
        self.message, self.errors = message, errors


class ToolFailed(Exception):
    """The tool ran and could not do what was asked (missing ability, not found, conflict…)."""

    def __init__(self, message: str, data: dict | None = None):
        super().__init__(message)
        self.message, self.data = message, data


class ToolProvider(Protocol):
    def list_tools(self, version: str) -> list[dict]: ...
    def call_tool(self, name: str, arguments: dict) -> dict: ...


@dataclass(frozen=True)
class ServerInfo:
    name: str
    version: str
    title: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class Reply:
    """What the transport sends: an HTTP status and a JSON body (None: no body)."""

    status: int
    body: Any = None


@dataclass(frozen=True)
class Envelope:
    """A body `Dispatcher.read` accepted: its messages (one unless a batch) and the version."""

    messages: tuple[Any, ...]
    is_batch: bool
    version: str | None


def called_tool(message: Any) -> str | None:
    """The tool a tools/call message names, else None."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) else None


def describe(message: Any) -> str:
    """"tools/call create_contact", "ping", … for a message (what the request log shows); ""
    when it has no method."""
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return ""
    tool = called_tool(message)
    method = message["method"][:64]
    return f"{method} {tool[:64]}" if tool is not None else method


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


class Dispatcher:
    """Answers one HTTP body's worth of MCP messages against a ToolProvider."""

    def __init__(self, info: ServerInfo, tools: ToolProvider,
                 log_exception: Callable[[BaseException], None] = lambda exc: None,
                 reraise: tuple[type[BaseException], ...] = ()):
        """`reraise`: failures the transport answers itself (e.g. the database being down)."""
        self.info, self.tools, self.log_exception = info, tools, log_exception
        self.reraise = reraise

    def read(self, body: bytes, header_version: str | None) -> Envelope | Reply:
        """The body's messages and their protocol version, or the Reply refusing the body as a
        whole (not JSON, an empty or oversized batch, an unsupported version). Runs nothing."""
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
            version = None  # negotiated from params; any header is not yet meaningful
        elif header_version is None:
            version = VERSION_WITHOUT_HEADER
        elif header_version in SUPPORTED_VERSIONS:
            version = header_version
        else:
            return self._invalid(
                f"Unsupported MCP-Protocol-Version header: {header_version!r}.",
                {"supported": list(SUPPORTED_VERSIONS), "requested": header_version})
        if is_batch and version not in BATCH_VERSIONS:
            return self._invalid(
                f"JSON-RPC batches are not supported in protocol version {version}; "
                "send one message per request.", {"batchVersions": sorted(BATCH_VERSIONS)})
        return Envelope(tuple(messages), is_batch, version)

    def answer(self, envelope: Envelope) -> Reply:
        """Handle every message of a body that `read` accepted."""
        responses = [r for r in (self._handle_message(m, envelope.version)
                                 for m in envelope.messages) if r]
        if not responses:
            return Reply(202)  # only notifications or responses: nothing to say
        if envelope.is_batch:
            return Reply(200, responses)
        # A message that is not JSON-RPC at all is an HTTP-level bad request.
        invalid = responses[0].get("error", {}).get("code") == INVALID_REQUEST
        return Reply(400 if invalid else 200, responses[0])

    @staticmethod
    def _invalid(message: str, data: Any = None) -> Reply:
        return Reply(400, _error(None, RpcError(INVALID_REQUEST, message, data)))

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
            return {"jsonrpc": "2.0", "id": id_, "result": self._call(method, params, version)}
        except RpcError as exc:
            return _error(id_, exc)
        except self.reraise:
            raise
        except Exception as exc:  # a bug must still answer JSON-RPC, never an HTML 500
            self.log_exception(exc)
            return _error(id_, RpcError(INTERNAL_ERROR,
                                        "Internal error while handling the request."))

    def _call(self, method: str, params: dict, version: str | None) -> dict:
        if method == "initialize":
            return self._initialize(params)
        if method == "ping":
            return {}
        if method == "tools/list":
            if params.get("cursor") is not None:
                raise RpcError(INVALID_PARAMS, "Invalid cursor: every tool fits on one page.")
            return {"tools": self.tools.list_tools(version)}
        if method == "tools/call":
            return self._call_tool(params, version)
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    def _initialize(self, params: dict) -> dict:
        requested = params.get("protocolVersion")
        if not isinstance(requested, str):
            raise RpcError(INVALID_PARAMS, 'initialize needs "protocolVersion" (a string).')
        if not isinstance(params.get("capabilities"), dict):
            raise RpcError(INVALID_PARAMS, 'initialize needs "capabilities" (an object).')
        client = params.get("clientInfo")
        if not (isinstance(client, dict) and isinstance(client.get("name"), str)
                and isinstance(client.get("version"), str)):
            raise RpcError(INVALID_PARAMS,
                           'initialize needs "clientInfo" with "name" and "version".')
        version = requested if requested in SUPPORTED_VERSIONS else LATEST_VERSION
        server_info = {"name": self.info.name, "version": self.info.version}
        if self.info.title and at_least(version, "2025-06-18"):
            server_info["title"] = self.info.title
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": server_info,
        }
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
