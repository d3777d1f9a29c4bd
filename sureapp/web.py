"""Helpers shared by the server-rendered blueprints: the workspace view decorator, loading a row
of this workspace, page-or-fragment rendering, service errors on forms, the HTML error pages and
navigation, and the CSRF-only form of every state-changing button. Keyed surfaces (/api, /mcp)
never use this module."""
import json
from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask.globals import request_ctx
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from wtforms import DateTimeLocalField, FieldList, FormField

from .errors import Conflict, DomainError, NotFound, ValidationFailed
from .extensions import db
from .policy import Forbidden, Permission, can
from .tenancy.access import load_workspace, row_in_workspace
from .timeutil import from_local, to_local


class ConfirmForm(FlaskForm):
    """A button that changes state (confirm, delete, revoke, resend…): only the CSRF token.
    Forms that must carry more (the keys' version) subclass it."""


DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class LocalDateTimeField(DateTimeLocalField):
    """<input type=datetime-local>; the value is wall-clock time in the workspace timezone
    (a key's expiry, a campaign's send time). Empty is None."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", DATETIME_LOCAL_FORMATS)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None  # optional: empty means "never expires" / "when Send is pressed"
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a date and time, e.g. 2030-12-31 17:00.") from None

    def show_utc(self, value: datetime | None, tz_name: str) -> None:
        """Show a stored (naive UTC) moment as the workspace's wall-clock time."""
        local = to_local(value, tz_name)
        self.data = local.replace(tzinfo=None) if local else None

    def utc(self, tz_name: str) -> datetime | None:
        """The entered time as naive UTC; None when empty or refused (the error is on the
        field). Call after validating."""
        if self.errors or self.data is None:
            return None
        try:
            return from_local(self.data, tz_name)
        except OverflowError:
            self.errors = ["Choose a date between years 1 and 9999."]
            return None


def is_htmx() -> bool:
    """An htmx swap; a history restore (back button after a cache miss) needs the full page."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def load_in_workspace_or_404(model, workspace, raw_id):
    """The `model` row with this id in this workspace; a malformed id, a missing row and another
    workspace's row are the same 404, so ids of other workspaces cannot be probed."""
    row = row_in_workspace(model, workspace.id, raw_id)
    if row is None:
        abort(404)
    return row


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """Full page for normal requests, just the fragment for HTMX; caches must key on HX-Request."""
    template = fragment if is_htmx() else page
    response = current_app.make_response((render_template(template, **context), status))
    response.vary.add("HX-Request")
    return response


def render_dialog(body: str, title: str, status: int = 200, *, in_place: bool = False,
                  side_panel: bool = False, in_settings: bool = False, back_url: str | None = None,
                  back_label: str = "", **context):
    """One dialog or side panel (`body` is its one template): under htmx, templates/_dialog.html
    for #modal-root; without JavaScript, templates/dialog_page.html, a page of its own.

    `in_place`: the answer to a form inside the open dialog (e.g. a 422 with its errors), so
    under htmx only the body goes back and the form replaces itself."""
    context.update(body_template=body, dialog_title=title, side_panel=side_panel,
                   in_settings=in_settings, back_url=back_url, back_label=back_label)
    fragment = body if in_place else "_dialog.html"
    return render_page_or_fragment("dialog_page.html", fragment, status, **context)


def trigger(response, event: str, detail=None):
    """Add an htmx event to the response's HX-Trigger (JSON, so several events and their
    details travel together; ASCII-escaped, since header values are Latin-1)."""
    raw = response.headers.get("HX-Trigger", "")
    events = json.loads(raw) if raw.startswith("{") else {name: None for name in raw.split(",") if name.strip()}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events, ensure_ascii=True)
    return response


def toast(response, message: str, highlight: str | None = None):
    """Confirm an htmx action: app.js shows `message` in the role="status" toast region and
    briefly highlights the element `highlight` (a CSS selector) names. Plain form posts flash."""
    return trigger(response, "showToast", {"message": message, "highlight": highlight})


def redirect_to(url: str):
    """After a successful action: a full navigation, for htmx (HX-Redirect) and plain forms alike."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def api_keys_url(workspace) -> str | None:
    """The API Keys page, for roles that may open it (Manager+), once that feature is installed."""
    if can(g.get("workspace_role"), Permission.MANAGE_KEYS) and "keys.index" in current_app.view_functions:
        return url_for("keys.index", workspace_id=workspace.id)
    return None


@dataclass(frozen=True)
class NavItem:
    section: str  # "workspace" (top nav) or "settings" (settings sidebar)
    group: str  # heading inside the section, e.g. "Workspace" or "Developer"
    label: str
    endpoint: str  # takes workspace_id
    permission: str  # a policy.Permission: who sees the entry


def register_nav(app, *items: NavItem) -> None:
    """Each feature adds its own entries, so the layout never names a feature it doesn't have."""
    app.extensions.setdefault("sureapp_nav", []).extend(items)


