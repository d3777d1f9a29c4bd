"""OAuth clients: dynamic registration (RFC 7591), Client ID Metadata Documents (a client_id that
is an https URL naming the client's own JSON document), client authentication at the token and
revocation endpoints, and the redirect URI rules (exact match; any port on loopback, RFC 8252).

A metadata document is fetched by the server, so it goes through netguard's SSRF rule exactly
like a webhook delivery: https only, every resolved address public, the checked address the
one connected to, no redirects followed, a small size and time budget.
"""
import base64
import binascii
import hashlib
import hmac
import http.client
import json
import secrets
import time
from datetime import timedelta, timezone
from urllib.parse import unquote, urlsplit

from flask import Request
from sqlalchemy import select

from ..extensions import db
from ..models import CLIENT_AUTH_METHODS, OAuthClient
from ..netguard import UnsafeURL, connection, parse_url, resolve_target
from ..timeutil import utcnow
from ..validation import has_control_characters
from .errors import OAuthError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2048
NAME_MAX_LENGTH = 100
GRANT_TYPES = ("authorization_code", "refresh_token")
# Metadata documents: the draft asks servers to bound them; 5 KB is its suggestion.
DOCUMENT_MAX_BYTES = 5 * 1024
DOCUMENT_TIMEOUT_SECONDS = 5.0
DOCUMENT_CACHE = timedelta(hours=1)
USER_AGENT = "sureapp-oauth/1"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# ---- redirect URIs ---------------------------------------------------------------------------

def _is_loopback_http(parts) -> bool:
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def check_redirect_uri(uri) -> str:
    """A redirect URI a client may register: https, http on a loopback host (native apps, RFC
    8252 §7.3), or a private-use scheme in reverse-domain form (`com.example.app:/cb`, §7.1);
    absolute, no fragment. OAuthError(invalid_redirect_uri) says what is wrong."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH:
        raise OAuthError("invalid_redirect_uri",
                         f"Each redirect URI must be a string of 1 to {MAX_URI_LENGTH} characters.")
    if has_control_characters(uri) or any(c.isspace() for c in uri):
        raise OAuthError("invalid_redirect_uri",
                         "A redirect URI cannot contain spaces or control characters.")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} is not a valid URI.") from None
    if parts.fragment or "#" in uri:
        raise OAuthError("invalid_redirect_uri", "A redirect URI cannot contain a #fragment.")
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return uri
    if scheme == "http" and parts.hostname:
        if _is_loopback_http(parts):
            return uri
        raise OAuthError("invalid_redirect_uri", "Use https for a redirect URI; plain http is "
                         "allowed only on a loopback address (127.0.0.1, [::1], localhost).")
    if "." in scheme and scheme not in ("javascript", "data", "file", "vbscript"):
        return uri  # a private-use scheme of a native app (reverse domain name)
    raise OAuthError("invalid_redirect_uri", "Use an https redirect URI, http on a loopback "
                     "address, or an app's own reverse-domain scheme (com.example.app:/callback).")


def redirect_matches(registered: str, presented: str) -> bool:
    """Exact string match, except that a loopback http URI may use any port (RFC 8252 §7.3:
    native apps get an ephemeral port from the operating system)."""
    if registered == presented:
        return True
    a, b = urlsplit(registered), urlsplit(presented)
    try:
        b.port  # noqa: B018
    except ValueError:
        return False
    return (_is_loopback_http(a) and _is_loopback_http(b) and a.hostname == b.hostname
            and a.path == b.path and a.query == b.query and not b.fragment
            and b.username is None and b.password is None)


def redirect_uri_for(client: OAuthClient, presented: str | None) -> str:
    """The redirect URI to use for this authorization request; OAuthError (shown on our page,
    never redirected to) when it is not one the client registered."""
    if not presented:
        if len(client.redirect_uris) == 1:
            return client.redirect_uris[0]
        raise OAuthError("invalid_request", "redirect_uri is required: this client registered "
                         "more than one.")
    if any(redirect_matches(r, presented) for r in client.redirect_uris):
        return presented
    raise OAuthError("invalid_request", "This redirect_uri is not one the client registered; "
                     "nothing is sent to it.")


# ---- dynamic registration --------------------------------------------------------------------

def _clean_name(value, fallback: str) -> str:
    if value is None:
        return fallback
    if not isinstance(value, str) or has_control_characters(value) or not value.strip():
        raise OAuthError("invalid_client_metadata",
                         "client_name must be visible text (no control characters).")
    value = " ".join(value.split())
    return value[:NAME_MAX_LENGTH]


def _fallback_name(redirect_uris: list[str]) -> str:
    parts = urlsplit(redirect_uris[0])
    return f"Unnamed client ({parts.hostname or parts.scheme})"


def _check_list(metadata: dict, field: str, allowed: tuple[str, ...], default: list[str]) -> list:
    values = metadata.get(field, default)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise OAuthError("invalid_client_metadata", f"{field} must be a list of strings.")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise OAuthError("invalid_client_metadata",
                         f"{field} {unknown[0]!r} is not supported: use {', '.join(allowed)}.")
    return values


def _check_redirect_uris(metadata: dict) -> list[str]:
    uris = metadata.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise OAuthError("invalid_redirect_uri", "redirect_uris must list at least one URI.")
    if len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError("invalid_redirect_uri",
                         f"Register at most {MAX_REDIRECT_URIS} redirect URIs.")
    return [check_redirect_uri(u) for u in uris]


def _optional_url(metadata: dict, field: str) -> str:
    value = metadata.get(field)
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > MAX_URI_LENGTH or \
            urlsplit(value).scheme not in ("http", "https") or has_control_characters(value):
        raise OAuthError("invalid_client_metadata", f"{field} must be an http(s) URL.")
    return value


def register(metadata) -> tuple[OAuthClient, str | None]:
    """Register a client from its RFC 7591 metadata; returns it with its client secret (None for
    a public client), which the caller answers once. The default auth method is RFC 7591's,
    client_secret_basic; public clients (most MCP clients) ask for "none"."""
    if not isinstance(metadata, dict):
        raise OAuthError("invalid_client_metadata", "Send the client metadata as a JSON object.")
    redirect_uris = _check_redirect_uris(metadata)
    _check_list(metadata, "grant_types", GRANT_TYPES, list(GRANT_TYPES))
    _check_list(metadata, "response_types", ("code",), ["code"])
    method = metadata.get("token_endpoint_auth_method") or "client_secret_basic"
    if method not in CLIENT_AUTH_METHODS:
        raise OAuthError("invalid_client_metadata", f"token_endpoint_auth_method {method!r} is "
                         f"not supported: use {', '.join(CLIENT_AUTH_METHODS)}.")
    secret = None if method == "none" else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=f"mcp_{secrets.token_urlsafe(18)}", kind="registered",
        name=_clean_name(metadata.get("client_name"), _fallback_name(redirect_uris)),
        client_uri=_optional_url(metadata, "client_uri"), redirect_uris=redirect_uris,
        auth_method=method, secret_hash=_digest(secret) if secret else None)
    db.session.add(client)
    db.session.flush()
    return client, secret


def registration_response(client: OAuthClient, secret: str | None) -> dict:
    """RFC 7591 §3.2.1: the client's information as registered."""
    body = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.replace(tzinfo=timezone.utc).timestamp()),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": list(GRANT_TYPES),
        "response_types": ["code"],
        "token_endpoint_auth_method": client.auth_method,
    }
    if client.client_uri:
        body["client_uri"] = client.client_uri
    if secret is not None:
        body["client_secret"] = secret
        body["client_secret_expires_at"] = 0  # never
    return body


