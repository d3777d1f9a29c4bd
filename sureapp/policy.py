"""Who may do what: every permission named once, with the roles that hold it, and the rules about
people (whom you may invite, promote or remove). The one place for role decisions: UI views
(`web.workspace_view(Permission.…)`, navigation entries, templates through `can`) and services
(`require`) ask it; nothing else compares roles. README "Roles" is this table in words, and a
test keeps the two equal row by row.
"""
from enum import StrEnum

from .errors import DomainError
from .models import Role


class Forbidden(DomainError):
    """The actor's role does not allow this action (the UI answers 403; nothing is written)."""


class Permission(StrEnum):
    OPEN_WORKSPACE = "open_workspace"  # the workspace, its dashboard, Settings → General
    EDIT_WORKSPACE = "edit_workspace"  # rename, timezone
    SET_ALLOCATION = "set_allocation"  # the contact allocation
    SET_KEY_POLICY = "set_key_policy"  # the organization's API key lifetime policy
    VIEW_MEMBERS = "view_members"  # Settings → Members and pending invitations
    INVITE = "invite"  # invite as Member or Manager; resend / revoke such invitations
    INVITE_ADMIN = "invite_admin"  # the same for Org Admin invitations
    MANAGE_MEMBERS = "manage_members"  # change the role of / remove Members and Managers
    MANAGE_ADMINS = "manage_admins"  # change the role of / remove Org Admins
    ACT_IN_EVERY_WORKSPACE = "act_in_every_workspace"  # org-wide access
    CREATE_WORKSPACE = "create_workspace"
    TRANSFER_OWNERSHIP = "transfer_ownership"
    EDIT_CONTACTS = "edit_contacts"  # contacts, lists, tags: view, edit, bulk edit, import, export
    DELETE_CONTACTS = "delete_contacts"  # delete contacts (one or in bulk), lists and tags
    MANAGE_KEYS = "manage_keys"  # Settings → Developer → API Keys
    MANAGE_WEBHOOKS = "manage_webhooks"  # Settings → Developer → Webhooks
    MANAGE_SENDING = "manage_sending"  # Settings → Sending (SMTP connections)
    SEND_CAMPAIGNS = "send_campaigns"  # create, edit, delete, send, pause, resume, cancel a campaign
    MANAGE_AUTOMATIONS = "manage_automations"  # Automations: view progress, edit, activate, delete
    VIEW_API_REFERENCE = "view_api_reference"  # Settings → Developer → API reference
    LEAVE_WORKSPACE = "leave_workspace"  # the owner transfers ownership first


_FROM_MEMBER = frozenset(Role)
_FROM_MANAGER = frozenset(r for r in Role if r >= Role.MANAGER)
_FROM_ADMIN = frozenset(r for r in Role if r >= Role.ADMIN)

# The role × permission matrix (README "Roles").
ROLES_WITH: dict[Permission, frozenset[Role]] = {
    Permission.OPEN_WORKSPACE: _FROM_MEMBER,
    Permission.EDIT_WORKSPACE: _FROM_MANAGER,
    Permission.SET_ALLOCATION: _FROM_ADMIN,
    Permission.SET_KEY_POLICY: _FROM_ADMIN,
    Permission.VIEW_MEMBERS: _FROM_MANAGER,
    Permission.INVITE: _FROM_MANAGER,
    Permission.INVITE_ADMIN: _FROM_ADMIN,
    Permission.MANAGE_MEMBERS: _FROM_MANAGER,
    Permission.MANAGE_ADMINS: _FROM_ADMIN,
    Permission.ACT_IN_EVERY_WORKSPACE: _FROM_ADMIN,
    Permission.CREATE_WORKSPACE: _FROM_ADMIN,
    Permission.TRANSFER_OWNERSHIP: frozenset({Role.OWNER}),
    Permission.EDIT_CONTACTS: _FROM_MEMBER,
    Permission.DELETE_CONTACTS: _FROM_MANAGER,
    Permission.MANAGE_KEYS: _FROM_MANAGER,
    Permission.MANAGE_WEBHOOKS: _FROM_MANAGER,
    Permission.MANAGE_SENDING: _FROM_MANAGER,
    Permission.SEND_CAMPAIGNS: _FROM_MANAGER,
    Permission.MANAGE_AUTOMATIONS: _FROM_MANAGER,
    Permission.VIEW_API_REFERENCE: _FROM_MANAGER,
    Permission.LEAVE_WORKSPACE: frozenset({Role.MEMBER, Role.MANAGER, Role.ADMIN}),
}

