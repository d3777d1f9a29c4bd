"""Organizations page, new organization / workspace, the top-bar switchers, the workspace landing
page; registers the members, settings and invitation blueprints of this feature (blueprint name "orgs"
kept, so every url_for("orgs.…") is unchanged)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import once
from ..errors import ValidationFailed
from ..extensions import db
from ..models import Organization, OrgMembership, Role, Workspace
from ..policy import Permission, require
from . import services
from .access import accessible_workspaces, load_workspace, parse_uuid
from ..timeutil import timezone_names
from ..web import NavItem, api_keys_url, register_nav, show_form_errors, workspace_view
from .dashboard import dashboard_summary
from .forms import OrganizationForm, WorkspaceForm

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


def _organizations_page(form: OrganizationForm, status: int = 200):
    memberships = db.session.scalars(
        select(OrgMembership)
        .where(OrgMembership.user_id == current_user.id)
        .join(Organization)
        .order_by(Organization.name)
    ).all()
    workspaces = accessible_workspaces(current_user.id)
    return render_template("orgs/index.html", memberships=memberships, workspaces=workspaces,
                           form=form, Role=Role), status


@bp.get("/organizations")
@login_required
def index():
    return _organizations_page(OrganizationForm())


@bp.post("/organizations")
@login_required
def create():
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            claim = once.claim(once.submitted_token(), current_user.id)  # a resend makes no second
            org, workspace = services.create_organization(
                current_user, form.name.data, form.description.data, form.workspace_name.data)
        except once.Resubmitted as exc:
            return once.answer_resubmitted(exc, url_for("orgs.index"))
        except (ValidationFailed, once.FormExpired) as exc:
            db.session.rollback()
            show_form_errors(form, exc)
        else:
            url = (url_for("orgs.dashboard", workspace_id=workspace.id) if workspace is not None
                   else url_for("orgs.new_workspace", org_id=org.id))
            claim.done(url)
            db.session.commit()
            flash(f"Organization “{org.name}” created. You are its owner.", "success")
            return redirect(url)
    return _organizations_page(form, 422)


def _org_for_workspace_creator(org_id) -> Organization:
    """The organization, if the user may create workspaces in it (NotFound / policy.Forbidden
    otherwise, which the error pages turn into 404 / 403)."""
    org, role = services.find_organization(current_user.id, org_id)
    require(role, Permission.CREATE_WORKSPACE)
    return org


@bp.route("/organizations/<org_id>/workspaces/new", methods=["GET", "POST"])
@login_required
def new_workspace(org_id):
    org = _org_for_workspace_creator(org_id)
    form = WorkspaceForm()
    if form.validate_on_submit():
        try:
            claim = once.claim(once.submitted_token(), current_user.id)  # a resend makes no second
            workspace = services.create_workspace(current_user, org, form.name.data.strip(),
                                                  form.timezone.data.strip())
        except once.Resubmitted as exc:
            return once.answer_resubmitted(exc, url_for("orgs.index"))
        except (ValidationFailed, once.FormExpired) as exc:
            db.session.rollback()
            show_form_errors(form, exc)
        else:
            current_user.last_workspace_id = workspace.id
            url = url_for("orgs.dashboard", workspace_id=workspace.id)
            claim.done(url)
            db.session.commit()
            flash(f"Workspace “{workspace.name}” created.", "success")
            return redirect(url)
    status = 200 if request.method == "GET" else 422
    return render_template("orgs/new_workspace.html", org=org, form=form,
                           timezones=timezone_names()), status


@bp.post("/switch")
@login_required
def switch():
    """The top-bar switchers post a workspace id, or an organization id (→ its remembered or
    first workspace)."""
    if request.form.get("org_id"):
        org_uuid = parse_uuid(request.form["org_id"])
        in_org = [w for w in accessible_workspaces(current_user.id) if w.org_id == org_uuid]
        if not in_org:
            services.find_organization(current_user.id, org_uuid)  # NotFound unless theirs
            return redirect(url_for("orgs.index"))
        remembered = [w for w in in_org if w.id == current_user.last_workspace_id]
        return _remember_and_open((remembered or in_org)[0])
    workspace, _ = load_workspace(
        current_user.id, request.form.get("workspace_id"), Permission.OPEN_WORKSPACE
    )
    return _remember_and_open(workspace)


def _remember_and_open(workspace: Workspace):
    current_user.last_workspace_id = workspace.id
    db.session.commit()
    return redirect(url_for("orgs.dashboard", workspace_id=workspace.id))


@bp.get("/w/<workspace_id>/")
@workspace_view(Permission.OPEN_WORKSPACE)
def dashboard(workspace: Workspace):
    return render_template("workspaces/dashboard.html", workspace=workspace,
                           summary=dashboard_summary(workspace), keys_url=api_keys_url(workspace))


def init_app(app):
    from . import cli
    from . import invitations, members, settings

    for blueprint in (bp, settings.bp, members.bp, invitations.bp):
        app.register_blueprint(blueprint)
    register_nav(
        app,
        NavItem("workspace", "", "Dashboard", "orgs.dashboard", Permission.OPEN_WORKSPACE),
        NavItem("settings", "Workspace", "General", "workspace_settings.general",
                Permission.OPEN_WORKSPACE),
        NavItem("settings", "Workspace", "Members", "members.index", Permission.VIEW_MEMBERS))
    cli.init_app(app)
