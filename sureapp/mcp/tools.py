"""The MCP tool table: each tool names an operation of the shared registry (sureapp/operations)
and runs it exactly as the JSON API does, so its result is the API's body and its rules, its
read path and its ability are the API's. A tool adds only what a model needs: a name, a title,
a description, and arguments that are the operation's own pydantic models with its path ids
beside them (the inputSchema is generated from them); its outputSchema is the operation's
response model (or, for a 204 operation, the acknowledgment it answers a tool), so
structuredContent matches it by construction.
"""
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, create_model

from ..contacts.schemas import SEARCH_DESCRIPTION, ContactQuery, Listing, Search
from ..errors import DomainError, LimitExceeded, ValidationFailed
from ..keyauth import KeyContext, scope_refused
from ..operations import API_PREFIX, Caller, Operation, find
from ..schema_types import Strict, validation_errors
from ..validation import json_tree_problem
from .protocol import InvalidArguments, ToolFailed, UnknownTool, at_least


class NoArguments(Strict):
    pass


# A tool changes data it cannot restore when its operation replaces or removes (the hint is
# about the tool's effect, so a read is never destructive).
DESTRUCTIVE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


def acknowledgment(name: str, verb: str, ids: list[str], **fields) -> type[BaseModel]:
    """The model of what a 204 operation answers a tool (operations.acknowledged):
    {verb: true, <each path id>: "…", <fields>}."""
    return create_model(name, **{verb: (Literal[True], ...)},
                        **{i: (uuid.UUID, ...) for i in ids}, **fields)


def json_schema(model: type[BaseModel], mode: str) -> dict:
    """A model's JSON Schema (2020-12, pydantic's) without the class name as its title."""
    schema = model.model_json_schema(mode=mode)
    schema.pop("title", None)
    return schema


def _with_path_ids(op: Operation, model: type[BaseModel], name: str) -> type[BaseModel]:
    """The operation's query or body model with its path ids (all UUIDs) as extra fields."""
    if not op.path_params:
        return model
    ids = {param: (uuid.UUID, Field(description=f"The {param.removesuffix('_id')}'s id."))
           for param in op.path_params}
    return create_model(name, __base__=model, **ids)


def _operation_inputs(op: Operation, args: BaseModel) -> dict:
    """Arguments → what the operation's handler takes: path ids, and the query or body as an
    instance of the operation's own model carrying only the fields the caller sent (a PATCH
    changes only those)."""
    inputs = {param: getattr(args, param) for param in op.path_params}
    model = op.body or op.query
    if model is not None:
        if type(args) is not model:  # validated already, as a subclass: copy, don't re-check
            sent = args.model_fields_set - set(op.path_params)
            args = model.model_construct(_fields_set=sent,
                                         **{f: getattr(args, f) for f in model.model_fields})
        inputs["body" if op.body is not None else "query"] = args
    return inputs


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    operation: Operation
    arguments: type[BaseModel]
    output: type[BaseModel]
    idempotent: bool
    destructive: bool
    open_world: bool  # it reaches people outside the workspace (it sends mail)
    inputs: Callable[[Operation, BaseModel], dict] = _operation_inputs

    @property
    def ability(self) -> str:
        return self.operation.ability

    @property
    def resource(self) -> str:
        return self.operation.resource

    @property
    def route(self) -> str:
        return f"{self.operation.method} {API_PREFIX}{self.operation.path}"

    def allowed(self, key: KeyContext) -> bool:
        return key.allows(self.ability, self.resource)

    def descriptor(self, version: str) -> dict:
        schema = json_schema(self.arguments, "validation")
        schema.pop("description", None)  # the tool's description says it for this tool
        needs = (f"the '{self.operation.scope}' scope (or the '{self.ability}' ability on all "
                 "resources)" if self.operation.scope else "any key")
        described = {
            "name": self.name,
            "description": f"{self.description}\n\nSame as {self.route}; needs {needs}.",
            "inputSchema": schema,
        }
        if at_least(version, "2025-06-18"):  # titles and structured results arrive
            described["title"] = self.title
            described["outputSchema"] = json_schema(self.output, "serialization")
        if at_least(version, "2025-03-26"):
            described["annotations"] = {
                "title": self.title,
                "readOnlyHint": self.ability == "read",
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": self.open_world,
            }
        return described


TOOLS: dict[str, Tool] = {}


def tool(name: str, title: str, operation: str, description: str, *,
         arguments: type[BaseModel] | None = None, inputs=None, idempotent: bool | None = None,
         destructive: bool | None = None, open_world: bool = False,
         output: type[BaseModel] | None = None):
    """Expose the operation named `operation` as the tool `name`. Arguments default to the
    operation's query or body model plus its path ids; a tool with its own `arguments` passes
    `inputs(op, args)` turning them into the operation's. The output is the operation's response
    model; a 204 operation's tool names its `acknowledgment` (no output: fails at import).
    The hints default from the method (POST creates: not idempotent; PUT/PATCH/DELETE are
    destructive); a tool that does otherwise says so."""
    op = find(operation)
    model_name = "".join(p.title() for p in name.split("_"))
    if arguments is None:
        base = op.body or op.query or NoArguments
        arguments = _with_path_ids(op, base, model_name)
    output = output or op.response
    if output is None:
        raise RuntimeError(f"tool {name!r} declares no output model and {operation!r} has none")
    TOOLS[name] = Tool(name=name, title=title, description=description, operation=op,
                       arguments=arguments, output=output, inputs=inputs or _operation_inputs,
                       idempotent=op.method != "POST" if idempotent is None else idempotent,
                       destructive=(op.method in DESTRUCTIVE_METHODS if destructive is None
                                    else destructive),
                       open_world=open_world)


