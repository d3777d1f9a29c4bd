"""Settings → Organization → API key policy (Org Admin and Owner): the organization's key
lifetime policy (the rule is keys/lifetime.py) and its history of changes (who, what, when).
Managers see the policy in the key panels."""
from flask import Blueprint, flash, render_template, url_for
from flask_login import current_user

from ..auth.sudo import sudo_required
from ..errors import ValidationFailed
from ..extensions import db
from ..models import Workspace
from ..policy import Permission
from ..timeutil import utcnow
from ..web import NavItem, redirect_to, register_nav, show_form_errors, workspace_view
from . import lifetime
from .forms import KeyPolicyForm

bp = Blueprint("key_policy", __name__, url_prefix="/w/<workspace_id>/settings/key-policy")


def _page(workspace: Workspace, form: KeyPolicyForm, status: int = 200):
    org = workspace.organization
    return render_template(
        "keys/policy.html", workspace=workspace, org=org, form=form,
        policy=lifetime.policy_of(org), beyond=lifetime.keys_beyond(org, utcnow()),
        limit=lifetime.MAX_LIFETIME_DAYS_LIMIT, history=lifetime.policy_history(org),
        now=utcnow()), status


@bp.get("")
@workspace_view(Permission.SET_KEY_POLICY)
def show(workspace: Workspace):
    org = workspace.organization
    form = KeyPolicyForm(formdata=None, max_lifetime_days=org.key_max_lifetime_days,
                         require_expiry=org.key_require_expiry)
    return _page(workspace, form)


@bp.post("")
@workspace_view(Permission.SET_KEY_POLICY)
@sudo_required  # loosening it is lowering every workspace's guard
def update(workspace: Workspace):
    form = KeyPolicyForm()
    if form.validate_on_submit():
        try:
            changes = lifetime.set_policy(workspace.organization, form.max_lifetime_days.data,
                                          form.require_expiry.data, actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            show_form_errors(form, exc)
        else:
            db.session.commit()
            flash("API key policy saved." if changes else "Nothing changed.", "success")
            return redirect_to(url_for(".show", workspace_id=workspace.id))
    return _page(workspace, form, 422)


def init_app(app):
    app.register_blueprint(bp)
    register_nav(app, NavItem("settings", "Organization", "API key policy", "key_policy.show",
                              Permission.SET_KEY_POLICY))
