"""Sudo mode: actions that create or expose credentials or hand over power ask for the password
again unless it was entered in this session within SUDO_MINUTES (as GitHub and Stripe do).

A view calls `require_sudo()` (or wears `@sudo_required`) after its role check. Outside sudo
mode the request is answered with the password prompt instead, and nothing is done:
- under htmx, a small dialog (into #sudo-root, over any open panel); after the password is
  confirmed, app.js re-issues the very request that was stopped, from its own element;
- without JavaScript, a page whose form carries every posted field (CSRF token included) along
  with the password to POST /sudo, which checks it and answers 307 to the original action, so
  the browser re-posts the same body: nothing is typed twice, nothing is lost.
The password is checked in one place (the `auth.sudo` view), whose failures count against the
login rate limit.
"""
from functools import wraps

from flask import abort, current_app, request
from werkzeug.datastructures import MultiDict

from ..timeutil import utcnow
from ..web import is_htmx, render_dialog
from . import sessions
from .current import current_record

PASSWORD_FIELD = "sudo_password"
TARGET_FIELD = "sudo_target"
# The prompt's own fields are never replayed into the action.
OWN_FIELDS = frozenset({PASSWORD_FIELD, TARGET_FIELD})


def sudo_minutes() -> int:
    return current_app.config["SUDO_MINUTES"]


def in_sudo_mode() -> bool:
    return sessions.sudo_active(current_record(), utcnow(), sudo_minutes())


def replay_fields(form: MultiDict) -> list[tuple[str, str]]:
    """The posted fields to carry through the prompt, in order, repeated names kept."""
    return [(name, value) for name, value in form.items(multi=True) if name not in OWN_FIELDS]


def prompt(status: int, error: str = "", target: str | None = None, fields=None):
    """The password prompt (templates/auth/_sudo_form.html through web.render_dialog): a dialog
    in #sudo-root under htmx, else a page replaying the posted fields."""
    response = render_dialog(
        "auth/_sudo_form.html", "Confirm your password", status, dialog_id="sudo",
        no_history=True, error=error, minutes=sudo_minutes(), target=target,
        fields=fields or [], PASSWORD_FIELD=PASSWORD_FIELD, TARGET_FIELD=TARGET_FIELD)
    if is_htmx():
        response.headers["HX-Retarget"] = "#sudo-root"
        response.headers["HX-Reswap"] = "innerHTML"
    response.headers["X-Sudo-Required"] = "password"
    response.headers["Cache-Control"] = "no-store"  # carries the posted form back
    return response


def require_sudo() -> None:
    """Return if the password was entered recently enough; otherwise stop the request here with
    the prompt (401: authenticate again), having done nothing."""
    if in_sudo_mode():
        return
    target = request.full_path.rstrip("?")
    abort(prompt(401, target=target, fields=replay_fields(request.form)))


def sudo_required(view):
    """Decorator form of require_sudo(); place it below the view's role check."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        require_sudo()
        return view(*args, **kwargs)

    return wrapped
