"""The API blueprint and the one way to declare an API view.

Every view is declared with `@operation(...)`: method, path, the pydantic schemas for query,
body and response, and the problems it may return. The ability comes from the method (SPEC §3)
and is stored on the view, so the guard can fail closed on a view that declares nothing and
the OpenAPI document is built from the very declarations (and schemas) that validate requests.
"""
import json
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from ..schema_types import validation_errors
from .auth import METHOD_ABILITY
from ..problems import ApiProblem, validation_problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_JSON_DEPTH = 32
JSON_MIMETYPES = ("application/json",)


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str
    endpoint: str
    summary: str
    tag: str
    ability: str | None  # None: public, no key needed
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    problems: tuple[int, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1].split(":")[-1] for part in self.rule.split("/") if part.startswith("<")]

    @property
    def problem_statuses(self) -> list[int]:
        """Every error status this operation can answer with (documented in OpenAPI)."""
        statuses = set(self.problems) | {429, 503}  # 503: database unreachable (faults.py)
        if self.ability is not None:
            statuses |= {401, 403}
        if self.path_params:
            statuses.add(404)
        if self.query is not None:
            statuses.add(422)
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        return sorted(statuses)


OPERATIONS: list[Operation] = []


def operation(method: str, rule: str, *, summary: str, tag: str, query=None, body=None,
              response=None, status: int = 200, problems: tuple[int, ...] = (),
              public: bool = False, description: str = "", endpoint: str | None = None):
    """Register an API view; the wrapper validates query and body and serializes the result."""
    method = method.upper()

    def decorator(view):
        name = endpoint or view.__name__
        op = Operation(method=method, rule=rule, endpoint=f"{bp.name}.{name}",
                       summary=summary, tag=tag, ability=None if public else METHOD_ABILITY[method],
                       query=query, body=body, response=response, status=status,
                       problems=tuple(problems), description=description)

        @wraps(view)
        def wrapped(**path_args):
            if query is not None:
                path_args["query"] = parse_query(query)
            if body is not None:
                path_args["body"] = parse_body(body)
            return _to_response(view(**path_args), op)

        wrapped.api_operation = op
        bp.add_url_rule(rule, endpoint=name, view_func=wrapped, methods=[method],
                        provide_automatic_options=False)
        OPERATIONS.append(op)
        return wrapped

    return decorator


def _to_response(result, op: Operation) -> Response:
    """A view returns a schema instance (optionally with extra headers), or None for 204."""
    if isinstance(result, Response):
        return result
    headers = {}
    if isinstance(result, tuple):
        result, headers = result
    if result is None:
        return Response(status=204)
    # pydantic writes the JSON itself (in Rust): no dict and no second encoder in between.
    response = current_app.response_class(result.model_dump_json(), status=op.status,
                                          mimetype="application/json")
    response.headers.update(headers)
    return response


# Older name, kept for callers (sureapp/mcp) that imported it from here.
errors_from = validation_errors


def parse_query(model: type[BaseModel]):
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise validation_problem(validation_errors(exc), "Some query parameters are invalid.") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def check_json_tree(value, path: str = "") -> None:
    """Reject what the database cannot store or a parser should not chase: deep nesting,
    NUL characters and lone surrogates. Iterative, so a hostile body cannot exhaust the stack."""
    stack = [(value, path, 1)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiProblem(400, f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.",
                             title="Bad request")
        if isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{where}.{key}" if where else str(key)
                _check_string(key, child_path)
                stack.append((child, child_path, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, f"{where}.{i}" if where else str(i), depth + 1)
                         for i, child in enumerate(node))
        elif isinstance(node, str):
            _check_string(node, where)


def _check_string(text: str, where: str) -> None:
    if "\x00" in text:
        raise validation_problem({where or "body": ["Text may not contain NUL characters."]})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise validation_problem({where or "body": ["Text is not valid Unicode."]}) from None


def read_json_body():
    """The request body as parsed JSON, or a 400/413/415 problem."""
    if request.mimetype not in JSON_MIMETYPES and not request.mimetype.endswith("+json"):
        raise ApiProblem(415, "Send the body as JSON with 'Content-Type: application/json'.",
                         title="Unsupported media type")
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        raise ApiProblem(400, "The request body is empty; send a JSON object.", title="Bad request")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiProblem(400, f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.",
                         title="Bad request") from None
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


def source_label() -> str:
    """How a change made through the API appears on a contact's timeline."""
    return f"API key: {g.api_key.name}"


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