def nav_items(section: str) -> list[NavItem]:
    """Entries of a section that the current workspace role may see (empty outside a workspace)."""
    role = getattr(g, "workspace_role", None)
    if role is None:
        return []
    items = current_app.extensions.get("sureapp_nav", [])
    return [i for i in items if i.section == section and can(role, i.permission)]


def workspace_view(permission: Permission):
    """Decorator for views under /w/<workspace_id>/: login, load-or-abort, g.workspace/g.workspace_role."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(workspace_id, *args, **kwargs):
            workspace, role = load_workspace(current_user.id, workspace_id, permission)
            g.workspace, g.workspace_role = workspace, role
            if current_user.last_workspace_id != workspace.id:
                # Opening a workspace is choosing it: the switchers remember it.
                current_user.last_workspace_id = workspace.id
                db.session.commit()
            return view(workspace, *args, **kwargs)

        return wrapped

    return decorator


def show_form_errors(form, error: DomainError | dict[str, list[str]],
                     conflict_field: str | None = None) -> None:
    """A service's refusal on the form: each ValidationFailed message next to its field, a
    Conflict on `conflict_field` (e.g. a duplicate email), anything else above the form
    (templates/_form_errors.html). Messages already shown are not repeated."""
    if isinstance(error, dict):
        error = ValidationFailed(error)
    if isinstance(error, ValidationFailed):
        for name, messages in error.errors.items():
            field = form._fields.get(name)
            if field is not None and not isinstance(field, (FieldList, FormField)):
                field.errors = [*field.errors, *(m for m in messages if m not in field.errors)]
            else:  # a nested path ("custom_fields.plan") or a rule about the whole input
                label = name.split(".", 1)[-1].replace("_", " ")
                _add_form_error(form, f"{label}: {' '.join(messages)}")
    elif isinstance(error, Conflict) and conflict_field in form._fields:
        field = form._fields[conflict_field]
        field.errors = [*field.errors, error.message]
    else:
        _add_form_error(form, error.message)


def commit_or_show_errors(form, save, conflict_field: str | None = None):
    """Run `save()` (a service call returning what it saved) and commit. A DomainError is rolled
    back and shown on the form (show_form_errors); then the answer is None."""
    try:
        saved = save()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        show_form_errors(form, exc, conflict_field)
        return None
    return saved


def _add_form_error(form, message: str) -> None:
    if message not in form.form_errors:
        form.form_errors.append(message)


# ---- the HTML error pages (the /api and /mcp blueprints answer with their own bodies) ---------

ERROR_PAGES = {
    400: ("Bad request", "The request could not be understood. Reload the page and try again."),
    403: ("Forbidden", "Your role does not allow this."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    413: ("Too large", "What you sent is larger than sureapp accepts."),
    429: ("Slow down", "Too many attempts. Please wait a minute and try again."),
    500: ("Something went wrong", "Nothing was changed. Please try again in a moment."),
}


def error_page(status: int, title: str | None = None, message: str | None = None):
    """The one HTML error page: errors/error.html with the status, a title and what to do."""
    default_title, default_message = ERROR_PAGES.get(status, ("Error", ""))
    title, message = title or default_title, message or default_message
    if request_ctx.url_adapter is None:
        # Refused before routing (an untrusted Host): the layout's links cannot be built.
        return current_app.response_class(f"{status} {title}. {message}\n", status,
                                          mimetype="text/plain")
    body = render_template("errors/error.html", status=status, title=title, message=message)
    return body, status


def _http_error_page(exc: HTTPException):
    if exc.code is None or exc.code < 400:  # redirects pass through
        return exc
    if exc.code >= 500:
        db.session.rollback()
        from .errorlog import request_id  # names the request, so a report matches its log line
        message = ("Something went wrong on our side. If it keeps happening, quote the "
                   f"reference {request_id()} when you report it.")
        try:
            return error_page(exc.code, "Something went wrong", message)
        except Exception:  # the layout itself may be what fails: never a second traceback
            return message, exc.code, {"Content-Type": "text/plain; charset=utf-8"}
    if exc.code in ERROR_PAGES:
        return error_page(exc.code)
    return error_page(exc.code, exc.name, exc.description)


def _domain_error_page(exc: DomainError):
    """A service refusal no view caught: a missing row is a 404 page, a role refusal a 403,
    and nothing the service changed is kept."""
    db.session.rollback()
    if isinstance(exc, NotFound):
        return error_page(404)
    if isinstance(exc, Forbidden):
        return error_page(403, message=exc.message)
    return error_page(400, message=exc.message)


def init_app(app) -> None:
    """Register the UI's error pages. By class, not by status code: Flask consults a blueprint's
    class handlers (/mcp's JSON-RPC errors) before the app's, but an app's code handler first."""
    app.register_error_handler(HTTPException, _http_error_page)
    app.register_error_handler(DomainError, _domain_error_page)
