"""Webhooks pages (Settings → Developer → Webhooks, Manager+): the endpoint list, one page per
endpoint with its delivery log, and dialogs to create, edit, rotate the secret and delete.

Every action is a real form post that works without JavaScript (a page, then a redirect); with
htmx the forms open in the one dialog pattern (web.render_dialog) and a success navigates
(web.redirect_to). Creating an endpoint, rotating its secret and pointing it at a new URL are
credential actions: sudo mode first (auth/sudo.py), as for API keys. A new signing secret is
shown once, as a key is (once.py): in the form's own answer under htmx, on a one-time page after
a redirect without JavaScript; their forms carry a single-use token, so a resent one never
creates or rotates again.
"""
from flask import Blueprint, flash, g, render_template, request, url_for
from flask_login import current_user
from pydantic import ValidationError

from .. import once
from ..auth.sudo import require_sudo, sudo_required
from ..errors import Conflict, DomainError
from ..extensions import db
from ..pagination import InvalidCursor
from ..policy import Permission, can
from ..schema_types import validation_errors
from ..security import shows_secret
from ..timeutil import utcnow
from ..web import (ConfirmForm, NavItem, commit_or_show_errors, is_htmx, redirect_to, register_nav,
                   render_dialog, show_form_errors, workspace_view)
from . import delivery  # noqa: F401  (registers the delivery worker's periodic task)
from . import services, signing
from .forms import EditEndpointForm, EndpointForm
from .schemas import DeliveryQuery, WebhookCreate, WebhookPatch, WebhookQuery

bp = Blueprint("webhooks", __name__, url_prefix="/w/<workspace_id>/settings/webhooks")

DELIVERIES_PER_PAGE = 25


def _dialog(workspace, body: str, title: str, status: int = 200, *, side: bool = False,
            in_place: bool = False, **context):
    return render_dialog(body, title, status, in_place=in_place, side_panel=side,
                         in_settings=True, workspace=workspace, back_label="Webhooks",
                         back_url=url_for("webhooks.index", workspace_id=workspace.id), **context)


def _show_url(workspace, endpoint) -> str:
    return url_for("webhooks.show", workspace_id=workspace.id, endpoint_id=endpoint.id)


def _parsed(form, schema):
    """The form's values as the schema (every message is the API's), or None with the errors
    on the form's fields ("events.0" → events)."""
    if not form.validate_on_submit():
        return None
    try:
        return schema.model_validate(form.values())
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for name, messages in validation_errors(exc).items():
            errors.setdefault(name.split(".", 1)[0], []).extend(messages)
        show_form_errors(form, errors)
        return None


SECRET_TITLES = {"webhook.created": "Your webhook signing secret",
                 "webhook.rotated": "Your new signing secret"}


def _secret_dialog(workspace, endpoint, secret: str, title: str):
    """The one response that carries a signing secret: never cached, never in history."""
    shows_secret()
    response = _dialog(workspace, "webhooks/_secret.html", title, endpoint=endpoint,
                       secret=secret, no_history=True, now=utcnow())
    if is_htmx():  # the form's dialog is replaced by this one
        response.headers["HX-Retarget"] = "#modal-root"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _show_secret(workspace, endpoint, secret: str, purpose: str, claim: once.Claim):
    """A new signing secret, shown once: under htmx in the POST's own answer (a dialog; a reload
    never resends an XHR), without JavaScript on a page of its own after a redirect (once.py), so
    reloading it never creates or rotates again. Commits the action with its form's claim."""
    if is_htmx():
        claim.done(_show_url(workspace, endpoint))
        db.session.commit()
        return _secret_dialog(workspace, endpoint, secret, SECRET_TITLES[purpose])
    return once.show_after_redirect(
        claim, current_user.id, purpose, endpoint.id, secret,
        lambda reveal_id: url_for("webhooks.reveal", workspace_id=workspace.id,
                                  endpoint_id=endpoint.id, reveal_id=reveal_id))


@bp.get("/<endpoint_id>/shown/<reveal_id>")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def reveal(workspace, endpoint_id, reveal_id):
    """The one page that shows a signing secret without JavaScript; reloading it says it was shown."""
    endpoint = services.get_endpoint(workspace, endpoint_id)
    revealed = once.take(reveal_id, current_user.id, endpoint.id, once.reveal_cookie())
    db.session.commit()
    if revealed is None or revealed.purpose not in SECRET_TITLES:
        response = _dialog(workspace, "webhooks/_already_shown.html",
                           "This signing secret was already shown", 410, endpoint=endpoint)
    else:
        response = _secret_dialog(workspace, endpoint, revealed.secret,
                                  SECRET_TITLES[revealed.purpose])
    return once.forget_reveal_cookie(response)


