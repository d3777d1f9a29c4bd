"""The operation registry: one declaration and one handler per thing a key can do.

`@operation(...)` declares method, path, the resource it acts on, the pydantic models for query,
body and response, and the handler that does the work. The ability comes from the method (SPEC
§3); ability and resource together are the scope a key needs (`contacts:write`, see
keys/abilities.py). A keyed operation that names no resource fails at import (fail closed).
Both keyed surfaces are bindings of this table: `api/` serves each operation as a view (HTTP parsing, problem
details, OpenAPI), `mcp/` exposes chosen operations as tools (arguments from the same models).
They call the same `Operation.run`, so a resource has one read path and an MCP tool's result is
the API's body by construction.

A handler takes the `Caller` and its inputs as values (path ids, a validated `query` or `body`
model) and returns a response model; it never sees Flask. A 204 operation's handler returns a
small acknowledgment instead (the API sends no body; a tool must answer an object).
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict
from ..extensions import db
from ..keys.abilities import KEY_ITSELF, RESOURCES, scope
from ..urlrules import path_params, template_path

# The JSON API serves each operation's rule under this prefix (tools name it as their twin).
API_PREFIX = "/api/v1"
# The ability each HTTP method needs (SPEC §3).
METHOD_ABILITY = {"GET": "read", "HEAD": "read", "POST": "write", "PUT": "write",
                  "PATCH": "write", "DELETE": "delete"}
@dataclass(frozen=True)
class Caller:
    """Who is running an operation: the calling key, its workspace, and how a change it makes
    is attributed on a contact's timeline (each surface words its own)."""

    key: Any
    workspace: Any
    source: str


@dataclass(frozen=True)
class Operation:
    name: str  # unique: the API's endpoint and OpenAPI operationId; tools refer to it
    method: str
    rule: str  # Flask rule relative to the API's prefix, e.g. "/contacts/<uuid:contact_id>"
    summary: str
    tag: str
    ability: str | None  # None: public, no key needed
    resource: str | None  # a keys/abilities RESOURCE, or KEY_ITSELF; None only when public
    handler: Callable[..., Any]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    problems: tuple[int, ...] = field(default_factory=tuple)
    description: str = ""
    location: str | None = None  # 201: the operation whose URL the new resource has

    @property
    def path_params(self) -> list[str]:
        return path_params(self.rule)

    @property
    def path(self) -> str:
        """The rule as an OpenAPI path: /contacts/<uuid:contact_id> → /contacts/{contact_id}."""
        return template_path(self.rule)

    @property
    def scope(self) -> str | None:
        """The scope a restricted key needs ('contacts:write'); None when every key (or no
        key at all) may call it."""
        if self.ability is None or self.resource == KEY_ITSELF:
            return None
        return scope(self.ability, self.resource)

    @property
    def writes(self) -> bool:
        return self.ability not in (None, "read")

    def run(self, caller: Caller | None, **inputs) -> Any:
        """Call the handler in the request's transaction: committed after a write succeeds,
        rolled back when anything fails (a service may have changed objects before refusing).
        Reads do not commit: no round trip they do not need. A uniqueness race the services'
        checks could not see (two writers at once) is a Conflict on every surface."""
        try:
            result = self.handler(caller, **inputs)
            if self.writes:
                db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise Conflict("This conflicts with data written at the same moment; retry the "
                           "request.") from None
        except BaseException:
            db.session.rollback()
            raise
        return result


OPERATIONS: list[Operation] = []
_BY_NAME: dict[str, Operation] = {}


def operation(method: str, rule: str, *, summary: str, tag: str, resource: str | None = None,
              query=None, body=None, response=None, status: int = 200,
              problems: tuple[int, ...] = (), public: bool = False, description: str = "",
              name: str | None = None, location: str | None = None):
    """Register `handler(caller, **path_ids, [query=…], [body=…])` as an operation on
    `resource` (required unless `public`)."""
    method = method.upper()
    if public:
        resource = None
    elif resource not in (*RESOURCES, KEY_ITSELF):
        # No silent default: an operation that forgot its resource must not run for any key.
        raise RuntimeError(f"operation {method} {rule} names no resource (got {resource!r}); "
                           f"pass resource= one of {', '.join((*RESOURCES, KEY_ITSELF))}")

    def decorator(handler):
        op = Operation(name=name or handler.__name__, method=method, rule=rule, summary=summary,
                       tag=tag, ability=None if public else METHOD_ABILITY[method],
                       resource=resource, handler=handler, query=query, body=body,
                       response=response, status=status, problems=tuple(problems), description=description,
                       location=location)
        if op.name in _BY_NAME:
            raise RuntimeError(f"operation {op.name!r} is declared twice")
        OPERATIONS.append(op)
        _BY_NAME[op.name] = op
        return handler

    return decorator


def find(name: str) -> Operation:
    """The operation declared under `name` (KeyError if none: a typo fails at import)."""
    return _BY_NAME[name]


def acknowledged(verb: str, **ids) -> dict:
    """What a 204 operation answers a tool: {"deleted": true, "contact_id": "…"}."""
    return {verb: True, **{name: str(value) for name, value in ids.items()}}
