"""The rules of a connection: what an authorization request must say, who may allow it, the
single-use code (PKCE S256), the access token — an `mcp` API key made by keys/services, so it is
a key in every sense (format, digest, checksum, state rules, budget, request log, the API Keys
table) — and the refresh token, which rotates on every use; presenting a used one again ends
the whole grant, as does a second use of a code.

Services here take values, raise OAuthError / ValidationFailed / policy.Forbidden and never
commit. An OAuthError after a security action (a burned code, an ended grant) is raised only
after that action was written, and the token endpoint commits it with the error.
"""
import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, exists, select, update

from ..errors import ValidationFailed
from ..extensions import db
from ..keys import abilities as ability_strings, keystring, services as key_services
from ..models import (ApiKey, OAuthClient, OAuthCode, OAuthGrant, OAuthRefreshToken, User,
                      Workspace)
from ..policy import Permission, can, require
from ..tenancy.access import accessible_workspaces, workspace_role
from ..timeutil import utcnow
from . import clients, metadata
from .errors import OAuthError

ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
CODE_LIFETIME = timedelta(minutes=2)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
# Asked for by clients that follow OpenID habits; refresh tokens are always issued here.
IGNORED_SCOPES = frozenset({"offline_access"})
CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")  # BASE64URL(SHA-256), no padding
MAX_STATE_LENGTH = 1024
CONSENT_DENIED = "Only Managers and above can connect an assistant to a workspace."


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA-256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def requested_abilities(scope) -> str:
    """The canonical ability string for an OAuth `scope` (space-separated ability strings:
    `read write`, `contacts:read`); none asked means metadata.DEFAULT_SCOPE."""
    values = [s for s in (scope or "").split(" ") if s and s not in IGNORED_SCOPES]
    try:
        return ability_strings.normalize(values or metadata.DEFAULT_SCOPE.split())
    except ability_strings.InvalidAbilities as exc:
        raise OAuthError("invalid_scope", str(exc)) from None


def scope_of(abilities: str) -> str:
    return " ".join(ability_strings.split(abilities))


# ---- the authorization request --------------------------------------------------------------