DENIED = {
    Permission.EDIT_WORKSPACE: "Only Managers and above can change workspace settings.",
    Permission.SET_ALLOCATION: "Only Org Admins and the Owner can set the contact allocation.",
    Permission.INVITE: "Only Managers and above can invite people.",
    Permission.CREATE_WORKSPACE: "Only Org Admins and the Owner can create workspaces.",
    Permission.TRANSFER_OWNERSHIP: "Only the owner can transfer ownership.",
    Permission.DELETE_CONTACTS: "Only Managers and above can delete contacts, lists and tags.",
    Permission.LEAVE_WORKSPACE: "The owner cannot leave. Transfer ownership to someone else first.",
}


def can(role: Role | None, permission: Permission) -> bool:
    """May someone with `role` (None: no access at all) do `permission`?"""
    return role is not None and role in ROLES_WITH[permission]


def require(role: Role | None, permission: Permission, message: str | None = None) -> None:
    """Raise Forbidden unless `role` holds `permission`."""
    if not can(role, permission):
        raise Forbidden(message or DENIED.get(permission, "Your role does not allow this."))


def org_wide_roles() -> list[str]:
    """Slugs of the org roles that open every workspace of their organization (for SQL)."""
    return [r.slug for r in ROLES_WITH[Permission.ACT_IN_EVERY_WORKSPACE]]


# ---- rules about people: nobody hands out or takes away more than their own role -------------

def _managing(target: Role) -> Permission | None:
    """The permission that covers changing or removing someone whose role is `target`; None for
    the owner, whom nobody changes or removes (ownership only moves by transfer)."""
    if target is Role.OWNER:
        return None
    return Permission.MANAGE_ADMINS if target.is_org_role else Permission.MANAGE_MEMBERS


def _inviting(role: Role) -> Permission | None:
    """The permission to invite someone as `role`; None for owner (never invited)."""
    if role is Role.OWNER:
        return None
    return Permission.INVITE_ADMIN if role.is_org_role else Permission.INVITE


def may_manage(actor: Role | None, target: Role) -> bool:
    """May `actor` change the role of / remove someone whose role is `target`? Never someone
    above themselves, never the owner."""
    permission = _managing(target)
    return permission is not None and can(actor, permission)


def grantable_roles(actor: Role | None) -> list[Role]:
    """Roles `actor` may give someone: none above their own, never owner (that is a transfer)."""
    return [r for r in Role if may_manage(actor, r)]


def may_invite(actor: Role | None, role: Role) -> bool:
    """May `actor` invite someone as `role` (and resend / revoke such an invitation)?"""
    permission = _inviting(role)
    return permission is not None and can(actor, permission)


def invitable_roles(actor: Role | None) -> list[Role]:
    return [r for r in Role if may_invite(actor, r)]


def require_may_change_role(actor_is_target: bool, actor: Role | None, target: Role,
                            new_role: Role) -> None:
    """Nobody changes their own role, touches a higher role, or grants above their own."""
    if actor_is_target:
        raise Forbidden("You cannot change your own role.")
    if not may_manage(actor, target):
        raise Forbidden("You cannot change the role of someone with a higher role than yours.")
    if not may_manage(actor, new_role):
        raise Forbidden("You cannot grant a role above your own.")


def require_may_remove(actor: Role | None, target: Role) -> None:
    if not may_manage(actor, target):
        raise Forbidden("You cannot remove someone with a higher role than yours.")


def require_may_invite(actor: Role | None, role: Role) -> None:
    require(actor, Permission.INVITE)
    if not may_invite(actor, role):
        raise Forbidden("You cannot invite someone above your own role.")


def require_may_handle_invitation(actor: Role | None, role: Role) -> None:
    if not may_invite(actor, role):
        raise Forbidden("You cannot change an invitation for a role above your own.")
