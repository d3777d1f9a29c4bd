"""The keyed request path, shared by /api and /mcp: which key is calling, may it call, what did
it cost.

Per request, in order: the key string from the headers (credentials.py) → its format and
checksum, pure CPU (keys/keystring.py, the only code touching plaintext) → one statement for the
key and its workspace (lookup.py) → the key-state decision (keys/state.py's refusal) → the
per-key budget (budget.py, one storage round trip). Only when authentication fails is the
client IP's failure budget charged, so a valid key is never refused because other requests
from its address failed. The calling key is `g.key`, a KeyContext; `finish(response)` adds the
ETag of a GET (conditional.py: 304 for a matching If-None-Match), the X-RateLimit-* headers
and queues the request-log entry (usage/recorder.py).
"""
from collections.abc import Sequence

from flask import Request, current_app, g, request

from ..keys import abilities, allowlist, keystring, state
from ..problems import ApiProblem
from ..timeutil import utcnow
from ..usage.recorder import record_request
from .budget import RATE_LIMIT_HEADER, budgets, describe_limit
from .conditional import tag_or_not_modified
from .context import KeyContext, WorkspaceRef
from .credentials import mcp_challenge, presented_key, unauthorized
from .lookup import find_key

__all__ = ["KeyContext", "WorkspaceRef", "authenticate", "charge", "require_ability", "finish",
           "record_refusal", "scope_refused", "unauthorized"]

SURFACES = tuple(state.SURFACE_LABELS)
AUTH_FAILURE_LIMIT_DEFAULT = "30 per minute"


def client_ip(req: Request) -> str:
    return req.remote_addr or "unknown"


def _identify(req: Request, surface: str) -> KeyContext:
    candidate = presented_key(req)
    if not candidate:
        raise unauthorized("An API key is required: send 'X-API-Key: <key>' or "
                           "'Authorization: Bearer <key>'.", "invalid_request")
    if not keystring.is_well_formed(candidate):
        raise unauthorized("This API key is malformed (wrong length, characters or checksum).")
    key = find_key(keystring.digest(candidate))
    if key is None:
        raise unauthorized("This API key is not valid.")
    if not allowlist.permits(key.allowed_ips, client_ip(req)):
        # Before the state checks: a caller elsewhere learns nothing about the key's state.
        record_refusal(key, state.Refusal.IP)
        raise ApiProblem(403, state.Refusal.IP.detail, title="Forbidden")
    refused = state.refusal(status=key.status, expires_at=key.expires_at, key_type=key.key_type,
                            surface=surface, now=utcnow(), via_previous=key.presented_previous,
                            previous_key_expires_at=key.previous_key_expires_at)
    if refused is not None:
        record_refusal(key, refused)
        raise unauthorized(refused.message(key.key_type, surface))
    return key


def record_refusal(key: KeyContext, refused: state.Refusal) -> None:
    """This request named `key` and is refused for `refused` (revoked, expired, scope, ip…):
    finish() logs it in that key's request log with `refused.code`, whatever the answer is, so
    the key page shows why an integration stopped working. The caller raises its problem."""
    g.refused = (key, refused.code)


def authenticate(req: Request, surface: str) -> KeyContext:
    """The usable key making this request, set as g.key; raises a 401 problem (a 429 once the
    client IP has failed too often)."""
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}")
    try:
        key = _identify(req, surface)
    except ApiProblem as problem:
        failures = budgets().charge(
            "auth-failure", client_ip(req),
            current_app.config.get("API_AUTH_FAILURE_LIMIT", AUTH_FAILURE_LIMIT_DEFAULT))
        if failures is not None:
            g.budget = failures
            if not failures.admitted:
                raise failures.exceeded("Too many failed authentication attempts from this "
                                        "address. Wait for the reset and try again.") from None
        if surface == "mcp" and problem.status == 401:
            raise mcp_challenge(problem) from None  # points OAuth clients at the metadata
        raise problem
    g.key = key
    return key


def charge(key: KeyContext, units: int = 1) -> None:
    """Charge `units` requests to the key's budget (API_RATE_LIMIT), admitted whole or refused
    whole with a 429 (nothing charged). The result's headers go on the response (finish)."""
    limit = current_app.config["API_RATE_LIMIT"]
    budget = budgets().charge("key", str(key.id), limit, units)
    if budget is None:
        return
    g.budget = budget
    if not budget.admitted:
        asked = "" if units == 1 else f" ({units} asked at once, {max(budget.remaining, 0)} left)"
        raise budget.exceeded(f"This key may make {describe_limit(limit)}{asked}. "
                              "Wait for the reset and try again.")


def require_ability(key: KeyContext, ability: str, resource: str | None) -> None:
    """403 naming what the key lacks (scope_refused), recorded on the key as refusal `scope`.
    `resource` None: the ability on every resource."""
    if not key.allows(ability, resource):
        record_refusal(key, state.Refusal.SCOPE)
        raise scope_refused(ability, resource)


def scope_refused(ability: str, resource: str | None) -> ApiProblem:
    """The 403 problem of a key lacking `ability` on `resource`: `detail` in words,
    `required_ability` (`write`) and `required_scope` (`contacts:write`)."""
    return ApiProblem(403, abilities.refusal_detail(ability, resource), title="Forbidden",
                      extra={"required_ability": ability,
                             "required_scope": ability if resource is None
                             else abilities.scope(ability, resource)})


def finish(response, *paths: str | None, reasons: Sequence[str | None] = ()):
    """after_request of a keyed surface: ETag (304 for a matching If-None-Match) on a GET,
    X-RateLimit-* from the budget this request was charged to, the request-log entries, and no
    caching. One entry per path given (a path may name what was called; /mcp gives one per
    message of a batch, as it charged one unit each), else one; `reasons[i]` is why entry i was
    refused (an MCP tool outside the key's scope) when the request as a whole was not."""
    req, state = request._get_current_object(), g._get_current_object()  # not a proxy per use
    tag_or_not_modified(req.method, req.headers.get("If-None-Match"), response)
    budget = state.get("budget")
    if budget is not None:
        # Appended, not set one by one (each set scans every header): only the 429 of a
        # refused charge carries them already.
        if RATE_LIMIT_HEADER in response.headers:
            response.headers.update(budget.headers())
        else:
            response.headers.extend(budget.headers())
    key, reason = state.get("refused") or (state.get("key"), None)
    if key is not None:
        for i, path in enumerate(paths or (None,)):
            record_request(key, response.status_code, path,
                           reason or (reasons[i] if i < len(reasons) else None))
    response.headers.setdefault("Cache-Control", "no-store")
    return response
