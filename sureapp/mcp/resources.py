"""MCP resources: workspace data a user (or their assistant) can attach as context, addressed by
`sureapp://` URIs. Each is read through a registered operation, as a tool is, so it needs that
operation's scope, reads through the same service and holds the API's JSON body.

- `sureapp://reports/summary` (listed): the workspace report, `GET /api/v1/reports/summary`.
- `sureapp://contacts/{contact_id}` (a template): one contact, `GET /api/v1/contacts/{id}`.
"""
import json
import re
import uuid
from dataclasses import dataclass

from ..errors import NotFound
from ..keyauth import KeyContext
from ..operations import Operation, find
from .protocol import NotAllowed, ResourceNotFound, at_least
from .tools import jsonable, mcp_caller, not_allowed

SCHEME = "sureapp"
MIME_TYPE = "application/json"


@dataclass(frozen=True)
class Resource:
    """A resource at a fixed URI, or (`pattern` set) a URI template whose `{…}` parts are the
    operation's path ids."""

    uri: str
    name: str
    title: str
    description: str
    operation: Operation
    pattern: re.Pattern | None = None

    def allowed(self, key: KeyContext) -> bool:
        return key.allows(self.operation.ability, self.operation.resource)

    def descriptor(self, version: str) -> dict:
        described = {"uriTemplate" if self.pattern else "uri": self.uri, "name": self.name,
                     "description": self.description, "mimeType": MIME_TYPE}
        if at_least(version, "2025-06-18"):
            described["title"] = self.title
        return described

    def ids(self, uri: str) -> dict | None:
        """The path ids `uri` names when it is this resource's, else None."""
        if self.pattern is None:
            return {} if uri == self.uri else None
        matched = self.pattern.fullmatch(uri)
        if matched is None:
            return None
        try:
            return {name: uuid.UUID(value) for name, value in matched.groupdict().items()}
        except ValueError:
            return None


def _template(uri_template: str, **fields) -> Resource:
    """A Resource for `sureapp://things/{thing_id}`: each {name} matches one path segment."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/?#]+)", re.escape(uri_template))
    return Resource(uri=uri_template, pattern=re.compile(pattern), **fields)


RESOURCES = (
    Resource(uri=f"{SCHEME}://reports/summary", name="report-summary",
             title="Workspace report summary",
             description="Contacts by status, list and tag sizes, campaigns by status, and "
                         "contacts created per day over the last 30 days (workspace timezone); "
                         "the body of GET /api/v1/reports/summary.",
             operation=find("show_report_summary")),
)
TEMPLATES = (
    _template(f"{SCHEME}://contacts/{{contact_id}}", name="contact", title="Contact",
              description="One contact by id, with its fields, custom fields and list/tag ids; "
                          "the body of GET /api/v1/contacts/{contact_id}.",
              operation=find("show_contact")),
)


def find_resource(uri: str) -> tuple[Resource, dict] | None:
    """The resource a URI addresses and its path ids, else None."""
    for resource in (*RESOURCES, *TEMPLATES):
        ids = resource.ids(uri)
        if ids is not None:
            return resource, ids
    return None


def route_of(uri: str) -> str:
    """What the request log shows for a read: the template, not one contact's URI."""
    found = find_resource(uri)
    return found[0].uri if found else uri


class WorkspaceResources:
    """The resources as one key sees them: listed and read only with the operation's scope."""

    def __init__(self, key: KeyContext, workspace):
        self.key = key
        self.caller = mcp_caller(key, workspace)

    def list_resources(self, version: str) -> list[dict]:
        return [r.descriptor(version) for r in RESOURCES if r.allowed(self.key)]

    def list_resource_templates(self, version: str) -> list[dict]:
        return [t.descriptor(version) for t in TEMPLATES if t.allowed(self.key)]

    def read_resource(self, uri: str) -> list[dict]:
        found = find_resource(uri)
        if found is None:
            raise ResourceNotFound(uri)
        resource, ids = found
        if not resource.allowed(self.key):
            op = resource.operation
            raise NotAllowed(*not_allowed(self.key, op.ability, op.resource))
        try:
            body = resource.operation.run(self.caller, **ids)
        except NotFound:  # another workspace's id looks the same as a missing one
            raise ResourceNotFound(uri) from None
        return [{"uri": uri, "mimeType": MIME_TYPE,
                 "text": json.dumps(jsonable(body), ensure_ascii=False, indent=2)}]
