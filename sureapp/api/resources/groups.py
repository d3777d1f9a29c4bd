"""/lists and /tags: the same eight operations each, declared once for both."""
import uuid

from flask import g, url_for

from ...contacts import groups, lists, tags
from ...contacts.groups import LISTS, TAGS
from ...contacts.schemas import (GroupQuery, ListCreate, ListOut, ListPage, ListPatch, MemberIds,
                                 MembershipChange, TagCreate, TagOut, TagPage, TagPatch)
from ...extensions import db
from ..operations import operation, source_label


def declare_group_routes(kind, path: str, tag: str, service, create_schema, patch_schema, out,
                         page_schema, to_out) -> None:
    """Index, create, show, replace, update, delete, add members, remove a member."""
    label, plural = kind.label, f"{kind.label}s"
    item_rule = f"/{path}/<uuid:{label}_id>"

    def out_of(item):
        return to_out(item, groups.member_count(kind, item))

    @operation("GET", f"/{path}", summary=f"List {plural}", tag=tag, query=GroupQuery,
               response=page_schema, endpoint=f"list_{plural}")
    def index(query: GroupQuery):
        page, counts = groups.list_groups(kind, g.workspace, query)
        return page_schema(data=[to_out(i, counts.get(i.id, 0)) for i in page.items],
                           next_cursor=page.next_cursor)

    @operation("POST", f"/{path}", summary=f"Create a {label}", tag=tag, body=create_schema,
               response=out, status=201, problems=(409,), endpoint=f"create_{label}")
    def create(body):
        item = getattr(service, f"create_{label}")(g.workspace, body)
        db.session.commit()
        location = url_for(f"api.show_{label}", **{f"{label}_id": item.id})
        return out_of(item), {"Location": location}

    @operation("GET", item_rule, summary=f"Get a {label}", tag=tag, response=out,
               endpoint=f"show_{label}")
    def show(**ids):
        return out_of(groups.get_group(kind, g.workspace, ids[f"{label}_id"]))

    @operation("PUT", item_rule, summary=f"Replace a {label}", tag=tag, body=create_schema,
               response=out, problems=(409,), endpoint=f"replace_{label}")
    def replace(body, **ids):
        item = getattr(service, f"update_{label}")(g.workspace, ids[f"{label}_id"], body,
                                                   replace=True)
        db.session.commit()
        return out_of(item)

    @operation("PATCH", item_rule, summary=f"Update some fields of a {label}", tag=tag,
               body=patch_schema, response=out, problems=(409,), endpoint=f"update_{label}")
    def update(body, **ids):
        item = getattr(service, f"update_{label}")(g.workspace, ids[f"{label}_id"], body)
        db.session.commit()
        return out_of(item)

    @operation("DELETE", item_rule, summary=f"Delete a {label} (its contacts stay)", tag=tag,
               status=204, endpoint=f"delete_{label}")
    def delete(**ids):
        groups.delete_group(kind, g.workspace, ids[f"{label}_id"])
        db.session.commit()

    @operation("POST", f"{item_rule}/contacts", summary=f"Add contacts to a {label}", tag=tag,
               body=MemberIds, response=MembershipChange, problems=(409,),
               endpoint=f"add_{label}_contacts",
               description="Contacts already on it are skipped; any id that is not a contact of "
                           "this workspace fails the whole request with 404.")
    def add_contacts(body: MemberIds, **ids):
        item = groups.get_group(kind, g.workspace, ids[f"{label}_id"])
        added = groups.add_members(kind, g.workspace, item, body.contact_ids, source_label())
        db.session.commit()
        return MembershipChange(added=added, member_count=groups.member_count(kind, item))

    @operation("DELETE", f"{item_rule}/contacts/<uuid:contact_id>",
               summary=f"Remove a contact from a {label}", tag=tag, status=204,
               endpoint=f"remove_{label}_contact")
    def remove_contact(contact_id: uuid.UUID, **ids):
        item = groups.get_group(kind, g.workspace, ids[f"{label}_id"])
        groups.remove_member(kind, g.workspace, item, contact_id, source_label())
        db.session.commit()


declare_group_routes(LISTS, "lists", "Lists", lists, ListCreate, ListPatch, ListOut, ListPage,
                     ListOut.of)
declare_group_routes(TAGS, "tags", "Tags", tags, TagCreate, TagPatch, TagOut, TagPage, TagOut.of)
