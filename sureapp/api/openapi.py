"""GET /openapi.json: the OpenAPI 3.1 document, built from the @operation declarations.

Why no OpenAPI library: flask-openapi3 and spectree each bring their own request validation
(their own 422 error bodies, not problem+json) and want their own blueprint or decorator, so
the API would validate twice or lose its error format; apispec targets marshmallow and 3.0.
Our declarations already name every schema, and pydantic emits JSON Schema 2020-12 (the
dialect of OpenAPI 3.1) for them, so the document is assembled from exactly the schemas that
validate requests, with no second source of truth.
"""
from http import HTTPStatus

from typing import Any

from flask import current_app
from pydantic import RootModel
from pydantic.json_schema import models_json_schema

from ..events import EVENT_TYPES
from ..schema_types import NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_AT_ALL
from ..validation import MAX_JSON_DEPTH, MAX_SAFE_INTEGER
from ..operations import OPERATIONS, Operation, find, operation
from ..webhooks.schemas import event_body
from . import idempotency
from .operations import bp, endpoint_of
from .schemas import Problem

REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = ("ApiKeyHeader", "BearerAuth")
RATE_HEADERS = {
    "X-RateLimit-Limit": ("Requests allowed per window for this key.", "integer"),
    "X-RateLimit-Remaining": ("Requests left in the current window.", "integer"),
    "X-RateLimit-Reset": ("When the window resets (Unix time, seconds).", "integer"),
}


IDEMPOTENCY_PARAMETER = {
    "name": idempotency.HEADER, "in": "header", "required": False,
    "description": "Makes a retry safe: the first response to this key (per API key, 24 hours) "
                   "is replayed for the same request with `Idempotent-Replayed: true`; the same "
                   "key with another method, path or body is 422; while the first request still "
                   "runs, 409. A UUID is a good key.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX,
               "pattern": idempotency.KEY_PATTERN},
}


def takes_idempotency_key(op: Operation) -> bool:
    return op.ability is not None and op.method in idempotency.METHODS


def access_sentence(ability: str, scope: str | None) -> str:
    """What key an operation needs, as its description's last sentence (the reference page
    shows it as badges instead)."""
    if scope is None:
        return "Any valid key may call this, whatever its abilities."
    return (f"Requires a key with the **{scope}** scope, or the **{ability}** ability on all "
            "resources.")


def problem_statuses(op: Operation) -> list[int]:
    """Every error status the API can answer this operation with."""
    statuses = set(op.problems) | {429, 503}  # 503: database unreachable (faults.py)
    if op.ability is not None:
        statuses |= {401, 403}
    if takes_idempotency_key(op):
        statuses |= {400, 409, 422}  # malformed key; still running; used for another request
    if op.path_params:
        statuses.add(404)
    if op.query is not None:
        statuses.add(422)
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    return sorted(statuses)


def _header(description: str, kind: str) -> dict:
    return {"description": description, "schema": {"type": kind}}


def _problem_response(status: int) -> dict:
    response = {"description": HTTPStatus(status).phrase,
                "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}}
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = _header("Bearer challenge.", "string")
    if status in (409, 429, 503):  # 409: an Idempotency-Key whose request still runs
        headers["Retry-After"] = _header("Seconds to wait before retrying.", "integer")
    if status == 405:
        headers["Allow"] = _header("The methods this path accepts.", "string")
    if status in (401, 403, 429) or headers:
        headers.update({name: _header(*spec) for name, spec in RATE_HEADERS.items()})
    if headers:
        response["headers"] = headers
    return response


def _without_null(prop: dict) -> dict:
    """A query string cannot say null: document an optional parameter by its value's schema."""
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    if len(options) != 1:
        return prop
    merged = {k: v for k, v in prop.items() if k not in ("anyOf", "default")} | options[0]
    return merged


def _parameters(op: Operation, defs: dict) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "format": "uuid"}} for name in op.path_params]
    if op.query is not None:
        schema = defs[op.query.__name__]
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            param = {"name": name, "in": "query", "required": name in required,
                     "schema": _without_null(prop)}
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
    if takes_idempotency_key(op):
        params.append(IDEMPOTENCY_PARAMETER)
    return params


