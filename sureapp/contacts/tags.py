"""Tags: create, edit, delete and membership (the shared parts are in groups.py).

Like every service here, these functions never commit: the caller owns the transaction."""
from ..extensions import db
from ..models import Tag, Workspace
from . import groups
from .groups import TAGS
from .schemas import TagCreate, TagPatch, slugify


def _ensure_slug_free(workspace: Workspace, slug: str, except_id=None) -> None:
    groups.ensure_unique(TAGS, workspace, "slug", slug,
                         f"A tag with the slug '{slug}' already exists in this workspace.",
                         except_id)


def get_tag(workspace: Workspace, tag_id) -> Tag:
    return groups.get_group(TAGS, workspace, tag_id)


def create_tag(workspace: Workspace, data: TagCreate) -> Tag:
    slug = data.slug or slugify(data.name)
    _ensure_slug_free(workspace, slug)
    tag = Tag(workspace_id=workspace.id, name=data.name, slug=slug, color=data.color,
              description=data.description)
    db.session.add(tag)
    db.session.flush()
    return tag


def update_tag(workspace: Workspace, tag_id, data: TagCreate | TagPatch, replace: bool = False) -> Tag:
    """PUT (replace=True: every field; a missing slug is made from the name) or PATCH."""
    tag = get_tag(workspace, tag_id)
    fields = set(TagCreate.model_fields) if replace else set(data.model_fields_set)
    values = {name: getattr(data, name) for name in fields}
    if replace and not values.get("slug"):
        values["slug"] = slugify(values["name"])
    if "slug" in values and values["slug"] != tag.slug:
        _ensure_slug_free(workspace, values["slug"], except_id=tag.id)
    for name, value in values.items():
        setattr(tag, name, value)
    db.session.flush()
    return tag


def delete_tag(workspace: Workspace, tag_id) -> None:
    groups.delete_group(TAGS, workspace, tag_id)


def add_contacts_to_tag(workspace: Workspace, tag: Tag, contact_ids, source: str) -> int:
    return groups.add_members(TAGS, workspace, tag, contact_ids, source)


def remove_contacts_from_tag(workspace: Workspace, tag: Tag, contact_ids, source: str) -> int:
    return groups.remove_members(TAGS, workspace, tag, contact_ids, source)
