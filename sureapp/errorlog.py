"""The request id and the one way an unexpected error is logged.

Every response carries `X-Request-Id` (made here, once per request: incoming ids are not
trusted, they would let a client write into our logs). An unexpected exception is logged as its
type, the route, the request id and the code locations it passed through — never its message,
local variables, SQL parameters or the request body, which may hold emails, custom fields or
key material (finding 13.3). The engine runs with `hide_parameters=True` (config.py) so even
the database driver's own errors carry no parameters.
"""
import logging
import traceback
import uuid

from flask import Flask, has_request_context, request

log = logging.getLogger("sureapp.errors")
HEADER = "X-Request-Id"
ENVIRON_KEY = "sureapp.request_id"


def request_id() -> str:
    """This request's id (made on first use), or "-" outside a request."""
    if not has_request_context():
        return "-"
    # On the WSGI environ, not `g`: an app context can outlive one request (tests, CLI).
    rid = request.environ.get(ENVIRON_KEY)
    if rid is None:
        rid = request.environ[ENVIRON_KEY] = uuid.uuid4().hex
    return rid


def _locations(exc: BaseException) -> str:
    """Where the exception passed, innermost last: file:line in function (no values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} in {f.name}"
                       for f in reversed(frames[-8:]))


def log_unexpected(exc: BaseException) -> None:
    """Log an unexpected exception: type, route, request id and code locations only."""
    route = "-"
    if has_request_context():  # the rule, not the path: a path can hold a token
        route = f"{request.method} {request.url_rule.rule if request.url_rule else '(no route)'}"
    log.error("unexpected %s.%s on %s (request %s) at %s", type(exc).__module__,
              type(exc).__qualname__, route, request_id(), _locations(exc))


def _add_request_id(response):
    response.headers.setdefault(HEADER, request_id())
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_request_id)
    # Flask logs an unhandled exception with its full traceback and message (which may quote
    # user input); route it through the one rule instead.
    app.log_exception = lambda exc_info: log_unexpected(exc_info[1])