def _operation(op: Operation, defs: dict, operations: list[Operation]) -> dict:
    doc = {"operationId": op.name, "summary": op.summary, "tags": [op.tag]}
    description = op.description
    if op.ability:
        # The scope goes in x-required-scope and the description, not in the security
        # requirement: linters (Spectral's oas ruleset) and generated clients read requirement
        # arrays as OAuth scopes, which these API-key schemes do not declare.
        doc["security"] = [{name: []} for name in SECURITY_SCHEMES]
        doc["x-required-ability"] = op.ability
        if op.scope:
            doc["x-required-scope"] = op.scope
        description = ((description + "\n\n" if description else "")
                       + access_sentence(op.ability, op.scope))
    else:
        doc["security"] = []
    if description:
        doc["description"] = description
    params = _parameters(op, defs)
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=op.body.__name__)}}}}
    success = {"description": HTTPStatus(op.status).phrase}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": {"$ref": REF.format(
            model=op.response.__name__)}}}
    if op.ability:
        success["headers"] = {name: _header(*spec) for name, spec in RATE_HEADERS.items()}
    if takes_idempotency_key(op):
        success["headers"][idempotency.REPLAYED_HEADER] = {
            "description": "`true` when this is the stored response to an earlier request "
                           "with the same Idempotency-Key.", "schema": {"type": "string",
                                                                      "enum": ["true"]}}
    links = _links(op, operations)
    if links:
        success["links"] = links
    doc["responses"] = {str(op.status): success}
    for status in problem_statuses(op):
        doc["responses"][str(status)] = _problem_response(status)
    doc["responses"]["414"] = URI_TOO_LONG
    return doc


# gunicorn reads the request line before the app sees anything, and refuses one longer than its
# limit_request_line (4,094 bytes as gunicorn.conf.py leaves it) with an HTML page of its own.
# No valid request comes near it (every path id is a UUID; every query value has a maxLength
# that, percent-encoded, keeps the longest valid query under 4 KB), so only an invalid one can
# get it; the document says so rather than let a client meet an undocumented answer.
URI_TOO_LONG = {
    "description": "Request line longer than 4,094 bytes (method, path and query string): the "
                   "HTTP server (gunicorn) refuses it before the API sees it, with a short HTML "
                   "page instead of a problem (a proxy in front may set a lower limit).",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _links(op: Operation, operations: list[Operation]) -> dict:
    """OpenAPI links from this operation's success to the ones its answer feeds (schemathesis's
    stateful phase follows them; generated clients show them): a created resource's id to
    every operation on it, a page's next_cursor to the next page and its first row's id to
    that row's operations. Only ids and cursors the server handed out, never invented ones."""
    links: dict[str, dict] = {}

    def link_to(prefix: str, param: str, expression: str) -> None:
        for target in operations:
            if target is not op and (target.path == prefix or target.path.startswith(prefix + "/")):
                parameters = {param: expression}
                # Ids this operation was called with carry over (a webhook's delivery).
                for carried in op.path_params:
                    if carried in target.path_params:
                        parameters[carried] = f"$request.path.{carried}"
                if set(parameters) == set(target.path_params):
                    links[target.name] = {"operationId": target.name, "parameters": parameters}

    if op.response is None:
        return links
    fields = op.response.model_fields
    if op.method == "POST" and "id" in fields:
        shown = find(op.location) if op.location else None
        if shown is not None:
            link_to(shown.path, shown.path_params[-1], "$response.body#/id")
        else:  # an action answering with a resource of its own (a test event's delivery)
            for target in operations:
                extra = [p for p in target.path_params if p not in op.path_params]
                if target.response is op.response and len(extra) == 1 \
                        and target.path_params[-1] == extra[0]:
                    end = target.path.index("{" + extra[0] + "}") + len(extra[0]) + 2
                    link_to(target.path[:end], extra[0], "$response.body#/id")
    if op.method == "GET" and "next_cursor" in fields and op.query is not None \
            and "cursor" in op.query.model_fields:
        parameters = {"cursor": "$response.body#/next_cursor"}
        parameters.update({p: f"$request.path.{p}" for p in op.path_params})
        links[f"{op.name}_next_page"] = {"operationId": op.name, "parameters": parameters}
        item = next((t for t in operations if t.method == "GET" and t.path_params
                     and t.path.startswith(op.path + "/{") and t.path.count("/") == op.path.count("/") + 1),
                    None)
        if item is not None:
            link_to(item.path, item.path_params[-1], "$response.body#/data/0/id")
    return links


WEBHOOK_HEADERS = (
    ("webhook-id", "Unique per event (`msg_…`), the same on every retry: dedupe on it."),
    ("webhook-timestamp", "When this attempt was signed, Unix seconds."),
    ("webhook-signature", "`v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` "
                          "keyed with the base64-decoded secret after `whsec_`; during a rotation "
                          "two, space-separated."),
)


def _webhook(event_type: str, body_model) -> dict:
    """What sureapp POSTs to a webhook endpoint for one event type (Standard Webhooks)."""
    return {"post": {
        "operationId": f"webhook_{event_type.replace('.', '_')}",
        "summary": f"The {event_type} event",
        "description": "Sent to every enabled endpoint subscribed to it. Any 2xx within 10 s "
                       "acknowledges it; anything else is retried with backoff, 410 disables "
                       "the endpoint.",
        "tags": ["Webhooks"],
        "parameters": [{"name": name, "in": "header", "required": True, "description": text,
                        "schema": {"type": "string"}} for name, text in WEBHOOK_HEADERS],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=body_model.__name__)}}}},
        "responses": {"200": {"description": "Received (any 2xx will do)."},
                      "410": {"description": "Gone: disables the endpoint at once."}},
        "security": [],
    }}


