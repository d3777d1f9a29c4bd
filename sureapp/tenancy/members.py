"""Workspace settings → Members: people with access, invitations, roles, ownership transfer.
Every rule is in sureapp/policy.py (asked by tenancy.services). A ValidationFailed is shown on its
form here; NotFound and policy.Forbidden reach web's error handler (404 / 403 page, rolled back)."""
from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from .. import once
from ..auth.sudo import require_sudo
from ..errors import Conflict, ValidationFailed
from ..extensions import db
from .. import policy
from ..links import external_url, public_url_missing
from ..mail import send_mail
from ..models import Role, Workspace
from ..policy import Permission
from ..security import shows_secret
from . import services
from ..web import render_dialog, show_form_errors, workspace_view
from .forms import InviteForm, RoleForm, TransferOwnershipForm, role_choices

bp = Blueprint("members", __name__, url_prefix="/w/<workspace_id>/settings/members")


def _invite_form() -> InviteForm:
    form = InviteForm()
    form.role.choices = role_choices(policy.invitable_roles(g.workspace_role))
    return form


def _role_form(member: services.Member | None = None) -> RoleForm:
    """The posted form, or (given a member) a row's form showing their role, whatever was posted."""
    form = RoleForm(formdata=None, data={"role": member.role.slug}) if member else RoleForm()
    form.role.choices = role_choices(policy.grantable_roles(g.workspace_role))
    return form


def _page(workspace: Workspace, status: int = 200, invite_form=None, transfer_form=None,
          invited=None, invite_link=None, link_already_shown=False):
    role = g.workspace_role
    members = services.workspace_members(workspace)
    return render_template(
        "settings/members.html", workspace=workspace, role=role, members=members,
        invitations=services.pending_invitations(workspace),
        invitation_status=services.invitation_status,
        invite_form=invite_form or _invite_form(),
        transfer_form=transfer_form or TransferOwnershipForm(),
        role_form_for=_role_form, may_manage=lambda m: m.user.id != current_user.id
        and policy.may_manage(role, m.role),
        may_handle_invitation=lambda inv: policy.may_invite(role, Role.from_slug(inv.role)),
        may_transfer=policy.can(role, Permission.TRANSFER_OWNERSHIP),
        transfer_candidates=[m for m in members if m.role != Role.OWNER],
        invited=invited, invite_link=invite_link, link_already_shown=link_already_shown,
        Role=Role,
        public_url_missing=public_url_missing(),
    ), status


def _back_to_members(workspace: Workspace):
    return redirect(url_for(".index", workspace_id=workspace.id))


@bp.get("/")
@workspace_view(Permission.VIEW_MEMBERS)
def index(workspace: Workspace):
    return _page(workspace)


def _mail(invitation, link: str | None) -> bool:
    """Mail the link (nothing while no public address is known)."""
    if link is None:
        return False
    inviter = current_user.name or current_user.email
    workspace_name = invitation.workspace.name
    mailed = send_mail(
        invitation.email, f"{inviter} invited you to {workspace_name} on sureapp",
        f"{inviter} invited you to join the workspace \"{workspace_name}\" as "
        f"{Role.from_slug(invitation.role).label}.\n\n"
        f"Accept the invitation:\n{link}\n\n"
        "The link works once and expires in 7 days. If you did not expect it, ignore this mail.\n")
    return mailed


def _invitation_sent(workspace: Workspace, invitation, token: str, claim: once.Claim):
    """Post/Redirect/Get: the link is shown once on the page the browser is sent to (once.py),
    so a reload never invites (or resends) again; the form comes back empty."""
    link = external_url("invitations.show", token=token)
    stashed = once.stash(current_user.id, "invitation.link", invitation.id, link) if link else None
    url = (url_for(".invited", workspace_id=workspace.id, invitation_id=invitation.id,
                   reveal_id=stashed.reveal_id) if stashed
           else url_for(".index", workspace_id=workspace.id))
    claim.done(url)
    db.session.commit()
    mailed = _mail(invitation, link)
    if link is None:
        flash(f"Invitation to {invitation.email} created, but no link can be shown or mailed: "
              "this server does not know the address people reach it at. Ask your administrator "
              "to set PUBLIC_URL, then use Resend.", "error")
        return redirect(url, code=303)
    flash(f"Invited {invitation.email} as {Role.from_slug(invitation.role).label}."
          + (" We emailed them the link." if mailed else " Send them the link below."), "success")
    return once.redirect_to_reveal(url, stashed)


@bp.get("/invitations/<invitation_id>/shown/<reveal_id>")
@workspace_view(Permission.INVITE)
def invited(workspace: Workspace, invitation_id, reveal_id):
    """The one page that shows an invitation link; reloading it says it was shown."""
    invitation = services.find_invitation(workspace, invitation_id)
    revealed = once.take(reveal_id, current_user.id, invitation.id, once.reveal_cookie())
    db.session.commit()
    link = revealed.secret if revealed and revealed.purpose == "invitation.link" else None
    body, status = _page(workspace, invited=invitation, invite_link=link,
                         link_already_shown=link is None)
    response = make_response(body, status)
    if link:
        shows_secret()
    return once.forget_reveal_cookie(response)


