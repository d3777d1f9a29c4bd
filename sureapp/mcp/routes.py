"""/mcp: the MCP Streamable HTTP transport inside Flask. Every message is a POST answered with
application/json (or 202 for notifications); no standing SSE stream is offered, so GET and DELETE
get 405.

Per request: Origin (403) → method (405) → keyauth's key resolution with surface "mcp" (401) →
Accept (406) → Content-Type (415) → body size (413) → protocol.Dispatcher.read (the version,
and for 2026-07-28 the Mcp-Method / Mcp-Name headers against the body: 400) → the key's
budget, one unit per message (429 for the whole body) → protocol.Dispatcher.answer. The one
streamed answer (2026-07-28 subscriptions/listen) is a short text/event-stream.
HTTP-level rejections carry a JSON-RPC error with no id, as the transport spec allows, so MCP
clients can show the reason; the request log records every authenticated request.
"""

import json
from typing import Any

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import faults, keyauth
from ..keyauth.cors import api_origin_listed, parse_origins
from ..errorlog import log_unexpected
from ..problems import ApiProblem
from ..keyauth import KeyContext
from ..keys.state import Refusal
from . import resources
from .prompts import PROMPTS, WorkspacePrompts
from .protocol import (INTERNAL_ERROR, INVALID_REQUEST, Dispatcher, Envelope, Headers, Reply,
                       ServerInfo, describe, named)
from .resources import WorkspaceResources
from .tools import TOOLS, WorkspaceTools, server_instructions


bp = Blueprint("mcp", __name__)

SERVER_NAME = "sureapp"
SERVER_VERSION = "1.0.0"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
JSON_ACCEPT = frozenset({"application/json", "application/*", "*/*"})
STREAM_ACCEPT = frozenset({"text/event-stream", "text/*", "*/*"})
OTHER_METHODS = ["GET", "DELETE", "PUT", "PATCH"]  # OPTIONS: a CORS preflight (keyauth/cors.py)


def _rpc_error_response(status: int, message: str, data=None, headers=None,
                        code: int = INVALID_REQUEST):
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    response = current_app.json.response({"jsonrpc": "2.0", "id": None, "error": error})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _problem_response(problem: ApiProblem):
    """The API's 401/429 (WWW-Authenticate, Retry-After, X-RateLimit-*) as a JSON-RPC error."""
    return _rpc_error_response(problem.status, problem.detail or problem.title,
                               data=problem.to_dict(), headers=problem.headers)


def _host_is_ours() -> bool:
    """Whether the Host header can be trusted to name this server: a loopback name, or a host
    Flask already validated against TRUSTED_HOSTS."""
    host = request.host.lower()
    hostname = host.split("]")[0] + "]" if host.startswith("[") else host.split(":")[0]
    return hostname in LOOPBACK_HOSTS or bool(current_app.config.get("TRUSTED_HOSTS"))