# ---- list and detail --------------------------------------------------------------------------

@bp.get("")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def index(workspace):
    page = services.list_endpoints(workspace, WebhookQuery(limit=services.MAX_ENDPOINTS))
    return render_template("webhooks/index.html", workspace=workspace, endpoints=page.items,
                           disabled=services.auto_disabled(workspace),
                           max_endpoints=services.MAX_ENDPOINTS, form=ConfirmForm())


@bp.get("/<endpoint_id>")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def show(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    cursor = request.args.get("cursor", "")[:512] or None
    notice = None
    try:
        query = DeliveryQuery(limit=DELIVERIES_PER_PAGE, cursor=cursor)
        page = services.list_deliveries(workspace, endpoint.id, query)
    except (InvalidCursor, ValidationError):
        notice = "That page link is out of date or damaged, so the newest deliveries are shown."
        page = services.list_deliveries(workspace, endpoint.id, DeliveryQuery(limit=DELIVERIES_PER_PAGE))
    return render_template("webhooks/show.html", workspace=workspace, endpoint=endpoint,
                           deliveries=page.items, page=page, notice=notice, now=utcnow(),
                           form=ConfirmForm(), message_id=signing.message_id)


# ---- create -------------------------------------------------------------------------------------

@bp.get("/new")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def new(workspace):
    form = EndpointForm(formdata=None, events=["*"])
    return _dialog(workspace, "webhooks/_form.html", "Add webhook endpoint", side=True, form=form)


@bp.post("")
@workspace_view(Permission.MANAGE_WEBHOOKS)
@sudo_required
def create(workspace):
    form = EndpointForm()
    data = _parsed(form, WebhookCreate)
    if data is not None:
        try:
            claim = once.claim(once.submitted_token(), current_user.id)
            endpoint, secret = services.create_endpoint(workspace, data)
        except once.Resubmitted as exc:
            return once.answer_resubmitted(exc, url_for("webhooks.index", workspace_id=workspace.id))
        except DomainError as exc:
            db.session.rollback()
            show_form_errors(form, exc)
        else:
            return _show_secret(workspace, endpoint, secret, "webhook.created", claim)
    return _dialog(workspace, "webhooks/_form.html", "Add webhook endpoint", 422, side=True,
                   in_place=True, form=form)


# ---- edit, enable/disable -------------------------------------------------------------------------

@bp.get("/<endpoint_id>/edit")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def edit(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    form = EditEndpointForm(formdata=None, url=endpoint.url, events=endpoint.events,
                            description=endpoint.description, enabled=endpoint.enabled)
    return _dialog(workspace, "webhooks/_form.html", "Edit webhook endpoint", side=True,
                   form=form, endpoint=endpoint)


@bp.post("/<endpoint_id>")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def update(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    form = EditEndpointForm()
    data = _parsed(form, WebhookPatch)
    if data is not None:
        if data.url.strip() != endpoint.url:
            require_sudo()  # where the events (and their signatures) go is a credential matter
        if commit_or_show_errors(form, lambda: services.update_endpoint(workspace, endpoint.id, data)):
            flash("Saved the webhook endpoint.", "success")
            return redirect_to(_show_url(workspace, endpoint))
    return _dialog(workspace, "webhooks/_form.html", "Edit webhook endpoint", 422, side=True,
                   in_place=True, form=form, endpoint=endpoint)


@bp.post("/<endpoint_id>/enabled")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def set_enabled(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    if ConfirmForm().validate_on_submit():
        enable = request.form.get("enabled") == "1"
        services.update_endpoint(workspace, endpoint.id, WebhookPatch(enabled=enable))
        db.session.commit()
        flash("Webhook endpoint enabled: events are delivered again." if enable else
              "Webhook endpoint disabled: no events are sent to it.", "success")
    if request.form.get("return_to") == "index":
        return redirect_to(url_for("webhooks.index", workspace_id=workspace.id))
    return redirect_to(_show_url(workspace, endpoint))


# ---- rotate and delete: confirm dialogs -----------------------------------------------------------

CONFIRMATIONS = {
    "rotate": ("Rotate signing secret", "A new secret is created and shown once. For 24 hours "
               "deliveries are signed with both the new and the current secret, so you can "
               "update your receiver without missing events.", "Rotate secret", "btn-primary"),
    "delete": ("Delete webhook endpoint", "The endpoint and its delivery log are deleted "
               "permanently; queued deliveries are not sent.", "Delete permanently", "btn-danger"),
}


def _confirm(workspace, endpoint, action: str, status: int = 200, error: str = ""):
    title, consequence, button, style = CONFIRMATIONS[action]
    return _dialog(workspace, "_confirm.html", title, status, consequence=consequence,
                   subject=endpoint.url, button=button, button_style=style, error=error,
                   act_once=action == "rotate",
                   action_url=url_for(f"webhooks.{action}", workspace_id=workspace.id,
                                      endpoint_id=endpoint.id),
                   cancel_url=_show_url(workspace, endpoint),
                   answer_in_dialog=action == "rotate")


@bp.get("/<endpoint_id>/rotate")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def confirm_rotate(workspace, endpoint_id):
    return _confirm(workspace, services.get_endpoint(workspace, endpoint_id), "rotate")


@bp.post("/<endpoint_id>/rotate")
@workspace_view(Permission.MANAGE_WEBHOOKS)
@sudo_required
def rotate(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    if not ConfirmForm().validate_on_submit():
        return _confirm(workspace, endpoint, "rotate", 422)
    try:
        claim = once.claim(once.submitted_token(), current_user.id)
    except once.Resubmitted as exc:  # a reload would otherwise kill the secret just shown
        return once.answer_resubmitted(exc, _show_url(workspace, endpoint))
    except once.FormExpired as exc:
        db.session.rollback()
        return _confirm(workspace, endpoint, "rotate", 422, error=exc.message)
    endpoint, secret = services.rotate_secret(workspace, endpoint.id)
    return _show_secret(workspace, endpoint, secret, "webhook.rotated", claim)


@bp.get("/<endpoint_id>/delete")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def confirm_delete(workspace, endpoint_id):
    return _confirm(workspace, services.get_endpoint(workspace, endpoint_id), "delete")


@bp.post("/<endpoint_id>/delete")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def delete(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    if not ConfirmForm().validate_on_submit():
        return _confirm(workspace, endpoint, "delete", 422)
    url = endpoint.url
    services.delete_endpoint(workspace, endpoint.id)
    db.session.commit()
    flash(f"Deleted the webhook endpoint {url}.", "success")
    return redirect_to(url_for("webhooks.index", workspace_id=workspace.id))


# ---- test event and resend ------------------------------------------------------------------------

def _queue_once(workspace, endpoint, queue, done: str):
    """Queue a delivery from a form that acts once: a resent Send test event or Resend (a double
    click, Back and resubmit) queues nothing more and says so."""
    back = _show_url(workspace, endpoint)
    if ConfirmForm().validate_on_submit():
        try:
            once.claim(once.submitted_token(), current_user.id).done(back)
            queue()
            db.session.commit()
            flash(done, "success")
        except once.Resubmitted as exc:
            return once.answer_resubmitted(exc, back)
        except (once.FormExpired, Conflict) as exc:  # an old form; a delivery still queued
            db.session.rollback()
            flash(exc.message, "error")
    return redirect_to(back)


@bp.post("/<endpoint_id>/test")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def send_test(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    return _queue_once(workspace, endpoint, lambda: services.send_test_event(workspace, endpoint.id),
                       "Test event queued: it appears below within seconds.")


@bp.post("/<endpoint_id>/deliveries/<delivery_id>/resend")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def resend(workspace, endpoint_id, delivery_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    return _queue_once(workspace, endpoint,
                       lambda: services.resend(workspace, endpoint.id, delivery_id),
                       "Queued again, with the same webhook-id.")


@bp.after_request
def _vary_on_htmx(response):
    response.vary.add("HX-Request")
    return response


def webhook_alerts() -> list:
    """Endpoints the system disabled, for the layout's banner (people who manage webhooks)."""
    workspace = g.get("workspace")
    if workspace is None or not can(g.get("workspace_role"), Permission.MANAGE_WEBHOOKS):
        return []
    return services.auto_disabled(workspace)


def init_app(app):
    app.register_blueprint(bp)
    app.jinja_env.globals["webhook_alerts"] = webhook_alerts
    register_nav(app, NavItem("settings", "Developer", "Webhooks", "webhooks.index",
                              Permission.MANAGE_WEBHOOKS))
