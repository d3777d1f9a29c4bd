"""Settings → Sending (Manager+): the workspace's SMTP connections. Adding, changing and
deleting one is a credential action (sudo mode first, as for keys and webhooks); the password is
write-only: never shown, never carried through the password prompt, kept when left blank.
Every action is a real form post (works without JavaScript); with htmx the forms open in the one
dialog pattern."""
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user
from pydantic import ValidationError

from ..auth.sudo import in_sudo_mode, prompt, replay_fields, require_sudo
from ..extensions import db
from ..mail import mail_configured
from ..policy import Permission
from ..schema_types import validation_errors
from ..web import (ConfirmForm, NavItem, commit_or_show_errors, redirect_to, register_nav,
                   render_dialog, show_form_errors, workspace_view)
from . import connections
from .forms import SmtpConnectionForm
from .schemas import SmtpConnectionIn

bp = Blueprint("sending", __name__, url_prefix="/w/<workspace_id>/settings/sending")
PASSWORD_WITHHELD = "password_withheld"


def _index_url(workspace) -> str:
    return url_for("sending.index", workspace_id=workspace.id)


def _dialog(workspace, body: str, title: str, status: int = 200, *, in_place: bool = False,
            side: bool = False, **context):
    return render_dialog(body, title, status, in_place=in_place, side_panel=side,
                         in_settings=True, workspace=workspace, back_label="Sending",
                         back_url=_index_url(workspace), **context)


def _require_sudo_without_the_password() -> None:
    """Sudo mode, but a prompt never carries the typed password through its page: the replayed
    form says it was withheld, and asks for it again."""
    if in_sudo_mode():
        return
    fields = [(n, v) for n, v in replay_fields(request.form) if n != "password"]
    if request.form.get("password"):
        fields.append((PASSWORD_WITHHELD, "1"))
    abort(prompt(401, target=request.full_path.rstrip("?"), fields=fields))


def _parsed(form) -> SmtpConnectionIn | None:
    if not form.validate_on_submit():
        return None
    if request.form.get(PASSWORD_WITHHELD):
        show_form_errors(form, {"password": ["Type the password again: it is not carried "
                                             "through the password prompt."]})
        return None
    try:
        return SmtpConnectionIn.model_validate(form.values())
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for name, messages in validation_errors(exc).items():
            errors.setdefault(name.split(".", 1)[0], []).extend(messages)
        show_form_errors(form, errors)
        return None


@bp.get("")
@workspace_view(Permission.MANAGE_SENDING)
def index(workspace):
    return render_template("sending/index.html", workspace=workspace,
                           connections=connections.transport.connections(workspace.id),
                           instance_smtp=mail_configured(), form=ConfirmForm(),
                           max_connections=connections.MAX_CONNECTIONS)


def _form_dialog(workspace, form, connection=None, status=200, in_place=False):
    title = "Edit SMTP connection" if connection else "Add SMTP connection"
    return _dialog(workspace, "sending/_form.html", title, status, in_place=in_place, side=True,
                   form=form, connection=connection)


@bp.get("/new")
@workspace_view(Permission.MANAGE_SENDING)
def new(workspace):
    require_sudo()  # before the password is typed, so no prompt has to carry it
    return _form_dialog(workspace, SmtpConnectionForm(formdata=None))


@bp.post("")
@workspace_view(Permission.MANAGE_SENDING)
def create(workspace):
    _require_sudo_without_the_password()
    form = SmtpConnectionForm()
    data = _parsed(form)
    if data is not None and commit_or_show_errors(
            form, lambda: connections.create_connection(workspace, data)):
        flash(f"Added the SMTP connection {data.name}.", "success")
        return redirect_to(_index_url(workspace))
    return _form_dialog(workspace, form, status=422, in_place=True)


@bp.get("/<connection_id>/edit")
@workspace_view(Permission.MANAGE_SENDING)
def edit(workspace, connection_id):
    connection = connections.get_connection(workspace, connection_id)
    require_sudo()
    form = SmtpConnectionForm(formdata=None, name=connection.name, host=connection.host,
                              port=str(connection.port), tls_mode=connection.tls_mode,
                              username=connection.username,
                              from_addresses="\n".join(connection.from_addresses),
                              mails_per_minute=str(connection.mails_per_minute))
    return _form_dialog(workspace, form, connection)


@bp.post("/<connection_id>")
@workspace_view(Permission.MANAGE_SENDING)
def update(workspace, connection_id):
    connection = connections.get_connection(workspace, connection_id)
    _require_sudo_without_the_password()
    form = SmtpConnectionForm()
    data = _parsed(form)
    if data is not None and commit_or_show_errors(
            form, lambda: connections.update_connection(workspace, connection.id, data)):
        flash(f"Saved the SMTP connection {data.name}.", "success")
        return redirect_to(_index_url(workspace))
    return _form_dialog(workspace, form, connection, status=422, in_place=True)


def _confirm_delete(workspace, connection, status=200):
    return _dialog(workspace, "_confirm.html", "Delete SMTP connection", status,
                   consequence="Mail from its From addresses can no longer be sent until another "
                               "connection allows them; sending campaigns that need it pause.",
                   subject=f"{connection.name} ({connection.host})", button="Delete",
                   button_style="btn-danger",
                   action_url=url_for("sending.delete", workspace_id=workspace.id,
                                      connection_id=connection.id),
                   cancel_url=_index_url(workspace))


@bp.get("/<connection_id>/delete")
@workspace_view(Permission.MANAGE_SENDING)
def confirm_delete(workspace, connection_id):
    return _confirm_delete(workspace, connections.get_connection(workspace, connection_id))


@bp.post("/<connection_id>/delete")
@workspace_view(Permission.MANAGE_SENDING)
def delete(workspace, connection_id):
    connection = connections.get_connection(workspace, connection_id)
    require_sudo()
    if not ConfirmForm().validate_on_submit():
        return _confirm_delete(workspace, connection, 422)
    name = connection.name
    connections.delete_connection(workspace, connection.id)
    db.session.commit()
    flash(f"Deleted the SMTP connection {name}.", "success")
    return redirect_to(_index_url(workspace))


@bp.post("/<connection_id>/test")
@workspace_view(Permission.MANAGE_SENDING)
def send_test(workspace, connection_id):
    connection = connections.get_connection(workspace, connection_id)
    if ConfirmForm().validate_on_submit():
        db.session.commit()  # nothing pending while we wait on the network
        outcome = connections.send_test_mail(workspace, connection.id, current_user.email)
        if outcome.sent:
            flash(f"Sent a test mail to {current_user.email} through {connection.name}.",
                  "success")
        else:
            flash(f"The test mail was not sent: {outcome.error}", "error")
    return redirect_to(_index_url(workspace))


@bp.after_request
def _vary_on_htmx(response):
    response.vary.add("HX-Request")
    return response


def init_app(app):
    app.register_blueprint(bp)
    register_nav(app, NavItem("settings", "Workspace", "Sending", "sending.index",
                              Permission.MANAGE_SENDING))
