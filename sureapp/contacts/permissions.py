"""Who may do what with contacts, lists and tags: the one place that says it."""
from ..models import Role

# Members see and edit contacts (fields, lists, tags, bulk edits, import and export).
VIEW_AND_EDIT = Role.MEMBER
# Deleting is destructive and not undoable: contacts (one or in bulk), lists and tags.
DELETE = Role.MANAGER


def can_delete(role: Role | None) -> bool:
    return role is not None and role >= DELETE
