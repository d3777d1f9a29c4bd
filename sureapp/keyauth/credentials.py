"""Which key string a request presents, and the 401 that says why it is not usable."""
from flask import Request

from ..links import external_base
from ..problems import ApiProblem

CHALLENGE = 'Bearer realm="sureapp", error="{error}"'
# RFC 9728 §5.1 / MCP authorization: a 401 from /mcp says where its OAuth metadata is (served by
# sureapp/oauth/routes.py) and which scope to ask for (the OAuth scopes are ability strings).
RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"
MCP_SCOPE = "read write delete"


def mcp_challenge(problem: ApiProblem) -> ApiProblem:
    """`problem` (a 401 of /mcp) with the OAuth challenge: resource_metadata and scope added.
    Without a trustworthy public address (no PUBLIC_URL, not loopback) only the scope is added."""
    challenge = problem.headers.get("WWW-Authenticate", CHALLENGE.format(error="invalid_token"))
    base = external_base()
    if base is not None:
        challenge += f', resource_metadata="{base}{RESOURCE_METADATA_PATH}"'
    problem.headers["WWW-Authenticate"] = f'{challenge}, scope="{MCP_SCOPE}"'
    return problem


def unauthorized(detail: str, error: str = "invalid_token") -> ApiProblem:
    return ApiProblem(401, detail, title="Unauthorized",
                      headers={"WWW-Authenticate": CHALLENGE.format(error=error)})


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
