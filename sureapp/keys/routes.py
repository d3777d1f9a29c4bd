"""API Keys pages (Settings → Developer → API Keys): table, side panels, confirm dialogs, detail.

Every action is a real form post that works without JavaScript (redirect + full page); with
htmx (HX-Request) the same views answer with just the fragment to swap: a dialog into
#modal-root, a form re-rendered in place with its errors (422), or the affected table row.
"""
from dataclasses import dataclass, replace
from datetime import datetime

from flask import (Blueprint, flash, make_response, redirect, render_template, request,
                   url_for)
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy.orm import selectinload

from .. import once
from ..errors import NotFound, ValidationFailed
from ..charts import BarChart, bar_chart
from ..extensions import db
from ..models import KEY_TYPES, ApiKey, Workspace
from ..links import external_base
from ..pagination import InvalidCursor, keyset_page, newest_first
from ..auth.sudo import require_sudo, sudo_required
from ..policy import Permission
from ..security import shows_secret
from ..timeutil import format_datetime, utcnow
from ..validation import without_control_characters
from ..web import (NavItem, is_htmx, register_nav, render_dialog,
                   show_form_errors, toast, trigger, workspace_view)
from . import (abilities as ability_strings, allowlist, cli, leaks, lifetime, reminders,
               services, state)
from . import housekeeping  # noqa: F401  (declares the purge task)
from .forms import CreateKeyForm, EditKeyForm, KeyChangeForm, RegenerateKeyForm

bp = Blueprint("keys", __name__, url_prefix="/w/<workspace_id>/settings/api-keys")

PER_PAGE = 20
USAGE_DAYS = 14  # the key page's chart, outcome counts and top routes
KEYS_ORDER = newest_first(ApiKey)
SEARCH_MAX_LENGTH = 255
# Status changes that share one confirm-dialog view: action -> (title, question, button, service).
CONFIRMABLE = {
    "revoke": ("Revoke API key", "Requests using “{name}” will be rejected at once. You can "
               "activate it again later.", "Revoke key", services.revoke_key),
    "activate": ("Activate API key", "“{name}” will work again for its abilities.",
                 "Activate key", services.activate_key),
    "delete": ("Delete API key", "“{name}” and its whole audit trail and request log will be "
               "deleted permanently. Integrations using it stop working at once.",
               "Delete permanently", None),
    "end_grace": ("Stop the previous key string", "The string “{name}” had before it was "
                  "regenerated stops working now, before its grace period ends. Integrations "
                  "still using it fail at once.", "Stop it now", services.end_grace),
}
ACTION_DONE = {"revoke": "API key “{name}” revoked.", "activate": "API key “{name}” activated.",
               "delete": "API key “{name}” deleted.",
               "end_grace": "The previous string of “{name}” no longer works."}


@dataclass(frozen=True)
class KeyFilters:
    """The table's query arguments: read by the full page and the htmx swap alike."""

    search: str = ""
    status: str = ""
    key_type: str = ""
    cursor: str = ""  # the page shown: a pagination cursor, "" for the first page

    @classmethod
    def from_args(cls, args) -> "KeyFilters":
        status = args.get("status", "")
        key_type = args.get("type", "")
        search = without_control_characters(args.get("search", ""))
        return cls(
            search=search.strip()[:SEARCH_MAX_LENGTH],
            status=status if status in state.STATUS_FILTERS else "",
            key_type=key_type if key_type in KEY_TYPES else "",
            cursor=args.get("cursor", ""),
        )

    @property
    def is_filtering(self) -> bool:
        return bool(self.search or self.status or self.key_type)

    def args(self, **overrides) -> dict:
        """Non-empty query arguments for url_for (so URLs stay short and bookmarkable)."""
        values = {"search": self.search, "status": self.status, "type": self.key_type,
                  "cursor": self.cursor}
        values.update(overrides)
        return {k: v for k, v in values.items() if v}


def _actor() -> dict:
    return {"actor": current_user._get_current_object()}


