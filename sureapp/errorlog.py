"""The request id, and the one way an unexpected error is logged.

Every response carries `X-Request-Id`, and every log line written while a request runs names
it (`request_id` on each log record; the `sureapp` logger's handler prints it). A client's own
well-formed id (1–128 of letters, digits and `._:@/+=-`, first a letter or digit — what proxies
and tracing libraries send) is kept so its logs and ours line up; anything else is replaced by
one of ours, so a client can never write spaces, quotes or newlines into our logs.
An unexpected exception is logged as its type, the route, the request id and the code
locations it passed through — never its message, local variables, SQL parameters or the
request body, which may hold emails, custom fields or key material (finding 13.3). The engine
runs with `hide_parameters=True` (config.py) so even the database driver's own errors carry
no parameters.
"""
import logging
import random
import re
import sys
import traceback

from flask import Flask, has_request_context, request

log = logging.getLogger("sureapp.errors")
HEADER = "X-Request-Id"
ENVIRON_KEY = "sureapp.request_id"
_CLIENT_HEADER = "HTTP_X_REQUEST_ID"
REQUEST_ID_MAX = 128
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,%d}" % (REQUEST_ID_MAX - 1))
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [request %(request_id)s] %(message)s"


def request_id() -> str:
    """This request's id (the client's if well-formed, else made on first use), or "-"
    outside a request. An id names a request in logs, it guards nothing: 128 bits of `random`
    (reseeded in each forked worker) make it unique without a getrandom system call."""
    if not has_request_context():
        return "-"
    # On the WSGI environ, not `g`: an app context can outlive one request (tests, CLI).
    environ = request.environ
    rid = environ.get(ENVIRON_KEY)
    if rid is None:
        sent = environ.get(_CLIENT_HEADER)
        rid = sent if sent and _WELL_FORMED.fullmatch(sent) else f"{random.getrandbits(128):032x}"
        environ[ENVIRON_KEY] = rid
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


def _install_record_factory() -> None:
    """Every log record (ours, SQLAlchemy's, the libraries') gets `request_id`: the running
    request's id, or "-". Installed once per process; costs nothing when nothing logs."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def record_with_request_id(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id()
        return record

    record_with_request_id.adds_request_id = True
    logging.setLogRecordFactory(record_with_request_id)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it per test)."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def _install_handler() -> None:
    """The `sureapp` loggers print to stderr with the request id, unless the deployment
    configured a handler of its own (then its format decides; `%(request_id)s` is there)."""
    logger = logging.getLogger("sureapp")
    if logger.handlers:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)


def init_app(app: Flask) -> None:
    _install_record_factory()
    _install_handler()
    app.after_request(_add_request_id)
    # Flask logs an unhandled exception with its full traceback and message (which may quote
    # user input); route it through the one rule instead.
    app.log_exception = lambda exc_info: log_unexpected(exc_info[1])
