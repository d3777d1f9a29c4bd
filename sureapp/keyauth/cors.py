"""CORS for the keyed surfaces: which browser origins may call /api and /mcp.

`API_CORS_ORIGINS` (comma-separated, default none) lists them; `/mcp` also admits the origins
of `MCP_ALLOWED_ORIGINS`, the ones its Origin check lets through. Keys travel in headers, never
cookies, so no credentials mode is offered. A preflight (`OPTIONS`) needs no key and is
answered here, before any guard: 204 with the methods the path serves (`Allow`) and, for a
listed origin, the Access-Control-* headers; a plain OPTIONS (no CORS) gets the 204 with
`Allow` alone, an unknown path the usual 404. Every other response to a listed origin names
it in Access-Control-Allow-Origin and exposes the headers a client reads. Other origins get no
CORS headers at all, so the browser keeps the response from the page. With no origins
configured the cost per request is one config lookup.
"""
from flask import current_app, request
from werkzeug.exceptions import MethodNotAllowed

CONFIG = "API_CORS_ORIGINS"
ALLOW_HEADERS = ", ".join((
    "X-API-Key", "Authorization", "Content-Type", "Idempotency-Key", "If-None-Match",
    "X-Request-Id", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Mcp-Session-Id",
    "Last-Event-ID"))
EXPOSE_HEADERS = ", ".join((
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After",
    "X-Request-Id", "ETag", "Location", "Idempotent-Replayed", "WWW-Authenticate",
    "MCP-Protocol-Version"))
MAX_AGE_SECONDS = "600"  # browsers cache a preflight this long (Chromium caps it at 7200)
MCP_PATH = "/mcp"


def parse_origins(value) -> frozenset[str]:
    """Origins from a comma-separated string (or an iterable), compared as browsers send them:
    lower-case, no trailing slash."""
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(o.strip().rstrip("/").lower() for o in value if o.strip())


def _listed(origin: str) -> bool:
    origin = origin.rstrip("/").lower()
    config = current_app.config
    if origin in config[CONFIG]:
        return True
    return request.path == MCP_PATH and origin in config["MCP_ALLOWED_ORIGINS"]


def api_origin_listed(origin: str) -> bool:
    """Whether API_CORS_ORIGINS names `origin` (mcp/routes.py's Origin check admits them)."""
    return origin.rstrip("/").lower() in current_app.config[CONFIG]


def _methods_here() -> list[str] | None:
    """The methods this path serves, or None if nothing is served here (a 404)."""
    if request.path == MCP_PATH:
        return ["POST"]
    failed = request.routing_exception
    if isinstance(failed, MethodNotAllowed) and failed.valid_methods:
        return sorted(set(failed.valid_methods) - {"OPTIONS"})
    return None


def answer_preflight():
    """before_request of the keyed app (first of all): answer OPTIONS without a key."""
    if request.method != "OPTIONS":
        return None
    methods = _methods_here()
    if methods is None:
        return None  # no such path: the app's 404
    response = current_app.response_class(status=204)
    del response.headers["Content-Type"]
    response.headers["Allow"] = ", ".join(["OPTIONS", *methods])
    origin = request.headers.get("Origin")
    if origin and _listed(origin):
        response.headers.update({
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE_SECONDS,
        })
    return response


def add_cors_headers(response):
    """after_request of the keyed app: a listed origin may read this response."""
    config = current_app.config
    if not (config[CONFIG] or (config["MCP_ALLOWED_ORIGINS"] and request.path == MCP_PATH)):
        return response
    headers = response.headers
    headers.add("Vary", "Origin")  # the answer depends on it (shared caches, the browser's)
    origin = request.headers.get("Origin")
    if origin and _listed(origin):
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response


def init_app(app) -> None:
    """On the keyed app, before any other hook: a preflight is answered before any guard."""
    app.config[CONFIG] = parse_origins(app.config.get(CONFIG) or "")
    app.before_request(answer_preflight)
    app.after_request(add_cors_headers)
