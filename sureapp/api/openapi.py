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
from ..operations import OPERATIONS, Operation, operation
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


def _operation(op: Operation, defs: dict) -> dict:
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
    doc["responses"] = {str(op.status): success}
    for status in problem_statuses(op):
        doc["responses"][str(status)] = _problem_response(status)
    return doc


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
    # Query models become parameters, not components (a component nothing refers to).
    query_defs = _schemas({(op.query, "validation") for op in operations if op.query})
    paths: dict[str, dict] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, query_defs)
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