def _return_url(workspace: Workspace, key: ApiKey | None = None) -> str:
    """Where a no-JS post lands: the key's detail page if it came from there, else the table."""
    if key is not None and request.form.get("return_to") == "detail":
        return url_for("keys.show", workspace_id=workspace.id, key_id=key.id)
    return url_for("keys.index", workspace_id=workspace.id)


# ---- rendering helpers ----------------------------------------------------------------------

def _dialog(workspace, body: str, title: str, status: int = 200, side: bool = False,
            in_place: bool = False, **context):
    """A keys dialog: the shared dialog pattern, on a Settings page without JavaScript."""
    return render_dialog(body, title, status, in_place=in_place, side_panel=side,
                         in_settings=True, back_url=url_for("keys.index", workspace_id=workspace.id),
                         back_label="API Keys", workspace=workspace, **context)


def _invalid_form(workspace, body: str, title: str, side: bool = False, **context):
    """422: under htmx only the form (it replaces itself), else the whole page with errors."""
    return _dialog(workspace, body, title, 422, side=side, in_place=True, **context)


def _row(workspace, key: ApiKey, **context) -> str:
    return render_template("keys/_row.html", workspace=workspace, key=key, now=utcnow(),
                           policy=_policy(workspace), **context)


def _row_response(workspace, key: ApiKey, message: str, deleted: bool = False):
    """The affected row (or nothing, once deleted) in place of the old one; closes the dialog
    and confirms the action in a toast (the row flashes briefly)."""
    response = make_response("" if deleted else _row(workspace, key))
    response.headers["HX-Retarget"] = f"#key-row-{key.id}"
    response.headers["HX-Reswap"] = "outerHTML"
    trigger(response, "closeDialog")
    return toast(response, message, None if deleted else f"#key-row-{key.id}")


def _no_store(response):
    # The one response that carries a key's plaintext: never cached, stored or restored.
    shows_secret()
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _show_once(workspace, key: ApiKey, plaintext: str, title: str, created: bool):
    response = _dialog(workspace, "keys/_show_once.html", title, key=key, plaintext=plaintext,
                       now=utcnow(), no_history=True, api_base=external_base(),
                       after_dialog=None if created else "keys/_row_oob.html")
    if not is_htmx():
        return _no_store(response)
    # The request came from a side panel or a confirm dialog: the key dialog replaces it.
    response.headers["HX-Retarget"] = "#modal-root"
    response.headers["HX-Reswap"] = "innerHTML"
    if created:
        response.headers["HX-Trigger"] = "keysChanged"  # the table re-fetches with its filters
    return _no_store(response)


# A key shown once: under htmx in the POST's own answer (a dialog; no reload can resend it),
# without JavaScript on a page of its own after a redirect (once.py), so reloading it never
# creates or regenerates again.
REVEAL_PURPOSES = {"key.created": ("Your new API key", True),
                   "key.regenerated": ("Your regenerated API key", False)}


def _key_shown(workspace, key: ApiKey, plaintext: str, purpose: str, claim: once.Claim):
    title, created = REVEAL_PURPOSES[purpose]
    if is_htmx():
        claim.done(_return_url(workspace, key))
        db.session.commit()
        return _show_once(workspace, key, plaintext, title, created=created)
    return once.show_after_redirect(
        claim, current_user.id, purpose, key.id, plaintext,
        lambda reveal_id: url_for("keys.reveal", workspace_id=workspace.id, key_id=key.id,
                                  reveal_id=reveal_id))


@bp.get("/<key_id>/shown/<reveal_id>")
@workspace_view(Permission.MANAGE_KEYS)
def reveal(workspace, key_id, reveal_id):
    """The one page that shows a key without JavaScript; reloading it says it was shown."""
    key = services.get_key(workspace, key_id)
    revealed = once.take(reveal_id, current_user.id, key.id, once.reveal_cookie())
    db.session.commit()
    if revealed is None or revealed.purpose not in REVEAL_PURPOSES:
        response = _dialog(workspace, "keys/_already_shown.html", "This key was already shown",
                           410, key=key)
    else:
        title, created = REVEAL_PURPOSES[revealed.purpose]
        response = _show_once(workspace, key, revealed.secret, title, created=created)
    return once.forget_reveal_cookie(response)


