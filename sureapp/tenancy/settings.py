"""Workspace settings → General: name and timezone (Manager+), contact allocation (Org Admin+),
and leaving the workspace. Members see the page read-only."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from ..errors import ValidationFailed
from ..extensions import db
from ..models import Workspace
from ..policy import Forbidden, Permission, can, require
from . import services
from ..timeutil import timezone_names
from ..web import render_dialog, show_form_errors, workspace_view
from .forms import WorkspaceSettingsForm

bp = Blueprint("workspace_settings", __name__, url_prefix="/w/<workspace_id>/settings")


def _page(workspace: Workspace, form: WorkspaceSettingsForm, status: int = 200):
    role = g.workspace_role
    return render_template(
        "settings/general.html", workspace=workspace, form=form, timezones=timezone_names(),
        can_edit=can(role, Permission.EDIT_WORKSPACE),
        can_set_allocation=can(role, Permission.SET_ALLOCATION),
        can_leave=can(role, Permission.LEAVE_WORKSPACE), role=role,
    ), status


@bp.get("/")
@workspace_view(Permission.OPEN_WORKSPACE)
def general(workspace: Workspace):
    return _page(workspace, WorkspaceSettingsForm(obj=workspace))


@bp.post("/")
@workspace_view(Permission.EDIT_WORKSPACE)
def update(workspace: Workspace):
    role = g.workspace_role
    form = WorkspaceSettingsForm()
    if not can(role, Permission.SET_ALLOCATION) and "contact_allocation" in request.form:
        abort(403)  # the field is not offered below Org Admin: a crafted post, not a mistake
    if form.validate_on_submit():
        changes = {"name": form.name.data, "timezone": (form.timezone.data or "").strip()}
        if can(role, Permission.SET_ALLOCATION):
            changes["contact_allocation"] = form.contact_allocation.data
        try:
            services.update_workspace(role, workspace, **changes)
        except ValidationFailed as exc:
            db.session.rollback()
            show_form_errors(form, exc)
        else:
            db.session.commit()
            flash("Workspace settings saved.", "success")
            return redirect(url_for(".general", workspace_id=workspace.id))
    db.session.rollback()
    return _page(workspace, form, 422)


@bp.route("/leave", methods=["GET", "POST"])
@workspace_view(Permission.OPEN_WORKSPACE)
def leave(workspace: Workspace):
    """GET: the confirm dialog; POST: leave (an owner is told to transfer ownership first)."""
    general_url = url_for(".general", workspace_id=workspace.id)
    if request.method == "GET":
        require(g.workspace_role, Permission.LEAVE_WORKSPACE)  # the owner must transfer first
        org_wide = g.workspace_role.is_org_role
        where = workspace.organization.name if org_wide else workspace.name
        return render_dialog(
            "_confirm.html", f"Leave {where}?", in_settings=True, workspace=workspace,
            consequence=("You lose access to every workspace of the organization"
                         if org_wide else "You lose access to this workspace")
            + " until someone invites you again.",
            action_url=request.path, button="Leave", cancel_url=general_url)
    try:
        services.leave(current_user, workspace)
    except Forbidden as exc:
        flash(exc.message, "error")
        return redirect(general_url)
    current_user.last_workspace_id = None
    db.session.commit()
    flash(f"You left “{workspace.name}”.", "success")
    return redirect(url_for("orgs.home"))