class RedirectedError(OAuthError):
    """An error the client learns through its redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None):
        super().__init__(error, description)
        self.redirect_uri, self.state = redirect_uri, state

    def location(self) -> str:
        return redirect_location(self.redirect_uri, error=self.error,
                                 error_description=self.description, state=self.state)


def redirect_location(redirect_uri: str, **params) -> str:
    """`redirect_uri` with `params` (None left out) and `iss` added to its query (RFC 9207)."""
    params["iss"] = metadata.issuer()
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{redirect_uri}{'&' if urlsplit(redirect_uri).query else '?'}{query}"


@dataclass(frozen=True)
class AuthorizationRequest:
    client: OAuthClient
    redirect_uri: str
    state: str | None
    code_challenge: str
    abilities: str  # canonical ability string the client asked for
    resource: str

    @property
    def redirect_host(self) -> str:
        parts = urlsplit(self.redirect_uri)
        return parts.netloc or f"{parts.scheme}:"

    @property
    def redirect_origin(self) -> str:
        """The CSP source of the redirect target (the consent form's answer goes there)."""
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


def read_authorization_request(args) -> AuthorizationRequest:
    """Check an authorization request's parameters. A bad client or redirect URI raises
    OAuthError (shown to the person, never redirected); anything else RedirectedError."""
    client = clients.find_client(args.get("client_id"), refresh=True)
    redirect_uri = clients.redirect_uri_for(client, args.get("redirect_uri"))
    state = args.get("state")

    def refuse(error: str, description: str):
        return RedirectedError(error, description, redirect_uri, state)

    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise refuse("invalid_request", f"state is longer than {MAX_STATE_LENGTH} characters.")
    if args.get("response_type") != "code":
        raise refuse("unsupported_response_type", "Only response_type=code is supported.")
    challenge = args.get("code_challenge") or ""
    if args.get("code_challenge_method") != "S256":
        raise refuse("invalid_request", "PKCE is required with code_challenge_method=S256 "
                     "(plain is not accepted).")
    if not CODE_CHALLENGE.fullmatch(challenge):
        raise refuse("invalid_request", "code_challenge must be the 43-character BASE64URL "
                     "SHA-256 of the code verifier.")
    resource = args.get("resource") or metadata.resource()
    if not metadata.names_this_resource(resource) or len(args.getlist("resource")) > 1:
        raise refuse("invalid_target", f"resource must be this server's MCP endpoint, "
                     f"{metadata.resource()}.")
    try:
        abilities = requested_abilities(args.get("scope"))
    except OAuthError as exc:
        raise refuse(exc.error, exc.description) from None
    return AuthorizationRequest(client, redirect_uri, state, challenge, abilities,
                                metadata.resource())


def consentable_workspaces(user: User) -> list[Workspace]:
    """The workspaces `user` may connect a client to: those they manage keys in (Manager+)."""
    return [w for w in accessible_workspaces(user.id)
            if can(workspace_role(user.id, w), Permission.MANAGE_KEYS)]


def approve(request: AuthorizationRequest, user: User, workspace: Workspace,
            chosen: list[str]) -> str:
    """The user allowed `request` into `workspace` with the `chosen` abilities (a subset of
    those asked); returns the authorization code's plaintext. policy.Forbidden unless the user
    may manage keys there (abilities never exceed their role: whoever may create a key may
    give it any ability); ValidationFailed for a choice outside the request."""
    require(workspace_role(user.id, workspace), Permission.MANAGE_KEYS, CONSENT_DENIED)
    try:
        abilities = ability_strings.normalize(chosen)
    except ability_strings.InvalidAbilities as exc:
        raise ValidationFailed({"abilities": [str(exc)]}) from None
    asked = ability_strings.split(request.abilities)
    if not ability_strings.expand(ability_strings.split(abilities)) <= \
            ability_strings.expand(asked):
        raise ValidationFailed({"abilities": ["Choose among the abilities the client asked "
                                              "for."]})
    code = secrets.token_urlsafe(32)
    db.session.add(OAuthCode(
        code_hash=_digest(code), client_id=request.client.id, user_id=user.id,
        workspace_id=workspace.id, redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge, abilities=abilities, resource=request.resource,
        expires_at=utcnow() + CODE_LIFETIME))
    db.session.flush()
    return code


# ---- tokens ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    abilities: str

    def as_response(self) -> dict:
        return {"access_token": self.access_token, "token_type": "Bearer",
                "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
                "refresh_token": self.refresh_token, "scope": scope_of(self.abilities)}


def _new_refresh_token(grant: OAuthGrant, now: datetime) -> str:
    token = f"surert_{secrets.token_urlsafe(32)}"
    db.session.add(OAuthRefreshToken(grant_id=grant.id, token_hash=_digest(token),
                                     expires_at=now + REFRESH_TOKEN_LIFETIME))
    return token


def _actor_label(client: OAuthClient) -> str:
    return f"OAuth: {client.name}"


def _claim_once(model, row_id) -> bool:
    """Mark a code / refresh token used with one conditional UPDATE: exactly one of two racing
    requests wins, the other sees it as already used."""
    result = db.session.execute(update(model).where(model.id == row_id, model.used_at.is_(None))
                                .values(used_at=utcnow()))
    return result.rowcount == 1


def _check_resource(value: str | None, expected: str) -> None:
    if value is not None and value not in (expected, expected + "/"):
        raise OAuthError("invalid_target", f"resource must be {expected}, the resource this "
                         "grant is for.")


def exchange_code(client: OAuthClient, code: str | None, redirect_uri: str | None,
                  verifier: str | None, resource: str | None) -> TokenSet:
    """authorization_code grant: the code's access token (a new `mcp` key, 1 hour) and first
    refresh token. Any failed attempt uses the code up; a second use ends what the first
    issued."""
    if not code or not verifier:
        raise OAuthError("invalid_request", "code and code_verifier are required.")
    row = db.session.scalar(select(OAuthCode).where(OAuthCode.code_hash == _digest(code)))
    if row is None or row.client_id != client.id:
        raise OAuthError("invalid_grant", "This authorization code is not valid.")
    if not _claim_once(OAuthCode, row.id):
        if row.grant_id is not None:
            end_grant(db.session.get(OAuthGrant, row.grant_id), "code_reused")
        raise OAuthError("invalid_grant", "This authorization code was already used; the access "
                         "it gave has been revoked.")
    now = utcnow()
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "This authorization code expired; authorize again.")
    if redirect_uri != row.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri must be the one of the authorization "
                         "request.")
    if not CODE_VERIFIER.fullmatch(verifier) or \
            not hmac.compare_digest(pkce_challenge(verifier), row.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")
    _check_resource(resource, row.resource)
    workspace = db.session.get(Workspace, row.workspace_id)
    user = db.session.get(User, row.user_id)
    if not can(workspace_role(user.id, workspace), Permission.MANAGE_KEYS):
        raise OAuthError("invalid_grant", "The person who allowed this no longer manages the "
                         "workspace.")
    try:
        key, access_token = key_services.create_key(
            workspace, client.name, row.abilities, expires_at=now + ACCESS_TOKEN_LIFETIME,
            key_type="mcp", actor=user, actor_label=_actor_label(client))
    except ValidationFailed as exc:  # e.g. the organization's key policy
        raise OAuthError("invalid_request", " ".join(
            m for messages in exc.errors.values() for m in messages)) from None
    grant = OAuthGrant(client_id=client.id, user_id=user.id, workspace_id=workspace.id,
                       api_key_id=key.id, resource=row.resource)
    db.session.add(grant)
    db.session.flush()
    row.grant_id = grant.id
    refresh_token = _new_refresh_token(grant, now)
    db.session.flush()
    return TokenSet(access_token, refresh_token, key.abilities)


def refresh(client: OAuthClient, token: str | None, scope: str | None,
            resource: str | None) -> TokenSet:
    """refresh_token grant: rotate. The old refresh token is used up, the grant's key gets a new
    string valid for another hour (the old string stops), and a new refresh token is issued.
    A used refresh token presented again ends the grant (it was stolen, or the client is
    broken; either way nobody should hold it)."""
    if not token:
        raise OAuthError("invalid_request", "refresh_token is required.")
    row = db.session.scalar(select(OAuthRefreshToken)
                            .where(OAuthRefreshToken.token_hash == _digest(token)))
    grant = db.session.get(OAuthGrant, row.grant_id) if row is not None else None
    if grant is None or grant.client_id != client.id:
        raise OAuthError("invalid_grant", "This refresh token is not valid.")
    if not _claim_once(OAuthRefreshToken, row.id):
        end_grant(grant, "refresh_token_reused")
        raise OAuthError("invalid_grant", "This refresh token was already used. The connection "
                         "has been revoked for safety; connect again.")
    now = utcnow()
    if grant.revoked_at is not None:
        raise OAuthError("invalid_grant", "This connection was revoked; connect again.")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "This refresh token expired; connect again.")
    key = db.session.get(ApiKey, grant.api_key_id)
    if key.status == "revoked":
        end_grant(grant, "key_revoked")
        raise OAuthError("invalid_grant", "This connection's key was revoked on the API Keys "
                         "page; connect again.")
    user = db.session.get(User, grant.user_id) if grant.user_id else None
    if user is None or not can(workspace_role(user.id, key.workspace), Permission.MANAGE_KEYS):
        end_grant(grant, "role_lost")
        raise OAuthError("invalid_grant", "The person who allowed this connection no longer "
                         "manages the workspace; connect again.")
    if scope is not None and not ability_strings.expand(ability_strings.split(
            requested_abilities(scope))) <= ability_strings.expand(key.ability_list):
        raise OAuthError("invalid_scope", "A refresh cannot widen the scope; authorize again.")
    _check_resource(resource, grant.resource)
    access_token = key_services.regenerate_key(key, actor_label=_actor_label(client),
                                               expires_at=now + ACCESS_TOKEN_LIFETIME)
    refresh_token = _new_refresh_token(grant, now)
    db.session.flush()
    return TokenSet(access_token, refresh_token, key.abilities)