def _changed_meanwhile(workspace, key_id, message: str):
    """409 for a change that lost a race (services.KeyChanged): nothing was done; say so and
    show the key as it is now (under htmx its row is refreshed, or removed if it is gone)."""
    db.session.rollback()
    try:
        key = services.get_key(workspace, key_id)
    except NotFound:
        key = None
    response = _dialog(workspace, "keys/_changed_meanwhile.html", "This key changed meanwhile",
                       409, key=key, key_id=key_id, message=message, now=utcnow(),
                       after_dialog="keys/_row_oob.html" if key is not None else None)
    if is_htmx():
        # Into the dialog root, whatever the form targeted (app.js swaps a 409 that says where).
        response.headers["HX-Retarget"] = "#modal-root"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _expiry_utc(form, workspace: Workspace, now: datetime) -> datetime | None:
    """The chosen expiry as naive UTC: a preset counts from now; "custom" (or a post without
    a choice) is the Expires At field, wall-clock time in the workspace timezone (empty: never)."""
    choice = form.expiry.data or "custom"
    if choice == "never":
        return None
    if choice != "custom":
        try:
            return _policy(workspace).preset_expiry(choice, now)
        except ValueError as exc:
            form.expiry.errors = [str(exc)]
            return None
    return form.expires_at.utc(workspace.timezone)


def _parse(form, workspace: Workspace) -> tuple[bool, datetime | None]:
    """(form parsed cleanly, expiry in UTC); field errors are left on the form."""
    parsed = form.validate_on_submit()
    _offer_presets(form, workspace)
    expires_at = _expiry_utc(form, workspace, utcnow())
    return parsed and not form.expires_at.errors and not form.expiry.errors, expires_at


def _policy(workspace: Workspace) -> lifetime.LifetimePolicy:
    return lifetime.policy_of(workspace.organization)


def _offer_presets(form, workspace: Workspace, selected: str | None = None):
    """The expiry choices the org's policy allows; `selected` for a form not posted."""
    form.expiry.choices = _policy(workspace).presets()
    if selected is not None:
        form.expiry.data = selected
    return form


# ---- the table ------------------------------------------------------------------------------

@bp.get("")
@workspace_view(Permission.MANAGE_KEYS)
def index(workspace):
    filters = KeyFilters.from_args(request.args)
    now = utcnow()
    query = services.keys_query(workspace, filters.search, filters.status, filters.key_type, now)
    rows = query.options(selectinload(ApiKey.created_by))  # the Created column's hover names them
    notice = None
    try:
        page = keyset_page(rows, KEYS_ORDER, PER_PAGE, filters.cursor or None)
    except InvalidCursor:
        notice = "That page link is out of date or damaged, so the first page is shown."
        filters = replace(filters, cursor="")
        page = keyset_page(rows, KEYS_ORDER, PER_PAGE)
    if filters.cursor and not page.items:
        # A bookmarked page past the end (its keys were deleted): show the first page instead.
        filters = replace(filters, cursor="")
        page = keyset_page(rows, KEYS_ORDER, PER_PAGE)
    total = db.session.scalar(query.with_only_columns(func.count()))
    context = dict(workspace=workspace, page=page, keys=page.items, total=total, notice=notice,
                   filters=filters, now=now, key_types=KEY_TYPES, policy=_policy(workspace),
                   expiring=reminders.expiring_keys(workspace, now),
                   leak_revocations=leaks.recent_revocations(workspace, now),
                   status_filters=state.STATUS_FILTER_LABELS)
    if not is_htmx():
        return render_template("keys/index.html", **context)
    response = make_response(render_template("keys/_table.html", **context))
    if request.headers.get("HX-Trigger") != "keys-table":
        # A filter or page change: the address bar gets the canonical URL (no empty arguments);
        # the table re-fetching itself after a change (keysChanged) leaves history alone.
        response.headers["HX-Push-Url"] = url_for("keys.index", workspace_id=workspace.id,
                                                  **filters.args())
    return response