def origin_allowed(origin: str | None) -> bool:
    """No Origin (not a browser), an origin in MCP_ALLOWED_ORIGINS or API_CORS_ORIGINS, or our
    own origin.

    Under DNS rebinding the attacker's page is "same-origin" with whatever Host it rebinds, so
    our own origin only counts when the Host is one we know is ours."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if origin in current_app.config["MCP_ALLOWED_ORIGINS"] or api_origin_listed(origin):
        return True
    return origin == f"{request.scheme}://{request.host}".lower() and _host_is_ours()


def _accepts(media_types: frozenset[str]) -> bool:
    accept = request.headers.get("Accept", "")
    return bool({part.split(";")[0].strip().lower() for part in accept.split(",")} & media_types)


@bp.route("/mcp", methods=["POST", *OTHER_METHODS], provide_automatic_options=False)
def endpoint():
    if not origin_allowed(request.headers.get("Origin")):
        return _rpc_error_response(403, "Forbidden: this Origin may not call the MCP endpoint.")
    if request.method != "POST":
        # No server-to-client SSE stream and no sessions to terminate (the transport spec's 405).
        return _rpc_error_response(405, f"Method not allowed: send MCP messages with POST; "
                                        f"{request.method} is not offered.",
                                   headers={"Allow": "POST"})
    try:
        key = keyauth.authenticate(request, surface="mcp")
    except ApiProblem as problem:
        return _problem_response(problem)
    workspace_resources = WorkspaceResources(key, key.workspace)
    dispatcher = Dispatcher(
        ServerInfo(SERVER_NAME, SERVER_VERSION, title="sureapp",
                   instructions=server_instructions(key, key.workspace)),
        WorkspaceTools(key, key.workspace), workspace_resources,
        WorkspacePrompts(key, key.workspace, workspace_resources),
        log_exception=log_unexpected,
        reraise=faults.UNAVAILABLE_ERRORS,
    )
    refusal, envelope = _read_body(dispatcher)
    # One budget unit per message: a batch is charged whole before any of its messages runs,
    # and refused whole (429, nothing charged, nothing done) when fewer units are left. A body
    # refused as a whole (not JSON, too large, an oversized batch…) costs one unit.
    messages = envelope.messages if isinstance(envelope, Envelope) else ()
    try:
        keyauth.charge(key, max(len(messages), 1))
    except ApiProblem as problem:
        return _problem_response(problem)
    if refusal is not None:
        return refusal
    if isinstance(envelope, Reply):
        return _reply_response(envelope)
    # One request-log row each (finish), with its reason when the key may not call its tool.
    g.mcp_calls = [(describe(m, resources.route_of), refusal_code(key, m)) for m in messages]
    return _reply_response(dispatcher.answer(envelope))


def refusal_code(key: KeyContext, message: Any) -> str | None:
    """The request-log reason of one message: "scope" for a tool, resource or prompt this key
    may not use (the message is answered with an error naming the scope), else None. A static
    property of key and message, so it is decided per message without running it."""
    name = named(message)
    if name is None:
        return None
    method = message["method"]
    if method == "resources/read":
        item = (resources.find_resource(name) or (None,))[0]
    else:
        item = (TOOLS if method == "tools/call" else PROMPTS).get(name)
    return Refusal.SCOPE.code if item is not None and not item.allowed(key) else None


def _read_body(dispatcher: Dispatcher):
    """(an HTTP refusal, None) or (None, what Dispatcher.read made of the body)."""
    if not _accepts(JSON_ACCEPT):
        return _rpc_error_response(406, "Not acceptable: the client must accept "
                                        "application/json."), None
    if request.mimetype != "application/json":
        return _rpc_error_response(415, "Unsupported media type: send the JSON-RPC message "
                                        "with 'Content-Type: application/json'."), None
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _too_large(), None
    headers = Headers(protocol_version=request.headers.get("MCP-Protocol-Version"),
                      method=request.headers.get("Mcp-Method"),
                      name=request.headers.get("Mcp-Name"))
    return None, dispatcher.read(body, headers)


def _too_large():
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return _rpc_error_response(413, f"The request body is larger than {limit} bytes.")


def _reply_response(reply: Reply):
    if reply.stream:
        return _event_stream(reply)
    if reply.body is None:
        response = current_app.response_class(status=reply.status)
        del response.headers["Content-Type"]  # 202 Accepted: no body at all
        return response
    response = current_app.json.response(reply.body)
    response.status_code = reply.status
    return response


def _event_stream(reply: Reply):
    """A whole stream at once: its messages as Server-Sent Events, then the end of the body."""
    if not _accepts(STREAM_ACCEPT):
        return _rpc_error_response(406, "Not acceptable: this answer is a stream; the client "
                                        "must accept text/event-stream.")
    events = "".join(f"event: message\ndata: {json.dumps(m, ensure_ascii=False)}\n\n"
                     for m in reply.stream)
    response = current_app.response_class(events, status=reply.status,
                                          mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"  # proxies must not hold the events back
    return response


@bp.after_request
def finish(response):
    # The key's request log says what was called, e.g. "/mcp tools/call create_contact": one
    # row per message of the body (each was charged), one row for a body refused as a whole.
    calls = g.pop("mcp_calls", ())
    return keyauth.finish(response, *(f"{request.path} {c}" if c else None for c, _ in calls),
                          reasons=[reason for _, reason in calls])


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    if isinstance(exc, faults.UNAVAILABLE_ERRORS):
        return faults.database_unavailable(exc)
    if isinstance(exc, HTTPException):  # e.g. 413 while reading the body
        status = exc.code or 400
        if status == 413:
            return _too_large()
        return _rpc_error_response(status, exc.description or exc.name)
    log_unexpected(exc)
    return _rpc_error_response(500, "Internal error; the request was not applied.",
                               code=INTERNAL_ERROR)


def init_app(app):
    app.config["MCP_ALLOWED_ORIGINS"] = parse_origins(app.config["MCP_ALLOWED_ORIGINS"])
    app.register_blueprint(bp)  # on the keyed app (keyauth/surface.py): no session, no CSRF