@bp.post("/invitations")
@workspace_view(Permission.INVITE)
def invite(workspace: Workspace):
    form = _invite_form()
    if form.validate_on_submit():
        if Role.from_slug(form.role.data).is_org_role:
            require_sudo()  # an Org Admin opens every workspace of the organization
        try:
            claim = once.claim(once.submitted_token(), current_user.id)
            invitation, token = services.invite(
                current_user, g.workspace_role, workspace, form.email.data,
                Role.from_slug(form.role.data))
        except once.Resubmitted as exc:
            return once.answer_resubmitted(exc, url_for(".index", workspace_id=workspace.id))
        except (ValidationFailed, once.FormExpired) as exc:
            db.session.rollback()
            show_form_errors(form, exc)
        else:
            return _invitation_sent(workspace, invitation, token, claim)
    return _page(workspace, 422, invite_form=form)


@bp.post("/invitations/<invitation_id>/resend")
@workspace_view(Permission.INVITE)
def resend(workspace: Workspace, invitation_id):
    invitation = services.find_invitation(workspace, invitation_id)
    try:
        claim = once.claim(once.submitted_token(), current_user.id)
        token = services.resend_invitation(g.workspace_role, invitation)
    except once.Resubmitted as exc:
        return once.answer_resubmitted(exc, url_for(".index", workspace_id=workspace.id))
    except (Conflict, once.FormExpired) as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back_to_members(workspace)
    return _invitation_sent(workspace, invitation, token, claim)


def _confirm(workspace: Workspace, title: str, consequence: str, action_url: str, button: str):
    """The confirm dialog (or no-JS page) in front of a destructive Members action."""
    return render_dialog("_confirm.html", title, in_settings=True, workspace=workspace,
                         consequence=consequence, action_url=action_url, button=button,
                         cancel_url=url_for(".index", workspace_id=workspace.id))


@bp.route("/invitations/<invitation_id>/revoke", methods=["GET", "POST"])
@workspace_view(Permission.INVITE)
def revoke(workspace: Workspace, invitation_id):
    """GET: the confirm dialog; POST: revoke and go back to the Members page."""
    invitation = services.find_invitation(workspace, invitation_id)
    if request.method == "GET":
        policy.require_may_handle_invitation(g.workspace_role, Role.from_slug(invitation.role))
        return _confirm(workspace, f"Revoke the invitation to {invitation.email}?",
                        "Its link stops working at once. You can invite them again later.",
                        request.path, "Revoke invitation")
    try:
        services.revoke_invitation(g.workspace_role, invitation)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"Invitation to {invitation.email} revoked; its link no longer works.", "success")
    return _back_to_members(workspace)


@bp.post("/<user_id>/role")
@workspace_view(Permission.MANAGE_MEMBERS)
def change_role(workspace: Workspace, user_id):
    member = services.find_member(workspace, user_id)
    form = _role_form()
    if not form.validate_on_submit():
        flash("Choose one of the roles offered: you cannot grant a role above your own.", "error")
        return _page(workspace, 422)
    if Role.from_slug(form.role.data).is_org_role:
        require_sudo()
    services.change_role(current_user, g.workspace_role, workspace, member,
                         Role.from_slug(form.role.data))
    db.session.commit()
    flash(f"{member.user.email} is now {Role.from_slug(form.role.data).label}.", "success")
    return _back_to_members(workspace)


@bp.route("/<user_id>/remove", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_MEMBERS)
def remove(workspace: Workspace, user_id):
    """GET: the confirm dialog; POST: remove and go back to the Members page."""
    member = services.find_member(workspace, user_id)
    if request.method == "GET":
        policy.require_may_remove(g.workspace_role, member.role)
        where = "the organization and every workspace of it" if member.is_org_wide \
            else f"“{workspace.name}”"
        return _confirm(workspace, f"Remove {member.user.email}?",
                        f"They lose access to {where} at once. You can invite them again later.",
                        request.path, "Remove")
    services.remove_member(current_user, g.workspace_role, workspace, member)
    db.session.commit()
    where = "the organization" if member.is_org_wide else f"“{workspace.name}”"
    flash(f"{member.user.email} was removed from {where}.", "success")
    if member.user.id == current_user.id:
        return redirect(url_for("orgs.home"))
    return _back_to_members(workspace)


@bp.post("/transfer-ownership")
@workspace_view(Permission.TRANSFER_OWNERSHIP)
def transfer_ownership(workspace: Workspace):
    require_sudo()
    form = TransferOwnershipForm()
    if form.validate_on_submit():
        new_owner = services.find_member(workspace, form.user_id.data)
        try:
            services.transfer_ownership(current_user, workspace, new_owner)
        except ValidationFailed as exc:
            db.session.rollback()
            show_form_errors(form, exc)
        else:
            db.session.commit()
            flash(f"{new_owner.user.email} now owns {workspace.organization.name}. "
                  "You are an Org Admin.", "success")
            return _back_to_members(workspace)
    return _page(workspace, 422, transfer_form=form)