# One sentence per tag (Redocly and Spectral ask for them); a new tag without one fails the
# document's build, so it cannot ship undescribed.
TAG_DESCRIPTIONS = {
    "Automations": "Automations: a trigger (contact created, joined a list, tagged) and steps.",
    "Campaigns": "Email campaigns: content, sender and target lists.",
    "Contacts": "The workspace's contacts: search, filters, create/update/delete, bulk upsert.",
    "Lists": "Lists of contacts, and who is on them.",
    "Tags": "Tags on contacts, and who carries them.",
    "Me": "The calling key and its workspace.",
    "Reports": "Counts over the workspace's data.",
    "Webhooks": "Webhook endpoints, their deliveries and signing secrets; the events sent.",
    "Security": "Reporting leaked API keys (no key needed): the pattern is in SECURITY.md.",
    "Meta": "This document.",
}


# What api/operations.check_json_tree refuses anywhere in a body (validation.json_tree_problem),
# said wherever a request schema leaves a part free-form: a field of any JSON (automation
# steps, bulk rows), an object's extra keys, a string or an integer without its own rule.
JSON_VALUE = "JsonValue"
_JSON_VALUE_REF = {"$ref": REF.format(model=JSON_VALUE)}
JSON_VALUE_SCHEMA = {
    "description": "Any JSON value the API accepts in a free-form part of a body: text without "
                   "control characters (tab and line breaks allowed), object keys without any, "
                   f"integers within ±{MAX_SAFE_INTEGER:,} (send larger ones as text), finite "
                   f"numbers; nested at most {MAX_JSON_DEPTH} levels deep (deeper is a 400).",
    "anyOf": [
        {"type": "string", "pattern": NO_CONTROL_CHARACTERS},
        {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": _JSON_VALUE_REF},
        {"type": "object", "propertyNames": {"pattern": NO_CONTROL_CHARACTERS_AT_ALL},
         "additionalProperties": _JSON_VALUE_REF},
    ],
}
# A schema with one of these says more than "any JSON" (an if/then is a rule added to its parent).
_CONSTRAINED = ("$ref", "enum", "const", "anyOf", "oneOf", "allOf", "not", "type", "if")


def _with_tree_rule(schema: dict, defs: dict, seen: set[str]) -> None:
    """Say the JSON tree rule in every part of this request schema (and the components it
    refers to) that does not say more."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in defs and name not in seen:
            seen.add(name)
            _with_tree_rule(defs[name], defs, seen)
        return
    if not any(word in schema for word in _CONSTRAINED):
        schema.update(_JSON_VALUE_REF)  # free-form: any JSON the tree rule lets through
        return
    for word in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(word, []):
            _with_tree_rule(option, defs, seen)
    types = schema.get("type")
    types = set(types) if isinstance(types, list) else {types}
    if "string" in types and not {"pattern", "format", "enum", "const"} & schema.keys():
        schema["pattern"] = NO_CONTROL_CHARACTERS
    if "integer" in types:
        schema.setdefault("minimum", -MAX_SAFE_INTEGER)
        schema.setdefault("maximum", MAX_SAFE_INTEGER)
    if "array" in types:
        _with_tree_rule(schema.setdefault("items", {}), defs, seen)
    if "object" in types:
        for prop in schema.get("properties", {}).values():
            _with_tree_rule(prop, defs, seen)
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return
        schema.setdefault("propertyNames", {}).setdefault("pattern", NO_CONTROL_CHARACTERS_AT_ALL)
        if extra is True:
            schema["additionalProperties"] = dict(_JSON_VALUE_REF)
        else:
            _with_tree_rule(extra, defs, seen)


def _schemas(pairs) -> dict:
    _, top = models_json_schema(sorted(pairs, key=lambda pair: pair[0].__name__),
                                ref_template=REF)
    return top.get("$defs", {})


def build_document() -> dict:
    """The whole OpenAPI 3.1 document for the operations registered on the app."""
    registered = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    operations = [op for op in OPERATIONS if endpoint_of(op) in registered]
    models = {(Problem, "serialization")}
    for op in operations:
        if op.body is not None:
            models.add((op.body, "validation"))
        if op.response is not None:
            models.add((op.response, "serialization"))
    event_bodies = {event_type: event_body(event_type) for event_type in EVENT_TYPES}
    models.update((model, "serialization") for model in event_bodies.values())
    defs = _schemas(models)
    walked: set[str] = set()
    for op in operations:
        if op.body is not None:
            _with_tree_rule({"$ref": REF.format(model=op.body.__name__)}, defs, walked)
    defs[JSON_VALUE] = JSON_VALUE_SCHEMA
    # Query models become parameters, not components (a component nothing refers to).
    query_defs = _schemas({(op.query, "validation") for op in operations if op.query})
    paths: dict[str, dict] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, query_defs, operations)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sureapp API",
            "version": "1.0.0",
            "description": "Workspace-scoped JSON API. Authenticate with `X-API-Key: <key>` "
                           "(recommended) or `Authorization: Bearer <key>`. Errors are RFC 9457 "
                           "problem details (`application/problem+json`) carrying the response's "
                           "`X-Request-Id` as `request_id`. Writes accept `Idempotency-Key`; "
                           "successful reads carry an `ETag` for `If-None-Match`.",
            # This document describes one self-hosted installation: its operators answer for it.
            "contact": {"name": "The administrators of this sureapp installation"},
            "license": {"name": "Proprietary: use as agreed with this installation's operator",
                        "identifier": "LicenseRef-Proprietary"},  # SPDX's form for a custom one
        },
        "servers": [{"url": bp.url_prefix}],
        "security": [{name: []} for name in SECURITY_SCHEMES],
        "tags": [{"name": name, "description": TAG_DESCRIPTIONS[name]}
                 for name in dict.fromkeys(op.tag for op in operations)],
        "paths": paths,
        "webhooks": {t: _webhook(t, model) for t, model in event_bodies.items()},
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerAuth": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def cached_document() -> dict:
    """Built once per app: the declarations cannot change while it runs."""
    cache = current_app.extensions.setdefault("sureapp_api", {})
    if "openapi" not in cache:
        cache["openapi"] = build_document()
    return cache["openapi"]


class OpenApiDocument(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)."""


@operation("GET", "/openapi.json", summary="This OpenAPI document", tag="Meta", public=True,
           response=OpenApiDocument,
           description="The OpenAPI 3.1 description of this API, generated from the schemas that "
                       "validate requests. No key needed.")
def show_openapi(caller: None):
    response = current_app.json.response(cached_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
