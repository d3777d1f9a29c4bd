"""What sureapp does when a backing service fails.

Database unreachable (connection refused, server gone, SQLite file not openable, pool
exhausted): 503 with Retry-After — problem+json on /api and /mcp, a friendly page elsewhere —
and nothing to do on recovery: a disconnect error invalidates the pool, a keyed request retries
its first statement once on a fresh connection (keyauth/lookup.py), and the UI pings only
connections that sat idle (POOL_PING_IDLE_SECONDS), so the first request after the database is
back succeeds without a ping round trip on every checkout. Rate-limit storage (Redis) unreachable: limits
fail open with a logged warning (SECURITY.md explains why); see config.py and keyauth/budget.py.
"""
import logging

from flask import Flask, current_app, request
from sqlalchemy import exc as sa_exc

from .extensions import db
from .keyauth.surface import is_keyed_path
from .problems import problem_response

RETRY_AFTER_SECONDS = 5
# What "the database is not there" looks like through SQLAlchemy; other DB errors are bugs.
UNAVAILABLE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)

log = logging.getLogger(__name__)


def is_machine_request() -> bool:
    """API and MCP clients get JSON, never an HTML page."""
    return is_keyed_path(request.path)


def _describe(error: Exception) -> str:
    """First line of the driver's message: never the SQL or its parameters (may hold digests)."""
    orig = getattr(error, "orig", None) or error
    first_line = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first_line[:200]}"


def _forget_failed_transaction() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone too; the session is discarded at teardown
        pass


def unavailable_problem():
    """503 problem details for API/MCP clients."""
    return problem_response(
        503, "The database is temporarily unreachable. Retry the request shortly.",
        title="Service unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def unavailable_page():
    """Rendered straight from the Jinja environment: the layout's context processors query the
    database (current user, workspace switcher), which is exactly what is failing."""
    try:
        body = current_app.jinja_env.get_template("errors/unavailable.html").render(
            retry_after=RETRY_AFTER_SECONDS)
    except Exception:  # never turn a 503 into a 500
        body = "Service temporarily unavailable. Please try again in a moment."
    response = current_app.response_class(body, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_unavailable(error):
    _forget_failed_transaction()
    log.warning("Database unavailable on %s %s: %s", request.method, request.path,
                _describe(error))
    return unavailable_problem() if is_machine_request() else unavailable_page()


def init_app(app: Flask) -> None:
    for error_class in UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, database_unavailable)