def end_grant(grant: OAuthGrant, reason: str) -> None:
    """End a connection: the grant is marked revoked (its refresh tokens stop) and its key is
    revoked (its access token stops at once), with `reason` in the key's audit trail."""
    if grant.revoked_at is None:
        grant.revoked_at, grant.revoked_reason = utcnow(), reason
    key = db.session.get(ApiKey, grant.api_key_id)
    if key is not None and key.status != "revoked":
        key_services.revoke_key(key, actor_label=_actor_label(grant.client),
                                note=f"OAuth connection ended: {reason.replace('_', ' ')}")
    db.session.flush()


def revoke_token(client: OAuthClient, token: str | None) -> None:
    """RFC 7009: end the grant a refresh or access token of `client` belongs to. An unknown
    token, or another client's, changes nothing (the answer is the same 200 either way)."""
    if not token:
        raise OAuthError("invalid_request", "token is required.")
    grant = None
    row = db.session.scalar(select(OAuthRefreshToken)
                            .where(OAuthRefreshToken.token_hash == _digest(token)))
    if row is not None:
        grant = db.session.get(OAuthGrant, row.grant_id)
    elif keystring.is_well_formed(token):
        grant = db.session.scalar(select(OAuthGrant).join(ApiKey, ApiKey.id == OAuthGrant.api_key_id)
                                  .where(ApiKey.key_hash == keystring.digest(token)))
    if grant is not None and grant.client_id == client.id:
        end_grant(grant, "revoked_by_client")


# ---- housekeeping ---------------------------------------------------------------------------

UNUSED_CLIENT_AGE = timedelta(days=1)
HOUSEKEEPING_INTERVAL = 3600.0  # seconds


def purge(now: datetime | None = None) -> int:
    """Delete what can never be used again: codes and refresh tokens a day past their expiry,
    and registered clients that got no grant within a day (a grant goes with its key, which
    the keys purge deletes 30 days after its revocation). Returns how many rows."""
    now = now or utcnow()
    removed = db.session.execute(delete(OAuthCode).where(
        OAuthCode.expires_at < now - timedelta(days=1))).rowcount or 0
    removed += db.session.execute(delete(OAuthRefreshToken).where(
        OAuthRefreshToken.expires_at < now - timedelta(days=1))).rowcount or 0
    idle = (OAuthClient.kind == "registered") & (OAuthClient.created_at < now - UNUSED_CLIENT_AGE) \
        & ~exists().where(OAuthGrant.client_id == OAuthClient.id) \
        & ~exists().where(OAuthCode.client_id == OAuthClient.id)
    removed += db.session.execute(delete(OAuthClient).where(idle)).rowcount or 0
    return removed
