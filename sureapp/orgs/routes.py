"""Organizations page, the workspace switcher and the workspace landing page."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Organization, OrgMembership, Role
from ..tenancy.access import accessible_workspaces, load_workspace_or_abort
from ..web import NavItem, register_nav, workspace_view

bp = Blueprint("orgs", __name__)


@bp.get("/home")
@login_required
def home():
    """Land in the remembered workspace, else the first one, else the organizations page."""
    workspaces = accessible_workspaces(current_user.id)
    remembered = [w for w in workspaces if w.id == current_user.last_workspace_id]
    target = (remembered or workspaces or [None])[0]
    if target is None:
        return redirect(url_for("orgs.index"))
    return redirect(url_for("orgs.dashboard", workspace_id=target.id))


@bp.get("/organizations")
@login_required
def index():
    memberships = db.session.scalars(
        select(OrgMembership)
        .where(OrgMembership.user_id == current_user.id)
        .join(Organization)
        .order_by(Organization.name)
    ).all()
    workspaces = accessible_workspaces(current_user.id)
    return render_template("orgs/index.html", memberships=memberships, workspaces=workspaces)


@bp.post("/switch")
@login_required
def switch():
    """The top-bar switchers post a workspace id here."""
    workspace, _ = load_workspace_or_abort(
        current_user.id, request.form.get("workspace_id"), Role.MEMBER
    )
    return redirect(url_for("orgs.dashboard", workspace_id=workspace.id))


@bp.get("/w/<workspace_id>/")
@workspace_view(Role.MEMBER)
def dashboard(workspace):
    return render_template("workspaces/dashboard.html", workspace=workspace)


def init_app(app):
    app.register_blueprint(bp)
    register_nav(app, NavItem("workspace", "", "Dashboard", "orgs.dashboard", Role.MEMBER))
