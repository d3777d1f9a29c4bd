"""Organizations, workspaces, memberships and invitations. The web UI and the CLI call these;
every role decision they make is asked of sureapp/policy.py (README "Roles"), which raises
Forbidden: nobody grants above their own role, touches a higher role or changes their own; the
owner role only moves by transfer; the owner cannot leave or be removed.
"""
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from ..errors import Conflict, DomainError, NotFound, ValidationFailed
from ..extensions import db
from ..models import (Invitation, Organization, OrgMembership, Role, User, Workspace,
                      WorkspaceMembership)
from ..policy import Forbidden, Permission, org_wide_roles, require
from .. import policy
from ..timeutil import is_valid_timezone, utcnow
from .access import org_role, parse_uuid, row_in_workspace, workspace_role
from ..validation import has_control_characters

INVITATION_LIFETIME = timedelta(days=7)
MAX_CONTACT_ALLOCATION = 2_000_000_000  # fits a 32-bit INTEGER column on every database


# ---- organizations and workspaces ------------------------------------------------------------

def _clean_name(value: str | None, field: str, errors: dict) -> str:
    name = (value or "").strip()
    if not name:
        errors.setdefault(field, []).append("This field is required.")
    elif len(name) > 255:
        errors.setdefault(field, []).append("Must be at most 255 characters.")
    elif has_control_characters(name):
        errors.setdefault(field, []).append("Use visible characters only (no control characters).")
    return name


def create_organization(owner: User, name: str, description: str = "",
                        workspace_name: str = "", timezone: str = "UTC"):
    """A new organization owned by `owner`, with its first workspace when a name is given."""
    errors: dict[str, list[str]] = {}
    name = _clean_name(name, "name", errors)
    workspace_name = (workspace_name or "").strip()
    if workspace_name:
        _clean_name(workspace_name, "workspace_name", errors)
    if len(description or "") > 2000:
        errors["description"] = ["Must be at most 2000 characters."]
    elif has_control_characters(description or "", allow_newlines=True):
        errors["description"] = ["Use visible characters only (no control characters)."]
    if errors:
        raise ValidationFailed(errors)
    org = Organization(name=name, description=(description or "").strip())
    db.session.add(org)
    db.session.flush()
    db.session.add(OrgMembership(org_id=org.id, user_id=owner.id, role=Role.OWNER.slug))
    workspace = None
    if workspace_name:
        workspace = _new_workspace(org, workspace_name, timezone)
        owner.last_workspace_id = workspace.id
    db.session.flush()
    return org, workspace


def _new_workspace(org: Organization, name: str, timezone: str) -> Workspace:
    workspace = Workspace(org_id=org.id, name=name, timezone=timezone)
    db.session.add(workspace)
    db.session.flush()
    return workspace


def create_workspace(actor: User, org: Organization, name: str, timezone: str = "UTC") -> Workspace:
    """A new workspace in `org`; Org Admin+ only."""
    require(org_role(actor.id, org.id), Permission.CREATE_WORKSPACE)
    errors: dict[str, list[str]] = {}
    name = _clean_name(name, "name", errors)
    if not is_valid_timezone(timezone or ""):
        errors["timezone"] = ["Choose a timezone from the list, e.g. Europe/Berlin."]
    if errors:
        raise ValidationFailed(errors)
    return _new_workspace(org, name, timezone)


def update_workspace(actor_role: Role, workspace: Workspace, name: str, timezone: str,
                     contact_allocation=...) -> None:
    """Rename / change timezone (Manager+); contact allocation (Org Admin+, None = unlimited).

    Leave contact_allocation out (the default ...) to keep it unchanged."""
    require(actor_role, Permission.EDIT_WORKSPACE)
    if contact_allocation is not ...:
        require(actor_role, Permission.SET_ALLOCATION)
    errors: dict[str, list[str]] = {}
    name = _clean_name(name, "name", errors)
    if not is_valid_timezone(timezone or ""):
        errors["timezone"] = ["Choose a timezone from the list, e.g. Europe/Berlin."]
    if contact_allocation is not ... and contact_allocation is not None:
        if not isinstance(contact_allocation, int) or isinstance(contact_allocation, bool):
            errors["contact_allocation"] = ["Enter a whole number, or leave empty for unlimited."]
        elif not 0 <= contact_allocation <= MAX_CONTACT_ALLOCATION:
            errors["contact_allocation"] = [
                f"Must be between 0 and {MAX_CONTACT_ALLOCATION:,}, or empty for unlimited."]
    if errors:
        raise ValidationFailed(errors)
    workspace.name = name
    workspace.timezone = timezone
    if contact_allocation is not ...:
        workspace.contact_allocation = contact_allocation


def find_organization(user_id: uuid.UUID, org_id) -> tuple[Organization, Role]:
    """An organization the user belongs to, with their org role; NotFound otherwise."""
    org_uuid = parse_uuid(org_id)
    org = db.session.get(Organization, org_uuid) if org_uuid else None
    role = org_role(user_id, org.id) if org else None
    if org is None or role is None:
        raise NotFound("Organization not found.")
    return org, role


