"""The discovery documents: RFC 9728 protected-resource metadata for /mcp and RFC 8414
authorization-server metadata. Every URL in them is built on PUBLIC_URL (links.external_base),
never on a forged Host header; without a trustworthy address they cannot be served."""
from flask import url_for

from ..keyauth.credentials import MCP_SCOPE
from ..keys.abilities import ALL_SCOPES
from ..links import external_base
from ..models import ABILITIES, CLIENT_AUTH_METHODS
from .errors import OAuthError

MCP_PATH = "/mcp"
# The OAuth scopes are the key abilities: read/write/delete on every resource, or one resource's.
SCOPES_SUPPORTED = (*ABILITIES, *ALL_SCOPES)
DEFAULT_SCOPE = MCP_SCOPE


def issuer() -> str:
    """This authorization server's issuer identifier (scheme://host, no trailing slash)."""
    base = external_base()
    if base is None:
        raise OAuthError("temporarily_unavailable", "Set PUBLIC_URL to this server's public "
                         "address (e.g. https://sureapp.example.com): OAuth needs a trustworthy "
                         "address to name itself.", 503)
    return base


def resource() -> str:
    """The protected resource an access token is for (RFC 8707): this server's /mcp."""
    return issuer() + MCP_PATH


def names_this_resource(value: str) -> bool:
    return value in (resource(), resource() + "/")


def protected_resource() -> dict:
    return {
        "resource": resource(),
        "authorization_servers": [issuer()],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "bearer_methods_supported": ["header"],
        "resource_name": "sureapp MCP",
    }


def authorization_server() -> dict:
    base = issuer()
    return {
        "issuer": base,
        "authorization_endpoint": base + url_for("oauth.authorize"),
        "token_endpoint": base + url_for("oauth.token"),
        "registration_endpoint": base + url_for("oauth.register"),
        "revocation_endpoint": base + url_for("oauth.revoke"),
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
    }