# ---- create ---------------------------------------------------------------------------------

@bp.get("/new")
@workspace_view(Permission.MANAGE_KEYS)
def new(workspace):
    form = _offer_presets(CreateKeyForm(formdata=None), workspace,
                          _policy(workspace).default_preset())
    return _dialog(workspace, "keys/_create_form.html", "Create API Key", side=True, form=form,
                   policy=_policy(workspace))


@bp.post("")
@workspace_view(Permission.MANAGE_KEYS)
@sudo_required
def create(workspace):
    form = CreateKeyForm()
    parsed, expires_at = _parse(form, workspace)
    try:
        if not parsed:
            # Still report the rules' messages for every other field in the same response.
            services.validate_key_fields(form.name.data, form.chosen_abilities(), None,
                                         form.key_type.data, allowed_ips=form.allowed_ips.data)
        else:
            claim = once.claim(once.submitted_token(), current_user.id)
            key, plaintext = services.create_key(workspace, form.name.data,
                                                 form.chosen_abilities(), expires_at,
                                                 form.key_type.data, **_actor(),
                                                 allowed_ips=form.allowed_ips.data)
            return _key_shown(workspace, key, plaintext, "key.created", claim)
    except once.Resubmitted as exc:
        return once.answer_resubmitted(exc, url_for("keys.index", workspace_id=workspace.id))
    except (ValidationFailed, once.FormExpired) as exc:
        db.session.rollback()
        show_form_errors(form, exc)
    return _invalid_form(workspace, "keys/_create_form.html", "Create API Key", side=True,
                         form=form, policy=_policy(workspace))


# ---- detail ---------------------------------------------------------------------------------

@bp.get("/<key_id>")
@workspace_view(Permission.MANAGE_KEYS)
def show(workspace, key_id):
    key = services.get_key(workspace, key_id)
    now = utcnow()
    per_day = services.requests_per_day(key, workspace.timezone, days=USAGE_DAYS, now=now)
    return render_template(
        "keys/show.html", workspace=workspace, key=key, now=now,
        events=services.key_events(key), requests=services.recent_requests(key, 50),
        chart=usage_chart(per_day), describe_change=describe_change,
        outcomes=services.request_outcomes(key, workspace.timezone, USAGE_DAYS, now),
        routes=services.top_routes(key, workspace.timezone, USAGE_DAYS, now),
        refusal_label=state.refusal_label, policy=_policy(workspace))


def usage_chart(per_day) -> BarChart:
    """Requests per day on the key's page: a value axis on the left, a day label under each bar."""
    return bar_chart(per_day, width=700, height=160, top=16, bottom=24, left=32, fill=0.7)


def describe_change(field: str, value, tz_name: str) -> str:
    """An audit value as people read it: times in the workspace timezone, blanks spelled out."""
    if value in (None, ""):
        if field == "allowed_ips":
            return "any address"
        return "never" if field in ("expires_at", "old_key_valid_until") else "—"
    if field in ("expires_at", "old_key_valid_until") and isinstance(value, str):
        try:
            return format_datetime(datetime.fromisoformat(value.rstrip("Z")), tz_name)
        except ValueError:
            return value
    if field in ("abilities", "allowed_ips"):
        return ", ".join(value.split(","))
    return str(value)


# ---- edit -----------------------------------------------------------------------------------