# ---- members ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    user: User
    role: Role  # effective role in the workspace

    @property
    def is_org_wide(self) -> bool:
        return self.role.is_org_role


def workspace_members(workspace: Workspace) -> list[Member]:
    """Everyone who can open the workspace: its members plus the org's admins and owner."""
    org_wide = db.session.execute(
        select(User, OrgMembership.role).join(OrgMembership, OrgMembership.user_id == User.id)
        .where(OrgMembership.org_id == workspace.org_id,
               OrgMembership.role.in_(org_wide_roles()))
    ).all()
    direct = db.session.execute(
        select(User, WorkspaceMembership.role)
        .join(WorkspaceMembership, WorkspaceMembership.user_id == User.id)
        .where(WorkspaceMembership.workspace_id == workspace.id)
    ).all()
    members: dict[uuid.UUID, Member] = {}
    for user, slug in [*direct, *org_wide]:
        role = Role.from_slug(slug)
        if user.id not in members or members[user.id].role < role:
            members[user.id] = Member(user, role)
    return sorted(members.values(), key=lambda m: (-m.role, (m.user.name or m.user.email).lower()))


def find_member(workspace: Workspace, user_id) -> Member:
    """A person with access to `workspace`; NotFound for anyone else (other tenants included)."""
    user_uuid = parse_uuid(user_id)
    user = db.session.get(User, user_uuid) if user_uuid else None
    role = workspace_role(user.id, workspace) if user else None
    if role is None:
        raise NotFound("Member not found.")
    return Member(user, role)


def _org_membership(org_id: uuid.UUID, user_id: uuid.UUID) -> OrgMembership:
    membership = db.session.scalar(select(OrgMembership).where(
        OrgMembership.org_id == org_id, OrgMembership.user_id == user_id))
    if membership is None:
        membership = OrgMembership(org_id=org_id, user_id=user_id, role="member")
        db.session.add(membership)
    return membership


def grant_role(workspace: Workspace, user: User, role: Role) -> None:
    """Give `user` exactly `role` in `workspace` (no permission check: callers decide).

    Workspace roles live on the workspace membership; Org Admin/Owner on the org membership.
    Lowering an Org Admin to a workspace role makes them a plain org member everywhere."""
    org_membership = _org_membership(workspace.org_id, user.id)
    ws_membership = db.session.scalar(select(WorkspaceMembership).where(
        WorkspaceMembership.workspace_id == workspace.id, WorkspaceMembership.user_id == user.id))
    if role.is_org_role:
        org_membership.role = role.slug
        return
    org_membership.role = Role.MEMBER.slug
    if ws_membership is None:
        db.session.add(WorkspaceMembership(workspace_id=workspace.id, user_id=user.id,
                                           role=role.slug))
    else:
        ws_membership.role = role.slug


def change_role(actor: User, actor_role: Role, workspace: Workspace, member: Member,
                new_role: Role) -> None:
    policy.require_may_change_role(member.user.id == actor.id, actor_role, member.role, new_role)
    grant_role(workspace, member.user, new_role)


def remove_member(actor: User, actor_role: Role, workspace: Workspace, member: Member) -> None:
    """Remove from the workspace; an Org Admin is removed from the organization (their access is
    org-wide). Removing yourself is leaving."""
    if member.user.id == actor.id:
        leave(actor, workspace)
        return
    policy.require_may_remove(actor_role, member.role)
    _drop_access(workspace, member)


def leave(user: User, workspace: Workspace) -> None:
    role = workspace_role(user.id, workspace)
    if role is None:
        raise NotFound("Workspace not found.")
    require(role, Permission.LEAVE_WORKSPACE)
    _drop_access(workspace, Member(user, role))


def _drop_access(workspace: Workspace, member: Member) -> None:
    org_id, user_id = workspace.org_id, member.user.id
    org_workspaces = select(Workspace.id).where(Workspace.org_id == org_id)
    if member.is_org_wide:
        db.session.execute(delete(WorkspaceMembership).where(
            WorkspaceMembership.user_id == user_id,
            WorkspaceMembership.workspace_id.in_(org_workspaces)))
        db.session.execute(delete(OrgMembership).where(
            OrgMembership.org_id == org_id, OrgMembership.user_id == user_id))
        return
    db.session.execute(delete(WorkspaceMembership).where(
        WorkspaceMembership.user_id == user_id, WorkspaceMembership.workspace_id == workspace.id))
    remaining = db.session.scalar(select(WorkspaceMembership.id).where(
        WorkspaceMembership.user_id == user_id,
        WorkspaceMembership.workspace_id.in_(org_workspaces)).limit(1))
    if remaining is None:
        # No workspace left in the org: the org disappears from their switcher too.
        db.session.execute(delete(OrgMembership).where(
            OrgMembership.org_id == org_id, OrgMembership.user_id == user_id,
            OrgMembership.role == Role.MEMBER.slug))


