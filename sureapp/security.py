"""Browser-facing security for every response: CSP and the other security headers, no-store
caching for anything private, Secure cookies whenever the request arrived over HTTPS, HEAD
answered as GET, and a friendly page for a missing/expired CSRF token."""
from flask import Flask, g, request, session
from flask_wtf.csrf import CSRFError

from .web import error_page

# Pages: only our own static files run or style anything. htmx is configured (base.html
# htmx-config) to inject no <style> and never eval, so neither needs 'unsafe-inline'/'unsafe-eval'.
HTML_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# JSON, problem details, files: nothing in them may ever be run, framed or rendered as a page.
NON_HTML_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def shows_secret() -> None:
    """Call from a view whose response contains a secret (a key's plaintext): never cached."""
    g.shows_secret = True


def _is_private(response) -> bool:
    """A response that must not be stored by a browser or proxy cache."""
    if getattr(g, "shows_secret", False):
        return True
    if request.endpoint == "static":
        return False
    # Key-authenticated traffic carries one workspace's data.
    if "X-API-Key" in request.headers or "Authorization" in request.headers:
        return True
    # Anything a signed-in browser gets may carry workspace data, whatever its type: pages,
    # fragments, CSV exports, import error reports (finding 13.9). The session, not
    # current_user: no database work here, so this also holds while the database is down.
    return "_user_id" in session


def apply_security_headers(response):
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    csp = HTML_CSP if response.mimetype == "text/html" else NON_HTML_CSP
    response.headers.setdefault("Content-Security-Policy", csp)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if _is_private(response):
        # A view's own no-store stays; anything weaker (or nothing) is replaced.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


class HeadAsGet:
    """WSGI middleware: a HEAD request runs as its GET and the body is dropped (RFC 9110 §9.3.2).

    Flask routes HEAD to the GET view but leaves request.method == "HEAD", so any view that
    asks `request.method == "GET"` answered HEAD like a POST (HEAD /login was a 422). Seen as
    GET, every view answers alike; the headers (Content-Length included) are the GET's.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "HEAD":
            return self.wsgi_app(environ, start_response)
        environ["REQUEST_METHOD"] = "GET"
        body = self.wsgi_app(environ, start_response)
        if hasattr(body, "close"):
            body.close()  # lets the app finish its work (teardown, streamed responses)
        return []


class SecureCookiesOverHttps:
    """WSGI middleware: adds `Secure` to every Set-Cookie when the request came over HTTPS.

    Sits outside ProxyFix yet sees its work: ProxyFix rewrites wsgi.url_scheme in the same
    environ before the app calls start_response. This also covers the session cookie, which
    Flask writes after every after_request hook has run.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def secure_start_response(status, headers, exc_info=None):
            if environ.get("wsgi.url_scheme") == "https":
                headers = [_secure_cookie(name, value) for name, value in headers]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


def _secure_cookie(name: str, value: str) -> tuple[str, str]:
    if name.lower() != "set-cookie":
        return name, value
    attributes = {part.strip().lower() for part in value.split(";")[1:]}
    return name, value if "secure" in attributes else f"{value}; Secure"


def init_app(app: Flask) -> None:
    app.after_request(apply_security_headers)
    app.wsgi_app = HeadAsGet(SecureCookiesOverHttps(app.wsgi_app))

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        """A stale tab or a forged request: explain, never act (400)."""
        message = ("This form has expired or did not come from sureapp. "
                   "Reload the page and try again.")
        return error_page(400, "Please try again", message)