def _edit_form_for(key: ApiKey, workspace: Workspace) -> EditKeyForm:
    form = EditKeyForm(formdata=None).show(key)
    form.name.data = key.name
    form.show_abilities(key.ability_list)
    form.allowed_ips.data = "\n".join(key.allowed_ip_list)
    form.expires_at.show_utc(key.expires_at, workspace.timezone)
    form.active.data = key.status == "active"
    # Opening the panel changes nothing: the current expiry is selected as it is.
    return _offer_presets(form, workspace, "custom" if key.expires_at else "never")


def _abilities_wanted(form: EditKeyForm, key: ApiKey) -> tuple[list[str], bool]:
    """(the abilities to save, whether they change what the key may do). The key's own when
    the posted ones grant the same: the grid shows `read` as every resource's read, and saving
    it untouched keeps `read`."""
    chosen = form.chosen_abilities()
    try:
        canonical = ability_strings.split(ability_strings.normalize(chosen))
    except ability_strings.InvalidAbilities:
        return chosen, False  # the service refuses them with its message; nothing changes
    if ability_strings.same_grants(canonical, key.ability_list):
        return key.ability_list, False
    return chosen, True


def _allowlist_changed(posted, stored: str) -> bool:
    try:
        return allowlist.normalize(posted) != stored
    except allowlist.InvalidAllowlist:
        return False  # refused with its message; nothing changes


@bp.get("/<key_id>/edit")
@workspace_view(Permission.MANAGE_KEYS)
def edit(workspace, key_id):
    key = services.get_key(workspace, key_id)
    return _dialog(workspace, "keys/_edit_form.html", "Edit API Key", side=True, key=key,
                   form=_edit_form_for(key, workspace), policy=_policy(workspace))


@bp.post("/<key_id>")
@workspace_view(Permission.MANAGE_KEYS)
def update(workspace, key_id):
    key = services.get_key(workspace, key_id)
    form = EditKeyForm()
    parsed, expires_at = _parse(form, workspace)
    wanted, abilities_change = _abilities_wanted(form, key)
    if parsed and (abilities_change
                   or _allowlist_changed(form.allowed_ips.data, key.allowed_ips)):
        require_sudo()  # changing what a key may do, or from where, is handing out power
    try:
        if not parsed:
            services.validate_key_fields(form.name.data, wanted, None, key.key_type,
                                         check_expiry=False, allowed_ips=form.allowed_ips.data)
        else:
            changes = services.update_key(key, form.name.data, wanted, expires_at,
                                          form.active.data, **_actor(),
                                          expected_version=form.expected_version(),
                                          allowed_ips=form.allowed_ips.data)
            db.session.commit()
            message = f"Saved changes to “{key.name}”." if changes else "Nothing changed."
            if is_htmx():
                return _row_response(workspace, key, message)
            flash(message, "success")
            return redirect(_return_url(workspace, key))
    except services.KeyChanged as exc:
        return _changed_meanwhile(workspace, key_id, exc.message)
    except ValidationFailed as exc:
        db.session.rollback()
        show_form_errors(form, exc)
    return _invalid_form(workspace, "keys/_edit_form.html", "Edit API Key", side=True, key=key,
                         form=form, policy=_policy(workspace))


# ---- revoke / activate / delete: one confirm dialog each ------------------------------------

def _confirm(workspace, key: ApiKey, action: str, status: int = 200):
    """The one confirm body (_confirm.html); under htmx its answer replaces (or removes) the row."""
    title, question, button, _ = CONFIRMABLE[action]
    from_detail = request.values.get("return_to") == "detail"
    return _dialog(workspace, "_confirm.html", title, status,
                   consequence=question.format(name=key.name), subject_label="Key",
                   subject=key.masked, button=button,
                   button_style="btn-danger" if action in ("revoke", "delete") else "btn-primary",
                   action_url=url_for(f"keys.{action}", workspace_id=workspace.id, key_id=key.id),
                   swap_target=f"#key-row-{key.id}", form=KeyChangeForm().show(key),
                   hidden={"return_to": "detail"} if from_detail else None,
                   cancel_url=url_for("keys.show" if from_detail else "keys.index",
                                      workspace_id=workspace.id,
                                      **({"key_id": key.id} if from_detail else {})))