def transfer_ownership(actor: User, workspace: Workspace, new_owner: Member) -> None:
    """The owner hands the organization to another member; the old owner becomes Org Admin."""
    require(org_role(actor.id, workspace.org_id), Permission.TRANSFER_OWNERSHIP)
    if new_owner.user.id == actor.id:
        raise ValidationFailed({"user_id": ["You already own this organization."]})
    old = _org_membership(workspace.org_id, actor.id)
    old.role = Role.ADMIN.slug
    # Flush the demotion first: the database allows only one owner row per organization.
    db.session.flush()
    _org_membership(workspace.org_id, new_owner.user.id).role = Role.OWNER.slug
    db.session.flush()


# ---- invitations -----------------------------------------------------------------------------

def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_status(invitation: Invitation, now: datetime | None = None) -> str:
    """pending · accepted · revoked · expired"""
    if invitation.accepted_at:
        return "accepted"
    if invitation.revoked_at:
        return "revoked"
    if invitation.expires_at <= (now or utcnow()):
        return "expired"
    return "pending"


def pending_invitations(workspace: Workspace) -> list[Invitation]:
    """Open invitations of the workspace (expired ones too, so they can be resent)."""
    return list(db.session.scalars(
        select(Invitation).where(Invitation.workspace_id == workspace.id,
                                 Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc())))


def find_invitation(workspace: Workspace, invitation_id) -> Invitation:
    invitation = row_in_workspace(Invitation, workspace.id, invitation_id)
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


def _new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_digest(token)
    invitation.expires_at = utcnow() + INVITATION_LIFETIME
    return token


def invite(actor: User, actor_role: Role, workspace: Workspace, email: str,
           role: Role) -> tuple[Invitation, str]:
    """Create an invitation; returns it and the token, which exists only in this response."""
    from ..auth.services import find_user_by_email, normalize_email

    policy.require_may_invite(actor_role, role)
    email = normalize_email(email)
    existing = find_user_by_email(email)
    if existing is not None and workspace_role(existing.id, workspace) is not None:
        raise ValidationFailed({"email": ["This person already has access to this workspace."]})
    for other in pending_invitations(workspace):
        if other.email == email and invitation_status(other) == "pending":
            raise ValidationFailed(
                {"email": ["An invitation to this email is already pending. Resend it instead."]})
    invitation = Invitation(workspace_id=workspace.id, email=email, role=role.slug,
                            invited_by_id=actor.id, token_hash="")
    token = _new_token(invitation)
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def _require_may_handle(actor_role: Role, invitation: Invitation) -> None:
    policy.require_may_handle_invitation(actor_role, Role.from_slug(invitation.role))
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict("This invitation is no longer open.")


def revoke_invitation(actor_role: Role, invitation: Invitation) -> None:
    _require_may_handle(actor_role, invitation)
    invitation.revoked_at = utcnow()


def resend_invitation(actor_role: Role, invitation: Invitation) -> str:
    """A new token and a fresh 7-day expiry; the old link stops working."""
    _require_may_handle(actor_role, invitation)
    return _new_token(invitation)


class InvitationUnusable(DomainError):
    """Unknown, tampered, revoked, used or expired link; `status` says which."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


_UNUSABLE_MESSAGES = {
    "unknown": "This invitation link is not valid. Check that you copied the whole link.",
    "accepted": "This invitation has already been used.",
    "revoked": "This invitation was withdrawn. Ask for a new one.",
    "expired": "This invitation has expired. Ask for a new one.",
}


def invitation_for_token(token: str) -> Invitation:
    """The open invitation a link points to; InvitationUnusable otherwise."""
    invitation = None
    if token and len(token) <= 128:
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.token_hash == token_digest(token)))
    status = invitation_status(invitation) if invitation else "unknown"
    if status != "pending":
        raise InvitationUnusable(status, _UNUSABLE_MESSAGES[status])
    return invitation


def accept_invitation(invitation: Invitation, user: User) -> Workspace:
    """Join the invited workspace. The invitation is bound to its email address, and a role the
    user already has above the invited one is kept."""
    if user.email != invitation.email:
        raise Forbidden(f"This invitation was sent to {invitation.email}; "
                         f"you are logged in as {user.email}.")
    if invitation_status(invitation) != "pending":
        raise InvitationUnusable(invitation_status(invitation),
                                 _UNUSABLE_MESSAGES[invitation_status(invitation)])
    workspace = invitation.workspace
    invited = Role.from_slug(invitation.role)
    current = workspace_role(user.id, workspace)
    if current is None or current < invited:
        grant_role(workspace, user, invited)
    # Conditional update: of two concurrent accepts of one link, only one wins.
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None))
        .values(accepted_at=utcnow(), accepted_by_id=user.id)
        .execution_options(synchronize_session="fetch"))
    if claimed.rowcount != 1:
        raise InvitationUnusable("accepted", _UNUSABLE_MESSAGES["accepted"])
    user.last_workspace_id = workspace.id
    db.session.flush()
    return workspace
