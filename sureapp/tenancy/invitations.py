"""Opening an invitation link: accept as the logged-in user, or create the invited account.
The invitation is bound to its email: only the account with that address can accept it."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.forms import InvitedSignupForm
from ..auth.routes import failed_attempt, login_rate_limit, start_session
from ..auth.services import create_user, find_user_by_email
from ..extensions import db, limiter
from ..models import Role
from ..policy import Forbidden
from . import services

bp = Blueprint("invitations", __name__, url_prefix="/invitations")

_STATUS_CODES = {"unknown": 404, "accepted": 410, "revoked": 410, "expired": 410}


def _invitation_or_error_page(token: str):
    try:
        return services.invitation_for_token(token), None
    except services.InvitationUnusable as exc:
        page = render_template("orgs/invitation_unusable.html", message=exc.message)
        return None, (page, _STATUS_CODES[exc.status])


def _page(invitation, form=None, status: int = 200, error: str | None = None):
    existing = find_user_by_email(invitation.email) if not current_user.is_authenticated else None
    response = render_template(
        "orgs/invitation.html", invitation=invitation, role=Role.from_slug(invitation.role),
        form=form or InvitedSignupForm(), has_account=existing is not None, error=error,
        token=request.view_args["token"],
    )
    return response, status


@bp.get("/<token>")
def show(token):
    invitation, error_page = _invitation_or_error_page(token)
    if error_page:
        return error_page
    response = _page(invitation)
    return response[0], response[1], {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@bp.post("/<token>")
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=failed_attempt, scope="invitation-ip")
def accept(token):
    """Logged in: accept. Not logged in and no account yet: sign up as the invited email."""
    invitation, error_page = _invitation_or_error_page(token)
    if error_page:
        return error_page
    if current_user.is_authenticated:
        user = current_user._get_current_object()
    else:
        if find_user_by_email(invitation.email):
            return redirect(url_for("auth.login", next=url_for(".show", token=token)))
        form = InvitedSignupForm()
        if not form.validate_on_submit():
            return _page(invitation, form, 422)
        user = create_user(invitation.email, form.password.data, form.name.data or "")
    try:
        workspace = services.accept_invitation(invitation, user)
    except Forbidden as exc:
        db.session.rollback()
        return _page(invitation, status=403, error=exc.message)
    except services.InvitationUnusable as exc:
        db.session.rollback()
        return render_template("orgs/invitation_unusable.html", message=exc.message), 410
    db.session.commit()
    if not current_user.is_authenticated:
        start_session(user)
    flash(f"Welcome to {workspace.name}! You joined as {Role.from_slug(invitation.role).label}.",
          "success")
    return redirect(url_for("orgs.dashboard", workspace_id=workspace.id))