def _confirm_view(action):
    @workspace_view(Permission.MANAGE_KEYS)
    def confirm(workspace, key_id):
        return _confirm(workspace, services.get_key(workspace, key_id), action)

    confirm.__name__ = f"confirm_{action}"
    return confirm


def _action_view(action):
    @workspace_view(Permission.MANAGE_KEYS)
    def act(workspace, key_id):
        key = services.get_key(workspace, key_id)
        form = KeyChangeForm()
        if not form.validate_on_submit():
            return _confirm(workspace, key, action, 422)  # only a CSRF failure gets here
        name = key.name
        try:
            if action == "delete":
                require_sudo()
                services.delete_key(key, expected_version=form.expected_version())
            else:
                CONFIRMABLE[action][3](key, **_actor(), expected_version=form.expected_version())
        except services.KeyChanged as exc:
            return _changed_meanwhile(workspace, key_id, exc.message)
        db.session.commit()
        message = ACTION_DONE[action].format(name=name)
        if is_htmx():
            return _row_response(workspace, key, message, deleted=action == "delete")
        flash(message, "success")
        return redirect(_return_url(workspace, None if action == "delete" else key))

    act.__name__ = action
    return act


for _action in CONFIRMABLE:
    _path = f"/<key_id>/{_action.replace('_', '-')}"
    bp.add_url_rule(_path, view_func=_confirm_view(_action), methods=["GET"])
    bp.add_url_rule(_path, view_func=_action_view(_action), methods=["POST"])


# ---- regenerate and its grace period --------------------------------------------------------

@bp.get("/<key_id>/regenerate")
@workspace_view(Permission.MANAGE_KEYS)
def confirm_regenerate(workspace, key_id):
    key = services.get_key(workspace, key_id)
    return _dialog(workspace, "keys/_regenerate_form.html", "Regenerate API key", key=key,
                   form=RegenerateKeyForm().show(key), now=utcnow())


@bp.post("/<key_id>/regenerate")
@workspace_view(Permission.MANAGE_KEYS)
@sudo_required
def regenerate(workspace, key_id):
    key = services.get_key(workspace, key_id)
    form = RegenerateKeyForm()
    if form.validate_on_submit():
        try:
            grace = services.grace_period(form.grace.data)
            claim = once.claim(once.submitted_token(), current_user.id)
        except once.Resubmitted as exc:
            return once.answer_resubmitted(exc, url_for("keys.index", workspace_id=workspace.id))
        except (ValidationFailed, once.FormExpired) as exc:
            show_form_errors(form, exc)
        else:
            try:
                plaintext = services.regenerate_key(key, grace, **_actor(),
                                                    expected_version=form.expected_version())
            except services.KeyChanged as exc:
                return _changed_meanwhile(workspace, key_id, exc.message)
            return _key_shown(workspace, key, plaintext, "key.regenerated", claim)
    return _invalid_form(workspace, "keys/_regenerate_form.html", "Regenerate API key",
                         key=key, form=form, now=utcnow())


@bp.after_request
def _vary_on_htmx(response):
    # Almost every view here answers a fragment or a page depending on HX-Request.
    response.vary.add("HX-Request")
    return response


def init_app(app):
    from . import policy_views

    app.register_blueprint(bp)
    policy_views.init_app(app)
    cli.init_app(app)
    register_nav(app, NavItem("settings", "Developer", "API Keys", "keys.index",
                              Permission.MANAGE_KEYS))
    # Templates ask the one key-state rule: `key | key_state(now)`, `key | grace_pending(now)`.
    app.add_template_filter(state.state_of, "key_state")
    app.add_template_filter(state.key_grace_pending, "grace_pending")
    # The ability grid and badges read RESOURCES, RESOURCE_LABELS, ABILITIES and summarize().
    app.add_template_global(ability_strings, "key_abilities")

