"""Which key string a request presents, and the 401 that says why it is not usable."""
from flask import Request

from ..problems import ApiProblem

CHALLENGE = 'Bearer realm="sureapp", error="{error}"'


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
