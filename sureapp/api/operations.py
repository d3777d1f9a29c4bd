"""The API blueprint: every registered operation (sureapp/operations) served as a view.

The view parses the path ids, the query string and the JSON body against the operation's
models, runs the operation as the calling key and serializes its result. The operation is
stored on the view, so the guard can fail closed on a view that declares nothing, and the
OpenAPI document is built from the very declarations (and schemas) that validate requests.
"""
import json

from flask import Blueprint, Response, current_app, g, request, url_for
from pydantic import BaseModel, ValidationError

from ..operations import API_PREFIX, OPERATIONS, Caller, Operation, find
from ..validation import MAX_JSON_DEPTH, json_tree_problem
from ..problems import ApiProblem, validation_problem
from ..schema_types import validation_errors

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

JSON_MIMETYPES = ("application/json",)


def caller() -> Caller:
    """The key this request was authenticated with, as operations see it."""
    key = g.key
    return Caller(key=key, workspace=key.workspace, source=f"API key: {key.name}")


def endpoint_of(op: Operation) -> str:
    return f"{bp.name}.{op.name}"


def _view(op: Operation):
    def view(**path_ids):
        inputs = dict(path_ids)
        if op.query is not None:
            inputs["query"] = parse_query(op.query)
        if op.body is not None:
            inputs["body"] = parse_body(op.body)
        return _to_response(op, op.run(caller() if op.ability else None, **inputs))

    view.__name__ = view.__qualname__ = op.name
    view.__doc__ = op.summary
    view.api_operation = op
    return view


def bind_views() -> None:
    """Add a view for every registered operation (once, before the blueprint is registered)."""
    for op in OPERATIONS:
        bp.add_url_rule(op.rule, endpoint=op.name, view_func=_view(op), methods=[op.method],
                        provide_automatic_options=False)


def _to_response(op: Operation, result) -> Response:
    """A schema instance as JSON with the declared status; a Response as it is; nothing for 204
    (whatever a 204 handler acknowledged is for tools)."""
    if isinstance(result, Response):
        return result
    if op.status == 204:
        return Response(status=204)
    # pydantic writes the JSON itself (in Rust): no dict and no second encoder in between.
    response = current_app.response_class(result.model_dump_json(), status=op.status,
                                          mimetype="application/json")
    if op.location is not None:
        shown = find(op.location)
        response.headers["Location"] = url_for(endpoint_of(shown),
                                               **{shown.path_params[0]: result.id})
    return response


def parse_query(model: type[BaseModel]):
    repeated = [name for name, values in request.args.lists() if len(values) > 1]
    if repeated:  # which one would count is a guess; OpenAPI's parameters take one value each
        raise validation_problem({name: ["Give this parameter once."] for name in repeated},
                                 "Some query parameters are invalid.")
    args = request.args.to_dict()
    check_json_tree(args)  # a query's text obeys the rule of a body's (what OpenAPI says)
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise validation_problem(validation_errors(exc), "Some query parameters are invalid.") from None


def _too_deep() -> ApiProblem:
    return ApiProblem(400, f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.",
                      title="Bad request")


def check_json_tree(value) -> None:
    """Refuse what no field may hold (validation.json_tree_problem): 400 for nesting past
    MAX_JSON_DEPTH, 422 naming the field for control characters, lone surrogates and
    non-finite or imprecise numbers (json.loads reads 1e400 as infinity)."""
    problem = json_tree_problem(value, MAX_JSON_DEPTH)
    if problem is None:
        return
    if problem.too_deep:
        raise _too_deep()
    raise validation_problem({problem.path or "body": [problem.message]})


def read_json_body():
    """The request body as parsed JSON, or a 400/413/415 problem."""
    if request.mimetype not in JSON_MIMETYPES and not request.mimetype.endswith("+json"):
        raise ApiProblem(415, "Send the body as JSON with 'Content-Type: application/json'.",
                         title="Unsupported media type")
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        raise ApiProblem(400, "The request body is empty; send a JSON object.", title="Bad request")
    try:
        # NaN/Infinity literals are read as floats so that check_json_tree refuses them with a
        # 422 naming the field, exactly like an overflowing literal such as 1e400.
        data = json.loads(raw, parse_constant=float)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
        raise ApiProblem(400, f"The body is not valid JSON: {exc}", title="Bad request") from None
    check_json_tree(data)
    return data


def parse_body(model: type[BaseModel]):
    data = read_json_body()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(validation_errors(exc)) from None


def declared_operation(endpoint: str | None) -> Operation | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "api_operation", None)


def assert_every_view_declared(app) -> None:
    """Start-up check: an API view without a declaration would have no ability check."""
    undeclared = [rule.endpoint for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith(f"{bp.name}.")
                  and getattr(app.view_functions[rule.endpoint], "api_operation", None) is None]
    if undeclared:
        raise RuntimeError(f"API views without @operation (no ability declared): {undeclared}")
