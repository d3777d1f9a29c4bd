"""Helpers shared by the server-rendered blueprints: page-or-fragment rendering and navigation."""
from dataclasses import dataclass
from functools import wraps

from flask import Response, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .extensions import db
from .models import Role
from .tenancy.access import load_workspace_or_abort


def is_htmx() -> bool:
    """An htmx swap; a history restore (back button after a cache miss) needs the full page."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """Full page for normal requests, just the fragment for HTMX; caches must key on HX-Request."""
    template = fragment if is_htmx() else page
    response = current_app.make_response((render_template(template, **context), status))
    response.vary.add("HX-Request")
    return response


def redirect_to(url: str):
    """After a successful action: a full navigation, for htmx (HX-Redirect) and plain forms alike."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def api_keys_url(workspace) -> str | None:
    """The API Keys page, for roles that may open it (Manager+), once that feature is installed."""
    if (g.get("workspace_role") or 0) >= Role.MANAGER and "keys.index" in current_app.view_functions:
        return url_for("keys.index", workspace_id=workspace.id)
    return None


@dataclass(frozen=True)
class NavItem:
    section: str  # "workspace" (top nav) or "settings" (settings sidebar)
    group: str  # heading inside the section, e.g. "Workspace" or "Developer"
    label: str
    endpoint: str  # takes workspace_id
    min_role: int  # a models.Role value


def register_nav(app, item: NavItem) -> None:
    """Each feature adds its own entries, so the layout never names a feature it doesn't have."""
    app.extensions.setdefault("sureapp_nav", []).append(item)


def nav_items(section: str) -> list[NavItem]:
    """Entries of a section that the current workspace role may see (empty outside a workspace)."""
    role = getattr(g, "workspace_role", None)
    if role is None:
        return []
    items = current_app.extensions.get("sureapp_nav", [])
    return [i for i in items if i.section == section and role >= i.min_role]


def workspace_view(minimum):
    """Decorator for views under /w/<workspace_id>/: login, load-or-abort, g.workspace/g.workspace_role."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(workspace_id, *args, **kwargs):
            workspace, role = load_workspace_or_abort(current_user.id, workspace_id, minimum)
            g.workspace, g.workspace_role = workspace, role
            if current_user.last_workspace_id != workspace.id:
                # Opening a workspace is choosing it: the switchers remember it.
                current_user.last_workspace_id = workspace.id
                db.session.commit()
            return view(workspace, *args, **kwargs)

        return wrapped

    return decorator
