"""The MCP tool table: each tool mirrors a JSON API route, needs that route's ability, takes
arguments described by the API's own pydantic schemas (the inputSchema is generated from them)
and calls the same services, so no rule exists twice.
"""
import inspect
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError, create_model

from ..api.auth import METHOD_ABILITY, require_ability
from ..problems import ApiProblem
from ..api.resources.me import describe_key as describe_key_body
from ..campaigns import services as campaigns
from ..campaigns.schemas import CampaignCreate, CampaignOut, CampaignPage, CampaignQuery
from ..contacts import groups, lists, services as contacts, tags
from ..contacts.groups import LISTS, TAGS, GroupKind
from ..contacts.schemas import (ContactCreate, ContactOut, ContactPage, ContactPatch, ContactQuery,
                                GroupQuery, ListCreate, ListOut, ListPage, Listing, MemberIds,
                                MembershipChange, Search, TagCreate, TagOut, TagPage)
from ..errors import DomainError, LimitExceeded, ValidationFailed
from ..extensions import db
from ..models import ApiKey
from ..reports import services as reports
from ..schema_types import Strict, validation_errors
from .protocol import InvalidArguments, ToolFailed, UnknownTool, at_least

API_PREFIX = "/api/v1"
PATH_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")  # Flask's <uuid:contact_id> → {contact_id}


class NoArguments(Strict):
    pass