# ---- Client ID Metadata Documents ------------------------------------------------------------

def is_metadata_url(client_id: str) -> bool:
    return client_id.startswith("https://")


def check_metadata_url(client_id: str) -> None:
    """The draft's rules for a client_id URL (https, a path, no dot segments, no fragment, no
    credentials) and netguard's shape rules; UnsafeURL says which is broken."""
    scheme, _host, _port, path = parse_url(client_id)
    parts = urlsplit(client_id)
    if scheme != "https":
        raise UnsafeURL("A client_id URL must use https.")
    if parts.path in ("", "/"):
        raise UnsafeURL("A client_id URL must have a path (not just the host).")
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        raise UnsafeURL("A client_id URL cannot contain . or .. path segments.")


def fetch_document(client_id: str) -> bytes:
    """GET the metadata document under the SSRF rule; UnsafeURL for a refused address, OSError
    and ValueError for a failed or unusable answer."""
    target = resolve_target(client_id)
    deadline = time.monotonic() + DOCUMENT_TIMEOUT_SECONDS
    last_error: Exception = OSError("could not connect")
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        conn = connection(target, address, remaining)
        try:
            conn.request("GET", target.path, headers={
                "Accept": "application/json", "User-Agent": USER_AGENT,
                "Host": target.host_header})
            response = conn.getresponse()
            if response.status != 200:
                raise ValueError(f"it answered HTTP {response.status} (redirects are not followed)")
            body = response.read(DOCUMENT_MAX_BYTES + 1)
            if len(body) > DOCUMENT_MAX_BYTES:
                raise ValueError(f"it is larger than {DOCUMENT_MAX_BYTES} bytes")
            return body
        except http.client.HTTPException:
            raise ValueError("its answer is not valid HTTP") from None
        except OSError as exc:  # refused, unreachable, timed out: the next address, if any
            last_error = exc
        finally:
            conn.close()
    raise last_error


