"""RFC 9457 problem details: the one way the keyed surfaces (/api, /mcp) and faults.py report an error."""
from http import HTTPStatus

from flask import current_app

from .errorlog import request_id

PROBLEM_MIME = "application/problem+json"
# Specific problem types; everything else is "about:blank" (the HTTP status says it all).
VALIDATION_TYPE = "urn:sureapp:problem:validation-error"
RATE_LIMITED_TYPE = "urn:sureapp:problem:rate-limited"
LIMIT_EXCEEDED_TYPE = "urn:sureapp:problem:limit-exceeded"


class ApiProblem(Exception):
    """Raise anywhere in an API request to answer with a problem document."""

    def __init__(self, status: int, detail: str = "", *, title: str | None = None,
                 errors: dict[str, list[str]] | None = None, type_: str = "about:blank",
                 headers: dict[str, str] | None = None, extra: dict | None = None):
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.errors = errors
        self.type = type_
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def to_dict(self) -> dict:
        body = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        body["request_id"] = request_id()  # the X-Request-Id to quote when reporting it
        return body

    def to_response(self):
        response = current_app.json.response(self.to_dict())
        response.status_code = self.status
        response.mimetype = PROBLEM_MIME
        for name, value in self.headers.items():
            response.headers[name] = value
        return response


def problem_response(status: int, detail: str = "", **kwargs):
    """Shortcut for handlers that build a problem without raising it."""
    return ApiProblem(status, detail, **kwargs).to_response()


def validation_problem(errors: dict[str, list[str]], detail: str = "Some fields are invalid."):
    return ApiProblem(422, detail, title="Validation failed", errors=errors, type_=VALIDATION_TYPE)
