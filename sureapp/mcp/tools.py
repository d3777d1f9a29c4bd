"""The MCP tool table: each tool mirrors a JSON API route, needs that route's ability, takes
arguments described by the API's own pydantic schemas (the inputSchema is generated from them)
and calls the same services, so no rule exists twice.
"""
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..api.auth import require_ability
from ..api.operations import errors_from
from ..api.problems import ApiProblem
from ..api.resources.me import MeOut, WorkspaceOut
from ..errors import DomainError, LimitExceeded, ValidationFailed
from ..extensions import db
from ..models import ApiKey
from .protocol import InvalidArguments, ToolFailed, UnknownTool, at_least


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid", title="NoArguments")


@dataclass(frozen=True)
class ToolContext:
    """What a tool runs with: the calling key, its workspace and how changes are attributed."""

    key: ApiKey

    @property
    def workspace(self):
        return self.key.workspace

    @property
    def source(self) -> str:
        return f"MCP key: {self.key.name}"


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    ability: str  # read · write · delete, as the mirrored API route needs
    arguments: type[BaseModel]
    run: Callable[[ToolContext, Any], Any]
    idempotent: bool

    def descriptor(self, version: str) -> dict:
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        described = {
            "name": self.name,
            "description": f"{self.description}\n\nNeeds the key's '{self.ability}' ability.",
            "inputSchema": schema,
        }
        if at_least(version, "2025-06-18"):
            described["title"] = self.title
        if at_least(version, "2025-03-26"):
            described["annotations"] = {
                "title": self.title,
                "readOnlyHint": self.ability == "read",
                "destructiveHint": self.ability == "delete",
                "idempotentHint": self.idempotent,
                "openWorldHint": False,
            }
        return described


TOOLS: dict[str, Tool] = {}


def tool(name: str, title: str, ability: str, arguments: type[BaseModel] = NoArguments,
         idempotent: bool | None = None):
    """Register a tool; its docstring is the description the model reads."""
    def decorator(run):
        TOOLS[name] = Tool(name=name, title=title, description=inspect.getdoc(run) or title,
                           ability=ability, arguments=arguments, run=run,
                           idempotent=ability != "write" if idempotent is None else idempotent)
        return run

    return decorator


def _jsonable(result: Any) -> dict:
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    if not isinstance(result, dict):  # structuredContent must be an object
        raise TypeError(f"tool returned {type(result).__name__}, not an object")
    return result


def _failure_data(exc: DomainError) -> dict:
    data: dict = {"type": type(exc).__name__}
    if isinstance(exc, ValidationFailed):
        data["errors"] = exc.errors
    if isinstance(exc, LimitExceeded) and exc.limit is not None:
        data["limit"] = exc.limit
    return data


class WorkspaceTools:
    """The tool table as one key sees it: ability checked first, then arguments, then the
    service call in one transaction (committed on success, rolled back on any failure)."""

    def __init__(self, key: ApiKey):
        self.context = ToolContext(key)

    def list_tools(self, version: str) -> list[dict]:
        return [t.descriptor(version) for t in TOOLS.values()]

    def call_tool(self, name: str, arguments: dict) -> dict:
        found = TOOLS.get(name)
        if found is None:
            raise UnknownTool(name)
        try:
            require_ability(self.context.key, found.ability)
        except ApiProblem as problem:
            raise ToolFailed(f"Not allowed: {problem.detail}",
                             {"required_ability": found.ability,
                              "key_abilities": self.context.key.ability_list}) from None
        try:
            parsed = found.arguments.model_validate(arguments)
        except ValidationError as exc:
            errors = errors_from(exc)
            summary = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in errors.items())
            raise InvalidArguments(f"Invalid arguments for {name}: {summary}", errors) from None
        try:
            result = _jsonable(found.run(self.context, parsed))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise ToolFailed(exc.message, _failure_data(exc)) from None
        except BaseException:
            db.session.rollback()
            raise
        return result


def server_instructions(key: ApiKey) -> str:
    workspace = key.workspace
    return (f"You are connected to the sureapp workspace '{workspace.name}' (timezone "
            f"{workspace.timezone}) with the API key '{key.name}', which may: "
            f"{', '.join(key.ability_list)}. Tools mirror the JSON API at /api/v1: resources are "
            "addressed by UUID, timestamps are ISO 8601 UTC, and list tools page with "
            "`limit`/`cursor` (pass back `next_cursor`). A tool beyond the key's abilities "
            "returns an error naming the missing ability.")


# ---- the key and workspace ---------------------------------------------------------------

@tool("describe_key", "Describe this key and workspace", "read")
def describe_key(ctx: ToolContext, args: NoArguments):
    """The API key in use (name, type, abilities, expiry) and its workspace (id, name,
    timezone). Same body as GET /api/v1/me."""
    key = ctx.key
    return MeOut(id=key.id, name=key.name, type=key.key_type, abilities=key.ability_list,
                 expires_at=key.expires_at, workspace=WorkspaceOut.model_validate(ctx.workspace))