def _parse_document(client_id: str, body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_client", "The client's metadata document is not JSON.") from None
    if not isinstance(document, dict):
        raise OAuthError("invalid_client", "The client's metadata document is not a JSON object.")
    if document.get("client_id") != client_id:
        raise OAuthError("invalid_client", "The client's metadata document names another "
                         "client_id than its own URL.")
    if "client_secret" in document or document.get("token_endpoint_auth_method",
                                                   "none") != "none":
        raise OAuthError("invalid_client", "A client known by its metadata document cannot use "
                         "a shared secret: its token_endpoint_auth_method must be none.")
    return document


def _load_document(client_id: str, known: OAuthClient | None) -> OAuthClient:
    try:
        check_metadata_url(client_id)
        body = fetch_document(client_id)
    except UnsafeURL as exc:
        raise OAuthError("invalid_client", f"The client_id URL cannot be fetched: {exc}") from None
    except (OSError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "it did not answer"
        raise OAuthError("invalid_client", f"The client's metadata document could not be "
                         f"fetched: {reason}.") from None
    document = _parse_document(client_id, body)
    try:
        redirect_uris = _check_redirect_uris(document)
        name = _clean_name(document.get("client_name"), urlsplit(client_id).hostname or "")
        client_uri = _optional_url(document, "client_uri")
    except OAuthError as exc:
        raise OAuthError("invalid_client", f"The client's metadata document is unusable: "
                         f"{exc.description}") from None
    client = known or OAuthClient(client_id=client_id, kind="metadata_document")
    client.name, client.client_uri, client.redirect_uris = name, client_uri, redirect_uris
    client.auth_method, client.secret_hash, client.fetched_at = "none", None, utcnow()
    if known is None:
        db.session.add(client)
    db.session.flush()
    return client


def find_client(client_id, *, refresh: bool = False) -> OAuthClient:
    """The client named `client_id`; a metadata document URL is fetched when unknown, or when
    `refresh` and the cached copy is older than DOCUMENT_CACHE. OAuthError(invalid_client)."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_URI_LENGTH:
        raise OAuthError("invalid_client", "client_id is missing or not valid.", 401)
    known = db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if is_metadata_url(client_id):
        stale = known is None or (refresh and known.fetched_at is not None
                                  and utcnow() - known.fetched_at > DOCUMENT_CACHE)
        return _load_document(client_id, known) if stale else known
    if known is None:
        raise OAuthError("invalid_client", "No client is registered with this client_id.", 401)
    return known


# ---- client authentication (token and revocation endpoints) ---------------------------------

def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "The Basic credentials are not valid base64.", 401,
                         {"WWW-Authenticate": 'Basic realm="sureapp"'}) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "The Basic credentials need client_id:secret.", 401,
                         {"WWW-Authenticate": 'Basic realm="sureapp"'})
    return unquote(client_id), unquote(secret)  # RFC 6749 §2.3.1: form-encoded first


def authenticate_client(request: Request) -> OAuthClient:
    """The client making this token/revocation request, authenticated as it registered;
    OAuthError(invalid_client, 401) otherwise. Secrets are compared in constant time."""
    basic = _basic_credentials(request)
    form_id = request.form.get("client_id")
    if basic is not None:
        client_id, secret = basic
        if form_id is not None and form_id != client_id:
            raise OAuthError("invalid_request", "client_id in the body and in the Basic "
                             "credentials differ.")
        used = "client_secret_basic"
    else:
        client_id, secret = form_id, request.form.get("client_secret")
        used = "client_secret_post" if secret is not None else "none"
    client = find_client(client_id)
    challenge = {"WWW-Authenticate": 'Basic realm="sureapp"'} if basic is not None else {}
    if client.auth_method == "none":
        if basic is not None or secret is not None:
            raise OAuthError("invalid_client", "This client is public (registered with "
                             "token_endpoint_auth_method none): send no secret.", 401, challenge)
        return client
    if used != client.auth_method or not client.secret_hash or not secret or \
            not hmac.compare_digest(_digest(secret), client.secret_hash):
        raise OAuthError("invalid_client", f"Client authentication failed (this client "
                         f"authenticates with {client.auth_method}).", 401, challenge)
    return client
