"""Who may do what in a workspace: the one place that resolves a user's effective role."""
import uuid

from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from ..models import OrgMembership, Role, Workspace, WorkspaceMembership
from ..policy import Permission, can, org_wide_roles, require


def org_role(user_id: uuid.UUID, org_id: uuid.UUID) -> Role | None:
    """The user's org-wide role (ADMIN/OWNER), MEMBER if merely in the org, None if not at all."""
    slug = db.session.scalar(
        select(OrgMembership.role).where(
            OrgMembership.org_id == org_id, OrgMembership.user_id == user_id
        )
    )
    return Role.from_slug(slug) if slug else None


def workspace_role(user_id: uuid.UUID, workspace: Workspace) -> Role | None:
    """Effective role in a workspace: the higher of the org-wide role and the workspace role."""
    in_org = org_role(user_id, workspace.org_id)
    if can(in_org, Permission.ACT_IN_EVERY_WORKSPACE):
        return in_org
    slug = db.session.scalar(
        select(WorkspaceMembership.role).where(
            WorkspaceMembership.workspace_id == workspace.id,
            WorkspaceMembership.user_id == user_id,
        )
    )
    return Role.from_slug(slug) if slug else None


def parse_uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def row_in_workspace(model, workspace_id: uuid.UUID, raw_id):
    """The `model` row with this id in this workspace, else None: a malformed id, a missing row
    and another workspace's row look the same, so other workspaces' ids cannot be probed. The
    one such lookup: views 404 on None (web.load_in_workspace_or_404), services raise NotFound."""
    ident = parse_uuid(raw_id)
    row = db.session.get(model, ident) if ident else None
    return row if row is not None and row.workspace_id == workspace_id else None


def load_workspace(user_id: uuid.UUID, workspace_id, permission: Permission):
    """Workspace and the user's role in it. NotFound if the user cannot see it (missing, malformed
    id and someone else's look the same); policy.Forbidden if their role lacks `permission`."""
    ws_uuid = parse_uuid(workspace_id)
    workspace = db.session.get(Workspace, ws_uuid) if ws_uuid else None
    role = workspace_role(user_id, workspace) if workspace else None
    if role is None:
        raise NotFound("Workspace not found.")
    require(role, permission)
    return workspace, role


def accessible_workspaces(user_id: uuid.UUID) -> list[Workspace]:
    """Every workspace the user can open, for the switchers (org-wide roles see all of an org)."""
    org_wide = select(OrgMembership.org_id).where(
        OrgMembership.user_id == user_id, OrgMembership.role.in_(org_wide_roles())
    )
    direct = select(WorkspaceMembership.workspace_id).where(WorkspaceMembership.user_id == user_id)
    return list(
        db.session.scalars(
            select(Workspace)
            .where((Workspace.org_id.in_(org_wide)) | (Workspace.id.in_(direct)))
            .order_by(Workspace.name)
        )
    )
