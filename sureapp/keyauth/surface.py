"""The keyed surfaces' own Flask app: /api and /mcp without the browser machinery.

A request with a key pays for none of what a signed-in page needs: no session is opened or
saved, no user loaded (Flask-Login), no CSRF check, no Flask-Limiter pass, no template context
processors, no opportunistic purge. They are simply never registered on this app. It shares
the UI app's config object (a test's override reaches both), its database engines and
sessions (`db`), the usage recorder and every service; one process serves both, and
`KeyedDispatcher` sends each request to the app that owns its path without rewriting it.
"""
from flask import Flask, Response, request
from flask.sessions import SessionInterface

from ..extensions import db
from ..links import UI_APP
from . import cors
from ..security import HSTS, NON_HTML_CSP, STATIC_HEADERS

# security.py's headers for a response that is never HTML and never sets a cookie: constant,
# so appended to the finished header list (KeyedResponse) rather than added one by one to the
# Headers object (werkzeug validates each add and scans every header on each set).
KEYED_HEADERS = [*STATIC_HEADERS.items(), ("Content-Security-Policy", NON_HTML_CSP)]
KEY_ENVIRON = ("HTTP_X_API_KEY", "HTTP_AUTHORIZATION")  # the headers a key travels in

class NoSession(SessionInterface):
    """Keys, not cookies, authenticate here: nothing to open, nothing to save."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


class KeyedFlask(Flask):
    """No view or hook on the keyed surfaces is async: skip Flask's per-call coroutine check."""

    def ensure_sync(self, func):
        return func


class KeyedResponse(Response):
    """Every keyed response ends with KEYED_HEADERS (no view on these surfaces sets them)."""

    def get_wsgi_response(self, environ):
        app_iter, status, headers = super().get_wsgi_response(environ)
        return app_iter, status, headers + KEYED_HEADERS


def keyed_security_headers(response):
    """after_request: HSTS over HTTPS, and no caching of anything a key fetched (the constant
    security headers are KeyedResponse's)."""
    headers = response.headers
    if request.is_secure:
        headers.add("Strict-Transport-Security", HSTS)
    environ = request.environ
    if any(name in environ for name in KEY_ENVIRON):
        if headers.get("Cache-Control") != "no-store":  # keyauth.finish has set it mostly
            headers["Cache-Control"] = "no-store"
        headers.add("Pragma", "no-cache")  # no view here sets Pragma
    return response


def is_keyed_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/mcp" or path.startswith("/mcp/")


class KeyedDispatcher:
    """WSGI: /api/… and /mcp go to the keyed app, everything else to the UI app."""

    def __init__(self, ui_wsgi_app, keyed_app: Flask):
        self.ui_wsgi_app = ui_wsgi_app
        self.keyed_app = keyed_app

    def __call__(self, environ, start_response):
        if is_keyed_path(environ.get("PATH_INFO", "")):
            return self.keyed_app.wsgi_app(environ, start_response)
        return self.ui_wsgi_app(environ, start_response)


def create_keyed_app(ui_app: Flask) -> Flask:
    """The app serving /api and /mcp, sharing `ui_app`'s config, database and recorder."""
    app = KeyedFlask("sureapp.keyed", instance_path=ui_app.instance_path, static_folder=None)
    app.config = ui_app.config  # one config: create_app's and a test's overrides reach both
    app.session_interface = NoSession()
    app.response_class = KeyedResponse  # make_response turns every response into one
    # The same engines and scoped session as the UI app (one pool per process, not two);
    # Flask-SQLAlchemy keeps engines per app, so this app is registered onto the UI app's.
    app.extensions["sqlalchemy"] = db
    app.extensions[UI_APP] = ui_app  # links.external_url builds the UI's URLs on its map
    db._app_engines[app] = db._app_engines[ui_app]
    app.teardown_appcontext(db._teardown_session)
    cors.init_app(app)  # first: a preflight is answered before any guard runs
    app.after_request(keyed_security_headers)
    return app
