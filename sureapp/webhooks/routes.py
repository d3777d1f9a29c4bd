"""Webhooks pages (Settings → Developer → Webhooks, Manager+): the endpoint list, one page per
endpoint with its delivery log, and dialogs to create, edit, rotate the secret and delete.

Every action is a real form post that works without JavaScript (a page, then a redirect); with
htmx the forms open in the one dialog pattern (web.render_dialog) and a success navigates
(web.redirect_to). Creating an endpoint, rotating its secret and pointing it at a new URL are
credential actions: sudo mode first (auth/sudo.py), as for API keys.
"""
from flask import Blueprint, flash, g, render_template, request, url_for
from pydantic import ValidationError

from ..auth.sudo import require_sudo, sudo_required
from ..errors import Conflict
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


def _show_secret(workspace, endpoint, secret: str, title: str):
    """The one response that carries a signing secret: never cached, never in history."""
    shows_secret()
    response = _dialog(workspace, "webhooks/_secret.html", title, endpoint=endpoint,
                       secret=secret, no_history=True, now=utcnow())
    if is_htmx():  # the form's dialog is replaced by this one
        response.headers["HX-Retarget"] = "#modal-root"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


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
    created = data and commit_or_show_errors(
        form, lambda: services.create_endpoint(workspace, data))
    if created:
        endpoint, secret = created
        return _show_secret(workspace, endpoint, secret, "Your webhook signing secret")
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


def _confirm(workspace, endpoint, action: str, status: int = 200):
    title, consequence, button, style = CONFIRMATIONS[action]
    return _dialog(workspace, "_confirm.html", title, status, consequence=consequence,
                   subject=endpoint.url, button=button, button_style=style,
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
    endpoint, secret = services.rotate_secret(workspace, endpoint.id)
    db.session.commit()
    return _show_secret(workspace, endpoint, secret, "Your new signing secret")


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

@bp.post("/<endpoint_id>/test")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def send_test(workspace, endpoint_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    if ConfirmForm().validate_on_submit():
        services.send_test_event(workspace, endpoint.id)
        db.session.commit()
        flash("Test event queued: it appears below within seconds.", "success")
    return redirect_to(_show_url(workspace, endpoint))


@bp.post("/<endpoint_id>/deliveries/<delivery_id>/resend")
@workspace_view(Permission.MANAGE_WEBHOOKS)
def resend(workspace, endpoint_id, delivery_id):
    endpoint = services.get_endpoint(workspace, endpoint_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.resend(workspace, endpoint.id, delivery_id)
            db.session.commit()
            flash("Queued again, with the same webhook-id.", "success")
        except Conflict as exc:
            flash(exc.message, "error")
    return redirect_to(_show_url(workspace, endpoint))


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