def jsonable(result: Any) -> dict:
    """An operation's result as the JSON object the API would send."""
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


def mcp_caller(key: KeyContext, workspace) -> Caller:
    """Who runs an operation from /mcp; a contact's timeline says "MCP via API key: <name>"."""
    return Caller(key=key, workspace=workspace, source=f"MCP via API key: {key.name}")


def not_allowed(key: KeyContext, ability: str, resource: str) -> tuple[str, dict]:
    """The words and data of a refusal for a missing scope (the API's 403 detail), for a tool
    error or a JSON-RPC error alike."""
    problem = scope_refused(ability, resource)
    return f"Not allowed: {problem.detail}", {**problem.extra, "key_abilities": key.ability_list}


class WorkspaceTools:
    """The tool table as one key sees it: ability checked first, then arguments, then the
    operation, in its own transaction (committed when a write succeeds, rolled back on any
    failure)."""

    def __init__(self, key: KeyContext, workspace):
        self.key = key
        self.caller = mcp_caller(key, workspace)

    def list_tools(self, version: str) -> list[dict]:
        """Only the tools this key may call, always in the table's order (clients cache the
        list, and a stable order keeps an LLM's prompt cache warm): an assistant is never
        offered what it would be refused (least privilege)."""
        return [t.descriptor(version) for t in TOOLS.values() if t.allowed(self.key)]

    def call_tool(self, name: str, arguments: dict) -> dict:
        found = TOOLS.get(name)
        if found is None:
            raise UnknownTool(name)
        if not found.allowed(self.key):
            # A tool error inside a 200 (one of maybe several messages); the request log still
            # records this message as refused for its scope (routes.refusal_code).
            raise ToolFailed(*not_allowed(self.key, found.ability, found.resource))
        problem = json_tree_problem(arguments)
        if problem is not None:  # what no field may hold, as the API refuses it (validation.py)
            raise InvalidArguments(f"Invalid arguments for {name}: {problem.path or 'arguments'}: "
                                   f"{problem.message}",
                                   {problem.path or "arguments": [problem.message]})
        try:
            parsed = found.arguments.model_validate(arguments)
        except ValidationError as exc:
            errors = validation_errors(exc, root="arguments")
            summary = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in errors.items())
            raise InvalidArguments(f"Invalid arguments for {name}: {summary}", errors) from None
        try:
            return jsonable(found.operation.run(self.caller, **found.inputs(found.operation,
                                                                             parsed)))
        except DomainError as exc:
            raise ToolFailed(exc.message, _failure_data(exc)) from None


def server_instructions(key, workspace) -> str:
    return (f"You are connected to the sureapp workspace '{workspace.name}' (timezone "
            f"{workspace.timezone}) with the API key '{key.name}', which may: "
            f"{', '.join(key.ability_list)}. Tools mirror the JSON API at {API_PREFIX}: "
            "resources are addressed by UUID, timestamps are ISO 8601 UTC, and list tools page "
            "with `limit`/`cursor` (pass back `next_cursor`). Only the tools this key may call "
            "are listed.")


# ---- the key and workspace ---------------------------------------------------------------

tool("describe_key", "Describe this key and workspace", "show_me",
     "The API key in use (name, type, abilities, expiry) and its workspace (id, name, "
     "timezone).")
tool("get_report_summary", "Workspace report summary", "show_report_summary",
     "Contacts by status, list and tag sizes, campaigns by status, and contacts created per day "
     "over the last 30 days in the workspace timezone.")


# ---- contacts -----------------------------------------------------------------------------

class ContactSearch(Listing):
    query: Search = Field(min_length=1, description=SEARCH_DESCRIPTION)


def _search_inputs(op: Operation, args: ContactSearch) -> dict:
    """search_contacts is list_contacts with only `search` (named `query` here) and paging."""
    return {"query": ContactQuery(search=args.query, limit=args.limit, cursor=args.cursor)}


tool("search_contacts", "Search contacts", "list_contacts",
     "Find contacts whose email, first or last name, full name (\"first last\") or company "
     "contains `query`, newest first. Page with `limit` and `cursor`.", arguments=ContactSearch,
     inputs=_search_inputs)
tool("list_contacts", "List contacts", "list_contacts",
     "The workspace's contacts, newest first, optionally filtered by `search`, `status`, "
     "`list_id`, `tag_id`, `created_after` or `updated_after` (changed since). Page with "
     "`limit` and `cursor`: pass back "
     "`next_cursor` until it is null.")
