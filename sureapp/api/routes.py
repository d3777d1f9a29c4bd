"""The /api/v1 blueprint: guard, problem-details error handling, rate-limit headers, usage.

Served by the keyed app (keyauth/surface.py): no session, user, CSRF or UI hooks run here."""

from flask import current_app, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, default_exceptions

from .. import keyauth
from ..errorlog import log_unexpected
from ..errors import Conflict, DomainError, LimitExceeded, NotFound, ValidationFailed
from ..extensions import db, mark_read_only_request
from ..faults import UNAVAILABLE_ERRORS, database_unavailable
from ..problems import LIMIT_EXCEEDED_TYPE, ApiProblem, problem_response, validation_problem
from . import idempotency
from .operations import assert_every_view_declared, bp, declared_operation



@bp.before_request
def guard():
    """Resolve the key and its workspace (g.key), charge its budget, check the operation's
    scope (the method's ability on the operation's resource), then claim its Idempotency-Key
    (or answer with the response stored under it).

    A view without an @operation declaration is refused (fail closed)."""
    op = declared_operation(request.endpoint)
    if op is None:
        raise ApiProblem(403, "This endpoint declares no ability, so no key may call it.",
                         title="Forbidden")
    if op.ability is None:
        return None
    if op.ability == "read":
        mark_read_only_request()
    key = keyauth.authenticate(request, surface="api")
    keyauth.charge(key)
    keyauth.require_ability(key, op.ability, op.resource)
    return idempotency.begin(key.id)


@bp.after_request
def finish(response):
    return keyauth.finish(idempotency.finish(response))


def _http_problem(exc: HTTPException):
    headers = {}
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if exc.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return problem_response(413, f"The request body is larger than {limit} bytes.",
                                title="Content too large")
    detail = {404: "There is no such resource, or it is not visible to this key.",
              405: f"{request.method} is not allowed on this path."}.get(exc.code, exc.description)
    return problem_response(exc.code or 500, detail or "", headers=headers)


def _handle_http(exc: HTTPException):
    if exc.code and exc.code < 400:  # redirects (e.g. a missing trailing slash) pass through
        return exc
    return _http_problem(exc)


def _handle_problem(exc: ApiProblem):
    return exc.to_response()


def _handle_domain(exc: DomainError):
    db.session.rollback()  # a service may have changed objects before it refused
    if isinstance(exc, NotFound):
        return problem_response(404, exc.message)
    if isinstance(exc, ValidationFailed):
        return validation_problem(exc.errors, exc.message).to_response()
    if isinstance(exc, LimitExceeded):
        return problem_response(409, exc.message, title="Limit reached", type_=LIMIT_EXCEEDED_TYPE,
                                extra={"limit": exc.limit})
    if isinstance(exc, Conflict):
        return problem_response(409, exc.message, title="Conflict")
    return problem_response(400, exc.message, title="Bad request")


def _handle_integrity(exc: IntegrityError):
    """A uniqueness race the services' checks could not see (two writers at once)."""
    db.session.rollback()
    return problem_response(409, "This conflicts with data written at the same moment; "
                                 "retry the request.", title="Conflict")


def _handle_unexpected(exc: Exception):
    db.session.rollback()
    log_unexpected(exc)
    return problem_response(500, "Something went wrong on our side; the request was not applied.")


def _route_errors_as_problems():
    """Unknown paths and wrong methods on the keyed app never reach a blueprint: answer here."""
    exc = request.routing_exception
    if isinstance(exc, HTTPException) and (exc.code or 500) >= 400:
        return _http_problem(exc)
    return None


# Per code as well as per class: Flask prefers an app handler for the exact code (the HTML
# error pages) over a blueprint handler registered for the HTTPException class.
for _code in default_exceptions:
    bp.register_error_handler(_code, _handle_http)
bp.register_error_handler(HTTPException, _handle_http)
bp.register_error_handler(ApiProblem, _handle_problem)
bp.register_error_handler(DomainError, _handle_domain)
bp.register_error_handler(IntegrityError, _handle_integrity)
bp.register_error_handler(Exception, _handle_unexpected)
# A database outage is a 503 + Retry-After (sureapp/faults.py), not our catch-all 500.
for _cls in UNAVAILABLE_ERRORS:
    bp.register_error_handler(_cls, database_unavailable)

from . import openapi  # noqa: E402,F401  (declares the API-only operation: the document)
from .operations import bind_views  # noqa: E402

bind_views()  # every registered operation becomes a view on bp


def init_app(keyed_app, ui_app):
    """Serve the API from the keyed app; the UI app holds the same rules only to build URLs
    (url_for('api.…'), the API reference page): the dispatcher never routes /api/ to it."""
    from . import reference

    keyed_app.register_blueprint(bp)
    keyed_app.before_request(_route_errors_as_problems)
    assert_every_view_declared(keyed_app)
    ui_app.register_blueprint(bp)
    reference.init_app(ui_app)