@dataclass(frozen=True)
class ToolContext:
    """What a tool runs with: the calling key, its workspace and how changes are attributed."""

    key: ApiKey

    @property
    def workspace(self):
        return self.key.workspace

    @property
    def source(self) -> str:
        """How a change appears on a contact's timeline."""
        return f"MCP via API key: {self.key.name}"


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    method: str  # the mirrored API route, e.g. "PATCH"
    rule: str  # … and its rule under /api/v1, e.g. "/contacts/<uuid:contact_id>"
    arguments: type[BaseModel]
    run: Callable[[ToolContext, Any], Any]
    idempotent: bool

    @property
    def ability(self) -> str:
        """Whatever the mirrored API route needs: read, write or delete (SPEC §3)."""
        return METHOD_ABILITY[self.method]

    @property
    def route(self) -> str:
        path = PATH_PARAM.sub(r"{\1}", self.rule)
        return f"{self.method} {API_PREFIX}{path}"

    def descriptor(self, version: str) -> dict:
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)  # the tool's description says it for this tool
        described = {
            "name": self.name,
            "description": f"{self.description}\n\nSame as {self.route}; needs the key's "
                           f"'{self.ability}' ability.",
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


def tool(name: str, title: str, mirrors: str, arguments: type[BaseModel] = NoArguments,
         idempotent: bool | None = None):
    """Register a tool that does what the API route `mirrors` ("METHOD /rule") does; its
    docstring is the description the model reads."""
    method, rule = mirrors.split(" ", 1)

    def decorator(run):
        TOOLS[name] = Tool(name=name, title=title, description=inspect.getdoc(run) or title,
                           method=method, rule=rule, arguments=arguments, run=run,
                           idempotent=method != "POST" if idempotent is None else idempotent)
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
            errors = validation_errors(exc, root="arguments")
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

@tool("describe_key", "Describe this key and workspace", "GET /me")
def describe_key(ctx: ToolContext, args: NoArguments):
    """The API key in use (name, type, abilities, expiry) and its workspace (id, name,
    timezone)."""
    return describe_key_body(ctx.key)


@tool("get_report_summary", "Workspace report summary", "GET /reports/summary")
def get_report_summary(ctx: ToolContext, args: NoArguments):
    """Contacts by status, list and tag sizes, campaigns by status, and contacts created per day
    over the last 30 days in the workspace timezone."""
    return reports.summary(ctx.workspace)


# ---- contacts -----------------------------------------------------------------------------

class ContactId(Strict):
    contact_id: uuid.UUID = Field(description="The contact's id.")


class ContactSearch(Listing):
    query: Search = Field(min_length=1, description="Text to find in email, first/last name "
                                                    "and company (case-insensitive).")


class ContactUpdate(ContactPatch):
    """The contact's id and the fields to change; fields left out stay as they are."""

    contact_id: uuid.UUID = Field(description="The contact's id.")


def _contact_page(ctx: ToolContext, query: ContactQuery) -> ContactPage:
    page = contacts.list_contacts(ctx.workspace, query)
    return ContactPage(data=[ContactOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@tool("search_contacts", "Search contacts", "GET /contacts", arguments=ContactSearch)
def search_contacts(ctx: ToolContext, args: ContactSearch):
    """Find contacts whose email, name or company contains `query`, newest first. Page with
    `limit` and `cursor`."""
    return _contact_page(ctx, ContactQuery(search=args.query, limit=args.limit,
                                           cursor=args.cursor))


@tool("list_contacts", "List contacts", "GET /contacts", arguments=ContactQuery)
def list_contacts(ctx: ToolContext, args: ContactQuery):
    """The workspace's contacts, newest first, optionally filtered by `search`, `status`,
    `list_id`, `tag_id` or `created_after`. Page with `limit` and `cursor`: pass back
    `next_cursor` until it is null."""
    return _contact_page(ctx, args)


@tool("get_contact", "Get a contact", "GET /contacts/<uuid:contact_id>", arguments=ContactId)
def get_contact(ctx: ToolContext, args: ContactId):
    """One contact with all its fields, custom fields and list/tag ids."""
    return ContactOut.of(contacts.get_contact(ctx.workspace, args.contact_id))


@tool("create_contact", "Create a contact", "POST /contacts", arguments=ContactCreate)
def create_contact(ctx: ToolContext, args: ContactCreate):
    """Add a contact. `email` is required and unique in the workspace; `list_ids`/`tag_ids`
    must be lists and tags of this workspace. Fails when the workspace's contact allocation is
    full."""
    return ContactOut.of(contacts.create_contact(ctx.workspace, args, ctx.source))


@tool("update_contact", "Update a contact", "PATCH /contacts/<uuid:contact_id>",
      arguments=ContactUpdate)
def update_contact(ctx: ToolContext, args: ContactUpdate):
    """Change some fields of a contact; only the fields given change. `list_ids`/`tag_ids`,
    when given, replace the contact's lists/tags."""
    return ContactOut.of(contacts.update_contact(ctx.workspace, args.contact_id, args, ctx.source))


@tool("delete_contact", "Delete a contact", "DELETE /contacts/<uuid:contact_id>",
      arguments=ContactId)
def delete_contact(ctx: ToolContext, args: ContactId):
    """Permanently delete a contact with its memberships and timeline."""
    contacts.delete_contact(ctx.workspace, args.contact_id)
    return {"deleted": True, "contact_id": str(args.contact_id)}


# ---- lists and tags: the same four tools each, declared once for both ------------------------

def declare_group_tools(kind: GroupKind, service, create_schema, out, page_schema) -> None:
    label = kind.label
    plural = f"{label}s"
    id_field = {f"{label}_id": (uuid.UUID, Field(description=f"The {label}'s id."))}
    add_args = create_model(f"AddContactsTo{label.title()}", __base__=MemberIds, **id_field)
    remove_args = create_model(f"RemoveContactFrom{label.title()}", __base__=ContactId, **id_field)

    def out_of(item):
        return out.of(item, groups.member_count(kind, item))

    def index(ctx: ToolContext, args: GroupQuery):
        page, counts = groups.list_groups(kind, ctx.workspace, args)
        return page_schema(data=[out.of(i, counts.get(i.id, 0)) for i in page.items],
                           next_cursor=page.next_cursor)

    def create(ctx: ToolContext, args):
        return out_of(getattr(service, f"create_{label}")(ctx.workspace, args))

    def add_contacts(ctx: ToolContext, args):
        item = groups.get_group(kind, ctx.workspace, getattr(args, f"{label}_id"))
        added = groups.add_members(kind, ctx.workspace, item, args.contact_ids, ctx.source)
        return MembershipChange(added=added, member_count=groups.member_count(kind, item))

    def remove_contact(ctx: ToolContext, args):
        item = groups.get_group(kind, ctx.workspace, getattr(args, f"{label}_id"))
        groups.remove_member(kind, ctx.workspace, item, args.contact_id, ctx.source)
        return {"removed": True, f"{label}_id": str(item.id), "contact_id": str(args.contact_id),
                "member_count": groups.member_count(kind, item)}

    index.__doc__ = (f"The workspace's {plural} with their member counts, newest first; "
                     "`search` matches the name. Page with `limit` and `cursor`.")
    create.__doc__ = f"Create a {label}; names are unique in the workspace."
    add_contacts.__doc__ = (f"Add contacts to a {label}. Contacts already on it are skipped; an "
                            "id that is not a contact of this workspace fails the whole call "
                            "and changes nothing.")
    remove_contact.__doc__ = f"Take one contact off a {label}; the contact itself stays."
    item_rule = f"/{plural}/<uuid:{label}_id>"
    tool(f"list_{plural}", f"List {plural}", f"GET /{plural}", arguments=GroupQuery)(index)
    tool(f"create_{label}", f"Create a {label}", f"POST /{plural}", arguments=create_schema)(create)
    tool(f"add_contacts_to_{label}", f"Add contacts to a {label}", f"POST {item_rule}/contacts",
         arguments=add_args, idempotent=True)(add_contacts)
    tool(f"remove_contact_from_{label}", f"Remove a contact from a {label}",
         f"DELETE {item_rule}/contacts/<uuid:contact_id>", arguments=remove_args)(remove_contact)


declare_group_tools(LISTS, lists, ListCreate, ListOut, ListPage)
declare_group_tools(TAGS, tags, TagCreate, TagOut, TagPage)


# ---- campaigns --------------------------------------------------------------------------------

class CampaignId(Strict):
    campaign_id: uuid.UUID = Field(description="The campaign's id.")


@tool("list_campaigns", "List campaigns", "GET /campaigns", arguments=CampaignQuery)
def list_campaigns(ctx: ToolContext, args: CampaignQuery):
    """The workspace's email campaigns, newest first, optionally by `status`. Page with
    `limit` and `cursor`."""
    page = campaigns.list_campaigns(ctx.workspace, args)
    return CampaignPage(data=[CampaignOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@tool("get_campaign", "Get a campaign", "GET /campaigns/<uuid:campaign_id>",
      arguments=CampaignId)
def get_campaign(ctx: ToolContext, args: CampaignId):
    """One campaign with its content and target list ids."""
    return CampaignOut.of(campaigns.get_campaign(ctx.workspace, args.campaign_id))


@tool("create_campaign", "Create a campaign", "POST /campaigns", arguments=CampaignCreate)
def create_campaign(ctx: ToolContext, args: CampaignCreate):
    """Create an email campaign; `list_ids` must be lists of this workspace, and a
    'scheduled' campaign needs `scheduled_at`. Nothing is sent."""
    return CampaignOut.of(campaigns.create_campaign(ctx.workspace, args))