tool("get_contact", "Get a contact", "show_contact",
     "One contact with all its fields, custom fields and list/tag ids.")
tool("create_contact", "Create a contact", "create_contact",
     "Add a contact. `email` is required and unique in the workspace; `list_ids`/`tag_ids` "
     "must be lists and tags of this workspace. Fails when the workspace's contact allocation "
     "is full.")
tool("update_contact", "Update a contact", "update_contact",
     "Change some fields of a contact; only the fields given change. `list_ids`/`tag_ids`, "
     "when given, replace the contact's lists/tags.")
tool("delete_contact", "Delete a contact", "delete_contact",
     "Permanently delete a contact with its memberships and timeline.",
     output=acknowledgment("ContactDeleted", "deleted", ["contact_id"]))


# ---- lists and tags: the same four tools each ------------------------------------------------

for _label in ("list", "tag"):
    _plural = f"{_label}s"
    tool(f"list_{_plural}", f"List {_plural}", f"list_{_plural}",
         f"The workspace's {_plural} with their member counts, newest first; `search` matches "
         "the name. Page with `limit` and `cursor`.")
    tool(f"create_{_label}", f"Create a {_label}", f"create_{_label}",
         f"Create a {_label}; names are unique in the workspace.")
    tool(f"add_contacts_to_{_label}", f"Add contacts to a {_label}", f"add_{_label}_contacts",
         f"Add contacts to a {_label}. Contacts already on it are skipped; an id that is not a "
         "contact of this workspace fails the whole call and changes nothing.", idempotent=True)
    tool(f"remove_contact_from_{_label}", f"Remove a contact from a {_label}",
         f"remove_{_label}_contact",
         f"Take one contact off a {_label}; the contact itself stays.",
         output=acknowledgment(f"{_label.title()}MemberRemoved", "removed",
                               [f"{_label}_id", "contact_id"], member_count=(int, ...)))


# ---- campaigns --------------------------------------------------------------------------------

tool("list_campaigns", "List campaigns", "list_campaigns",
     "The workspace's email campaigns, newest first, optionally by `status`. Page with `limit` "
     "and `cursor`.")
tool("get_campaign", "Get a campaign", "show_campaign",
     "One campaign with its content and target list ids.")
tool("create_campaign", "Create a campaign", "create_campaign",
     "Create a draft email campaign; `list_ids` must be lists of this workspace. Nothing is "
     "sent until send_campaign; the status is set by the system.")
tool("send_campaign", "Send a campaign", "send_campaign",
     "Send a draft campaign to the active contacts of its lists, each once (at its "
     "`scheduled_at` if that is in the future). This really mails people: confirm with the "
     "user first. Fails if the workspace has no SMTP server or the campaign is not a draft.",
     open_world=True)
# Pausing, resuming or cancelling twice changes nothing more (the second call is refused);
# resuming mails people again, and a cancel cannot be undone.
tool("pause_campaign", "Pause a campaign", "pause_campaign",
     "Pause a scheduled or sending campaign; resume_campaign continues it.", idempotent=True)
tool("resume_campaign", "Resume a campaign", "resume_campaign",
     "Continue a paused campaign where it stopped (nobody gets it twice).", idempotent=True,
     open_world=True)
tool("cancel_campaign", "Cancel a campaign", "cancel_campaign",
     "Stop a campaign for good; mails not yet sent are skipped.", idempotent=True,
     destructive=True)


# ---- automations ------------------------------------------------------------------------------

tool("list_automations", "List automations", "list_automations",
     "The workspace's automations, newest first, optionally by `status` or `trigger`, each with "
     "its `progress` (how many contacts are at each step). Page with `limit` and `cursor`.")
tool("get_automation", "Get an automation", "show_automation",
     "One automation: trigger, steps and how many contacts are at each step.")
tool("create_automation", "Create an automation", "create_automation",
     "Create an automation (paused until `status` is 'active'): a `trigger` (contact_created, "
     "list_joined, tag_added; `trigger_list_id` / `trigger_tag_id` narrow it) and `steps`, each "
     "an object with `type`: send_email (subject, body), wait (amount, unit), add_tag / "
     "remove_tag (tag_id), add_to_list / remove_from_list (list_id). An active automation with "
     "a send_email step really mails people: confirm with the user first.", open_world=True)
tool("update_automation", "Update an automation", "update_automation",
     "Change some fields of an automation (e.g. `status` 'paused' holds everyone where they "
     "are; 'active' continues them). Runs in progress keep their step number.",
     open_world=True)  # activating one with a send_email step mails people
tool("list_automation_runs", "List an automation's runs", "list_automation_runs",
     "Each contact's progress through one automation: step, state (scheduled, running, "
     "completed, failed, exited), next time and the last error.")
# Retrying twice changes nothing more (the second is refused); the run may send its mail.
tool("retry_automation_run", "Retry a failed automation run", "retry_automation_run",
     "Resume a failed run (see list_automation_runs with state 'failed' and its last_error) at "
     "the step that failed, once its cause is fixed; the automation must be active. If that "
     "step is send_email this mails the contact: confirm with the user first.",
     idempotent=True, open_world=True)

