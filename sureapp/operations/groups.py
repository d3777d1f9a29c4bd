"""/lists and /tags: the same eight operations each, declared once for both."""
import uuid

from ..contacts import groups, lists, tags
from ..contacts.groups import LISTS, TAGS
from ..contacts.schemas import (GroupQuery, ListCreate, ListOut, ListPage, ListPatch, MemberIds,
                                MembershipChange, TagCreate, TagOut, TagPage, TagPatch)
from .registry import Caller, acknowledged, operation


def declare_group_operations(kind, path: str, tag: str, *, create, update, create_schema,
                             patch_schema, out, page_schema) -> None:
    """Index, create, show, replace, update, delete, add members, remove a member.

    `create(workspace, body)` and `update(workspace, id, body, replace=…)` are the kind's
    services, passed in so each call can be found by name."""
    label, plural = kind.label, f"{kind.label}s"
    id_name = f"{label}_id"
    item_rule = f"/{path}/<uuid:{id_name}>"

    def out_of(item):
        return out.of(item, groups.member_count(kind, item))

    @operation("GET", f"/{path}", summary=f"List {plural}", tag=tag,
               resource=path, query=GroupQuery,
               response=page_schema, name=f"list_{plural}")
    def index(caller: Caller, query: GroupQuery):
        page, counts = groups.list_groups(kind, caller.workspace, query)
        return page_schema(data=[out.of(i, counts.get(i.id, 0)) for i in page.items],
                           next_cursor=page.next_cursor)

    @operation("POST", f"/{path}", summary=f"Create a {label}", tag=tag,
               resource=path, body=create_schema,
               response=out, status=201, problems=(409,), name=f"create_{label}",
               location=f"show_{label}")
    def create_one(caller: Caller, body):
        return out_of(create(caller.workspace, body))

    @operation("GET", item_rule, summary=f"Get a {label}", tag=tag, resource=path, response=out,
               name=f"show_{label}")
    def show(caller: Caller, **ids):
        return out_of(groups.get_group(kind, caller.workspace, ids[id_name]))

    @operation("PUT", item_rule, summary=f"Replace a {label}", tag=tag,
               resource=path, body=create_schema,
               response=out, problems=(409,), name=f"replace_{label}")
    def replace(caller: Caller, body, **ids):
        return out_of(update(caller.workspace, ids[id_name], body, replace=True))

    @operation("PATCH", item_rule, summary=f"Update some fields of a {label}", tag=tag,
               resource=path,
               body=patch_schema, response=out, problems=(409,), name=f"update_{label}")
    def update_some(caller: Caller, body, **ids):
        return out_of(update(caller.workspace, ids[id_name], body))

    @operation("DELETE", item_rule, summary=f"Delete a {label} (its contacts stay)", tag=tag,
               resource=path,
               status=204, name=f"delete_{label}")
    def delete(caller: Caller, **ids):
        groups.delete_group(kind, caller.workspace, ids[id_name])
        return acknowledged("deleted", **ids)

    @operation("POST", f"{item_rule}/contacts", summary=f"Add contacts to a {label}", tag=tag,
               resource=path,
               body=MemberIds, response=MembershipChange, problems=(409,),
               name=f"add_{label}_contacts",
               description="Contacts already on it are skipped; any id that is not a contact of "
                           "this workspace fails the whole request with 404.")
    def add_contacts(caller: Caller, body: MemberIds, **ids):
        item = groups.get_group(kind, caller.workspace, ids[id_name])
        added = groups.add_members(kind, caller.workspace, item, body.contact_ids, caller.source)
        return MembershipChange(added=added, member_count=groups.member_count(kind, item))

    @operation("DELETE", f"{item_rule}/contacts/<uuid:contact_id>",
               summary=f"Remove a contact from a {label}", tag=tag, resource=path, status=204,
               name=f"remove_{label}_contact")
    def remove_contact(caller: Caller, contact_id: uuid.UUID, **ids):
        item = groups.get_group(kind, caller.workspace, ids[id_name])
        groups.remove_member(kind, caller.workspace, item, contact_id, caller.source)
        return {**acknowledged("removed", **ids, contact_id=contact_id),
                "member_count": groups.member_count(kind, item)}


declare_group_operations(LISTS, "lists", "Lists", create=lists.create_list,
                         update=lists.update_list, create_schema=ListCreate,
                         patch_schema=ListPatch, out=ListOut, page_schema=ListPage)
declare_group_operations(TAGS, "tags", "Tags", create=tags.create_tag, update=tags.update_tag,
                         create_schema=TagCreate, patch_schema=TagPatch, out=TagOut,
                         page_schema=TagPage)
