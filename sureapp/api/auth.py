"""Key resolution shared by /api and /mcp: which key is calling, and may it do this?

`authenticate()` reads the key from the headers, rejects malformed or checksum-failing strings
without touching the database, then makes one indexed lookup by SHA-256 digest. Every failure
raises an ApiProblem (401, or 429 when the client IP has failed too often); the MCP layer can
catch it and turn it into its own error.
"""
from flask import Request, g
from sqlalchemy import bindparam, inspect, or_, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..keys import keystring
from ..models import KEY_TYPE_SURFACES, ApiKey, Workspace
from ..timeutil import utcnow
from ..problems import ApiProblem
from .ratelimit import check_auth_failures, record_auth_failure

SURFACE_LABELS = {"api": "the JSON API", "mcp": "the MCP endpoint"}


def unauthorized(detail: str, error: str = "invalid_token") -> ApiProblem:
    challenge = {"WWW-Authenticate": f'Bearer realm="sureapp", error="{error}"'}
    return ApiProblem(401, detail, title="Unauthorized", headers=challenge)


def presented_key(request: Request) -> str | None:
    """The key string from X-API-Key or Authorization: Bearer; 401 if the two disagree."""
    header_key = request.headers.get("X-API-Key")
    bearer = None
    authorization = request.headers.get("Authorization")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            bearer = token.strip()
        elif header_key is None:
            raise unauthorized("Send the key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
                               "invalid_request")
    if header_key is not None:
        header_key = header_key.strip()
    if header_key is not None and bearer is not None and header_key != bearer:
        raise unauthorized("X-API-Key and Authorization: Bearer carry different keys; send one.",
                           "invalid_request")
    return header_key if header_key is not None else bearer


def _columns(model, prefix: str = "") -> list[tuple[str, str]]:
    """(attribute, result label) for every column of `model`."""
    return [(attr.key, prefix + attr.columns[0].name) for attr in inspect(model).column_attrs]


_KEY_FIELDS, _WORKSPACE_FIELDS = _columns(ApiKey), _columns(Workspace, "workspace__")
_keys, _workspaces = ApiKey.__table__, Workspace.__table__
# The hot path (PERF-NOTES: the ORM is the cost): one indexed lookup (both digests have unique
# indexes) that brings the workspace along, as a Core statement built once, so every request
# reuses its compiled form. The row is read fresh on every request: nothing about a key is
# cached, so a revoke is seen by every worker on its next request.
_KEY_BY_DIGEST = (
    select(_keys, *[c.label(f"workspace__{c.name}") for c in _workspaces.c])
    .join(_workspaces, _workspaces.c.id == _keys.c.workspace_id)
    .where(or_(_keys.c.key_hash == bindparam("digest"),
               _keys.c.previous_key_hash == bindparam("digest")))
)


def _as_loaded(model, row, fields):
    """The ORM object for a Core row, in the session as if a query had loaded it (no SQL);
    an instance already in the session gets the row's fresh values."""
    obj = model(**{attr: row[label] for attr, label in fields})
    make_transient_to_detached(obj)
    return db.session.merge(obj, load=False)


def _find_key(candidate: str) -> ApiKey | None:
    row = db.session.connection().execute(
        _KEY_BY_DIGEST, {"digest": keystring.digest(candidate)}).mappings().first()
    if row is None:
        return None
    key = _as_loaded(ApiKey, row, _KEY_FIELDS)
    set_committed_value(key, "workspace", _as_loaded(Workspace, row, _WORKSPACE_FIELDS))
    return key


def _reject_reason(key: ApiKey | None, candidate: str, surface: str, now) -> str | None:
    if key is None:
        return "This API key is not valid."
    if key.key_hash != keystring.digest(candidate):
        # Matched the string a regenerate replaced: usable only during its grace period.
        if key.previous_key_expires_at is None or key.previous_key_expires_at <= now:
            return "This API key was regenerated; use the new key."
    if key.status == "revoked":
        return "This API key has been revoked."
    if key.is_expired_at(now):
        return "This API key has expired."
    if surface not in KEY_TYPE_SURFACES.get(key.key_type, ()):
        return f"A key of type '{key.key_type}' cannot be used on {SURFACE_LABELS[surface]}."
    return None


def client_ip(request: Request) -> str:
    return request.remote_addr or "unknown"


def authenticate(request: Request, surface: str = "api") -> ApiKey:
    """The usable key making this request (also set as g.api_key / g.workspace), or raise a 401."""
    if surface not in SURFACE_LABELS:
        raise ValueError(f"unknown surface {surface!r}")
    # g outlives a request when an app context was already pushed (tests, CLI): start clean.
    for name in ("api_key", "workspace", "rate_budget"):
        g.pop(name, None)
    ip = client_ip(request)
    check_auth_failures(ip)
    try:
        candidate = presented_key(request)
        if not candidate:
            raise unauthorized("An API key is required: send 'X-API-Key: <key>' or "
                               "'Authorization: Bearer <key>'.", "invalid_request")
        if not keystring.is_well_formed(candidate):
            raise unauthorized("This API key is malformed (wrong length, characters or checksum).")
        key = _find_key(candidate)
        reason = _reject_reason(key, candidate, surface, utcnow())
        if reason:
            raise unauthorized(reason)
    except ApiProblem:
        record_auth_failure(ip)
        raise
    g.api_key, g.workspace = key, key.workspace
    return key


def require_ability(key: ApiKey, ability: str) -> None:
    """403 naming the ability the key lacks."""
    if ability not in key.ability_list:
        raise ApiProblem(403, f"This key lacks the '{ability}' ability, which this request needs.",
                         title="Forbidden", extra={"required_ability": ability})
