"""Contact lists: create, rename, delete and membership (the shared parts are in groups.py).

Like every service here, these functions never commit: the caller owns the transaction."""
from ..extensions import db
from ..models import ContactList, Workspace
from . import groups
from .groups import LISTS
from .schemas import ListCreate, ListPatch


def _ensure_name_free(workspace: Workspace, name: str, except_id=None) -> None:
    groups.ensure_unique(LISTS, workspace, "name", name,
                         f"A list named '{name}' already exists in this workspace.", except_id)


def get_list(workspace: Workspace, list_id) -> ContactList:
    return groups.get_group(LISTS, workspace, list_id)


def create_list(workspace: Workspace, data: ListCreate) -> ContactList:
    _ensure_name_free(workspace, data.name)
    item = ContactList(workspace_id=workspace.id, name=data.name, description=data.description,
                       show_on_preferences=data.show_on_preferences,
                       double_opt_in=data.double_opt_in)
    db.session.add(item)
    db.session.flush()
    return item


def update_list(workspace: Workspace, list_id, data: ListCreate | ListPatch,
                replace: bool = False) -> ContactList:
    """PUT (replace=True: every field) or PATCH (only the fields sent)."""
    item = get_list(workspace, list_id)
    fields = set(ListCreate.model_fields) if replace else data.model_fields_set
    if "name" in fields and data.name != item.name:
        _ensure_name_free(workspace, data.name, except_id=item.id)
    for name in fields:
        setattr(item, name, getattr(data, name))
    db.session.flush()
    return item


def delete_list(workspace: Workspace, list_id) -> None:
    groups.delete_group(LISTS, workspace, list_id)


def add_contacts_to_list(workspace: Workspace, item: ContactList, contact_ids, source: str) -> int:
    return groups.add_members(LISTS, workspace, item, contact_ids, source)


def remove_contacts_from_list(workspace: Workspace, item: ContactList, contact_ids,
                              source: str) -> int:
    return groups.remove_members(LISTS, workspace, item, contact_ids, source)
