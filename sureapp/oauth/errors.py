"""RFC 6749 §5.2 error responses: `{"error": …, "error_description": …}` as JSON, never a page."""
from flask import jsonify


class OAuthError(Exception):
    """An OAuth error code (`invalid_request`, `invalid_grant`, …) with a sentence for people."""

    def __init__(self, error: str, description: str, status: int = 400,
                 headers: dict[str, str] | None = None):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.headers = dict(headers or {})

    def to_response(self):
        response = jsonify(error=self.error, error_description=self.description)
        response.status_code = self.status
        response.headers.update(self.headers)
        response.headers["Cache-Control"] = "no-store"
        return response
