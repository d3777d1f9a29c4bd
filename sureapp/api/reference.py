"""The API reference page: the OpenAPI document rendered for people, inside workspace settings."""
from dataclasses import dataclass, field
from http import HTTPStatus

from flask import Blueprint, current_app, render_template

from ..links import external_base
from ..policy import Permission
from ..web import NavItem, register_nav, workspace_view
from .operations import bp as api_bp
from .openapi import access_sentence, cached_document

bp = Blueprint("api_docs", __name__)


@dataclass
class FieldDoc:
    name: str
    type: str
    required: bool
    notes: str


@dataclass
class OperationDoc:
    method: str
    path: str
    summary: str
    description: str
    ability: str | None
    scope: str | None  # None with an ability: any key may call it
    parameters: list[FieldDoc] = field(default_factory=list)
    body_name: str | None = None
    body_fields: list[FieldDoc] = field(default_factory=list)
    success: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"{self.method.lower()}-{self.path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"


def type_label(schema: dict) -> str:
    """A short human type: 'string (uuid)', 'array of string (uuid)', 'ContactCreate', 'one of …'."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        options = [type_label(s) for s in schema["anyOf"] if s.get("type") != "null"]
        nullable = any(s.get("type") == "null" for s in schema["anyOf"])
        return " or ".join(options) + (" or null" if nullable else "")
    if "enum" in schema:
        return "one of " + ", ".join(f"“{v}”" for v in schema["enum"])
    if "const" in schema:
        return f"“{schema['const']}”"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_label(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        return "object"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def notes(schema: dict) -> str:
    parts = []
    if schema.get("description"):
        parts.append(schema["description"])
    for key, text in (("maxLength", "at most {} characters"), ("minLength", "at least {} characters"),
                      ("maxItems", "at most {} items"), ("minItems", "at least {} items"),
                      ("minimum", "minimum {}"), ("maximum", "maximum {}"),
                      ("maxProperties", "at most {} keys"), ("pattern", "pattern {}")):
        if key in schema and not (key == "minLength" and schema[key] == 0):
            parts.append(text.format(schema[key]))
    if "default" in schema and schema["default"] not in (None, "", [], {}):
        parts.append(f"default {schema['default']}")
    return "; ".join(parts)


def _fields(schema: dict) -> list[FieldDoc]:
    required = set(schema.get("required", []))
    return [FieldDoc(name, type_label(prop), name in required, notes(prop))
            for name, prop in schema.get("properties", {}).items()]


def operations_by_tag(document: dict) -> dict[str, list[OperationDoc]]:
    schemas = document["components"]["schemas"]
    grouped: dict[str, list[OperationDoc]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            ability, scope = op.get("x-required-ability"), op.get("x-required-scope")
            description = op.get("description", "")
            if ability:  # shown as badges instead
                description = description.replace(access_sentence(ability, scope), "").strip()
            doc = OperationDoc(method=method.upper(), path=path, summary=op.get("summary", ""),
                               description=description, ability=ability, scope=scope)
            doc.parameters = [FieldDoc(p["name"], type_label(p["schema"]), p.get("required", False),
                                       f"in {p['in']}" + (f"; {notes(p['schema'])}"
                                                          if notes(p["schema"]) else ""))
                              for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body:
                doc.body_name = type_label(body["schema"])
                doc.body_fields = _fields(schemas.get(doc.body_name, {}))
            for status, response in op["responses"].items():
                if int(status) < 400:
                    content = response.get("content", {}).get("application/json")
                    doc.success = f"{status} {HTTPStatus(int(status)).phrase}" + (
                        f" → {type_label(content['schema'])}" if content else "")
                else:
                    doc.errors.append((status, HTTPStatus(int(status)).phrase))
            grouped.setdefault(op["tags"][0], []).append(doc)
    return grouped


@bp.get("/w/<workspace_id>/settings/api-reference")
@workspace_view(Permission.VIEW_API_REFERENCE)
def reference(workspace):
    document = cached_document()
    base_url = (external_base() or "") + api_bp.url_prefix  # never a forged Host header
    return render_template("api/reference.html", workspace=workspace, document=document,
                           groups=operations_by_tag(document), base_url=base_url,
                           rate_limit=current_app.config["API_RATE_LIMIT"])


def init_app(app) -> None:
    app.register_blueprint(bp)
    register_nav(app, NavItem("settings", "Developer", "API Reference", "api_docs.reference",
                              Permission.VIEW_API_REFERENCE))
