"""The Automations pages (Manager+): the list with each automation's progress; one automation's
page with its steps, how many contacts are at each, and its latest runs; all its runs, by state;
dialogs to create and edit it and its steps, activate/pause, delete, and retry a failed run.
Every change goes through services.py (a retry through runs.py)."""
from flask import Blueprint, abort, flash, request, url_for
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from ..contacts.groups import LISTS, TAGS
from ..errors import DomainError, ValidationFailed
from ..extensions import db
from ..models import RUN_STATES, Automation, AutomationRun, Contact
from ..pagination import InvalidCursor
from ..policy import Permission
from ..schema_types import validated, validation_errors
from ..web import (ConfirmForm, NavItem, commit_or_show_errors, load_in_workspace_or_404,
                   redirect_to, register_nav, render_dialog, render_page_or_fragment,
                   workspace_view)
from . import runs as run_steps, services
from .forms import AutomationForm, StepForm
from .schemas import (STEP_LABELS, TRIGGER_LABELS, AutomationCreate, AutomationPatch,
                      AutomationQuery, RunQuery, Step)

bp = Blueprint("automations", __name__, url_prefix="/w/<workspace_id>/automations")
LATEST_RUNS = 20
RUNS_PER_PAGE = 50
BAD_CURSOR = "That page link is out of date or damaged, so the first page is shown."
_STEP = TypeAdapter(Step)


def _groups(workspace):
    """(lists, tags) of the workspace by name, for the selects."""
    return tuple(list(db.session.scalars(select(kind.model)
                                         .where(kind.model.workspace_id == workspace.id)
                                         .order_by(kind.model.name)))
                 for kind in (LISTS, TAGS))


def _page_url(workspace, automation) -> str:
    return url_for(".show", workspace_id=workspace.id, automation_id=automation.id)


@bp.get("")
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def index(workspace):
    page = services.list_automations(workspace, AutomationQuery(limit=100))
    return render_page_or_fragment(
        "automations/index.html", "automations/_table.html", workspace=workspace,
        automations=page.items, progress=services.progress_of(page.items),
        triggers=TRIGGER_LABELS, names=services.group_names(workspace))


@bp.get("/<automation_id>")
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def show(workspace, automation_id):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    latest = db.session.execute(
        select(AutomationRun, Contact.email).join(Contact, Contact.id == AutomationRun.contact_id)
        .where(AutomationRun.automation_id == automation.id)
        .order_by(AutomationRun.updated_at.desc()).limit(LATEST_RUNS)).all()
    return render_page_or_fragment(
        "automations/show.html", "automations/show.html", workspace=workspace,
        automation=automation, progress=services.progress_of([automation])[automation.id],
        runs=latest, triggers=TRIGGER_LABELS, step_labels=STEP_LABELS,
        names=services.group_names(workspace), form=ConfirmForm())


# ---- its runs -----------------------------------------------------------------------------------

def _runs_url(workspace, automation, state: str = "") -> str:
    return url_for(".runs", workspace_id=workspace.id, automation_id=automation.id,
                   state=state or None)


@bp.get("/<automation_id>/runs")
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def runs(workspace, automation_id):
    """Every run of the automation, newest first, optionally of one state."""
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    state = request.args.get("state", "")
    notice = None
    if state and state not in RUN_STATES:
        state, notice = "", "There is no such state, so runs in every state are shown."
    cursor = request.args.get("cursor") or None

    def page_at(cursor):
        # Built without validation: the one check of a cursor is keyset_page's (InvalidCursor).
        return services.list_runs(workspace, automation.id, RunQuery.model_construct(
            state=state or None, limit=RUNS_PER_PAGE, cursor=cursor))

    try:
        page = page_at(cursor)
    except InvalidCursor:
        notice, cursor, page = BAD_CURSOR, None, page_at(None)
    emails = dict(db.session.execute(
        select(Contact.id, Contact.email).where(Contact.id.in_([r.contact_id for r in page.items]))
    ).all()) if page.items else {}
    return render_page_or_fragment(
        "automations/runs.html", "automations/_runs.html", workspace=workspace,
        automation=automation, runs_page=page, runs=[(run, emails.get(run.contact_id, ""))
                                                    for run in page.items],
        state=state, states=RUN_STATES, cursor=cursor, notice=notice, form=ConfirmForm(),
        step_labels=STEP_LABELS, names=services.group_names(workspace))


def _retry_dialog(workspace, automation, run, email: str, status: int = 200, error: str = ""):
    steps = automation.steps or []
    if run.step < len(steps):
        kind = steps[run.step].get("type")
        consequence = (f"It continues now at step {run.step + 1} ({STEP_LABELS.get(kind, kind)}), "
                       "the one that failed, and goes on from there.")
        if kind == "send_email":
            consequence += " That step mails the contact (unless their status no longer allows it)."
    else:
        consequence = "The step that failed was removed since, so the run completes."
    if not error and automation.status != "active":
        error = ("The automation is paused: activate it first (a paused automation holds its "
                 "runs).")
    return render_dialog(
        "_confirm.html", "Retry this run?", status, workspace=workspace,
        consequence=consequence, subject=email, subject_label="Contact", button="Retry run",
        button_style="btn-primary", error=error or (f"Last error: {run.last_error}"
                                                      if run.last_error else ""),
        action_url=url_for(".retry_run", workspace_id=workspace.id, automation_id=automation.id,
                           run_id=run.id),
        cancel_url=_runs_url(workspace, automation, "failed"), answer_in_dialog=True)


@bp.route("/<automation_id>/runs/<run_id>/retry", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def retry_run(workspace, automation_id, run_id):
    """Resume a failed run at the step that failed (its GET is the confirm)."""
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    run = load_in_workspace_or_404(AutomationRun, workspace, run_id)
    if run.automation_id != automation.id:
        abort(404)
    email = db.session.scalar(select(Contact.email).where(Contact.id == run.contact_id)) or ""
    if request.method == "GET":
        return _retry_dialog(workspace, automation, run, email)
    if not ConfirmForm().validate_on_submit():
        return _retry_dialog(workspace, automation, run, email, 422)
    try:
        retried = run_steps.retry_run(workspace, automation.id, run.id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        run = load_in_workspace_or_404(AutomationRun, workspace, run_id)
        return _retry_dialog(workspace, automation, run, email, 422, error=exc.message)
    flash(f"The run of {email} continues at step {retried.step + 1}.", "success")
    return redirect_to(_runs_url(workspace, automation))


# ---- the automation -----------------------------------------------------------------------------

def _form_response(workspace, form, automation=None, status=200):
    title = "Edit automation" if automation else "New automation"
    return render_dialog("automations/_form.html", title, status, in_place=status == 422,
                         side_panel=True, workspace=workspace, form=form, automation=automation)


@bp.route("/new", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def new(workspace):
    form = AutomationForm()
    form.offer(*_groups(workspace))
    if request.method == "GET":
        return _form_response(workspace, form)
    automation = commit_or_show_errors(form, lambda: services.create_automation(
        workspace, validated(AutomationCreate, form.values()))) if form.validate_on_submit() else None
    if automation is None:
        return _form_response(workspace, form, status=422)
    flash(f"Automation “{automation.name}” created. Add its steps, then activate it.", "success")
    return redirect_to(_page_url(workspace, automation))


@bp.route("/<automation_id>/edit", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def edit(workspace, automation_id):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    form = AutomationForm(obj=automation if request.method == "GET" else None)
    form.offer(*_groups(workspace))
    if request.method == "GET":
        form.trigger_list_id.data = str(automation.trigger_list_id or "")
        form.trigger_tag_id.data = str(automation.trigger_tag_id or "")
        return _form_response(workspace, form, automation)
    saved = commit_or_show_errors(form, lambda: services.update_automation(
        workspace, automation.id, validated(AutomationPatch, form.values()))
    ) if form.validate_on_submit() else None
    if saved is None:
        automation = load_in_workspace_or_404(Automation, workspace, automation_id)
        return _form_response(workspace, form, automation, status=422)
    flash(f"Automation “{saved.name}” saved.", "success")
    return redirect_to(_page_url(workspace, saved))


@bp.post("/<automation_id>/status")
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def set_status(workspace, automation_id):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    status = request.form.get("status")
    if not ConfirmForm().validate_on_submit() or status not in ("active", "paused"):
        abort(400)
    services.set_status(workspace, automation.id, status)
    db.session.commit()
    flash(f"“{automation.name}” is active: new contacts are enrolled." if status == "active" else
          f"“{automation.name}” is paused: nobody new is enrolled, and contacts in it wait "
          f"where they are until it is activated again.", "success")
    return redirect_to(_page_url(workspace, automation))


@bp.route("/<automation_id>/delete", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def delete(workspace, automation_id):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        name = automation.name
        services.delete_automation(workspace, automation.id)
        db.session.commit()
        flash(f"Automation “{name}” deleted.", "success")
        return redirect_to(url_for(".index", workspace_id=workspace.id))
    in_progress = services.progress_of([automation])[automation.id].in_progress
    consequence = ("Its runs are deleted with it." if not in_progress else
                   f"It still has {in_progress:,} contact{'' if in_progress == 1 else 's'} in "
                   f"progress: they get none of its remaining steps. Its runs are deleted with it.")
    return render_dialog(
        "_confirm.html", f"Delete the automation “{automation.name}”?", workspace=workspace,
        consequence=consequence, button="Delete automation",
        action_url=url_for(".delete", workspace_id=workspace.id, automation_id=automation.id),
        cancel_url=_page_url(workspace, automation))


# ---- its steps ----------------------------------------------------------------------------------

def _step_response(workspace, automation, form, index=None, status=200):
    title = f"{'Edit step' if index is not None else 'Add a step'}: {form.label}"
    return render_dialog("automations/_step_form.html", title, status, in_place=status == 422,
                         side_panel=True, workspace=workspace, automation=automation, form=form,
                         index=index)


def _submit_step(workspace, automation_id, form, steps, index, done: str):
    """Save the automation with `steps` (the form's step at `index`, or last when adding): the
    page again, or the form with its errors (422)."""
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    form.index = len(steps) - 1 if index is None else index
    if not (form.validate_on_submit() and _save_steps(workspace, automation, form, steps)):
        automation = load_in_workspace_or_404(Automation, workspace, automation_id)
        return _step_response(workspace, automation, form, index, status=422)
    flash(done, "success")
    return redirect_to(_page_url(workspace, automation))


def _change_steps(workspace, automation, steps) -> bool:
    """Reorder or remove steps; a refusal (another step's tag or list is gone) is flashed and
    nothing changes."""
    try:
        services.update_automation(workspace, automation.id, AutomationPatch(steps=steps))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        reason = exc.message if not isinstance(exc, ValidationFailed) else " ".join(
            f"{where}: {' '.join(messages)}" for where, messages in _by_step(exc.errors).items())
        flash(f"The steps were not changed. {reason} Fix or remove that step first.", "error")
        return False
    return True


def _by_step(errors: dict, own_index: int | None = None) -> dict:
    """The services' "steps.3.add_tag.tag_id" errors as the step forms show them: the step
    being edited by field name ("tag_id"), any other as "Step 4"."""
    named = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "steps" and len(parts) > 1 and parts[1].isdigit():
            key = parts[-1] if int(parts[1]) == own_index else f"Step {int(parts[1]) + 1}"
        named.setdefault(key, []).extend(messages)
    return named


def _save_steps(workspace, automation, form, steps) -> bool:
    """Save the automation with these steps; False with the errors on the step form."""
    def save():
        try:
            _STEP.validate_python(steps[form.index])
        except ValidationError as exc:
            # The step alone: its errors by field name ("wait.amount" → amount).
            raise ValidationFailed({key.split(".")[-1]: messages for key, messages
                                    in validation_errors(exc).items()}) from None
        try:
            return services.update_automation(workspace, automation.id,
                                              validated(AutomationPatch, {"steps": steps}))
        except ValidationFailed as exc:  # this step's fields by name; another step's above
            raise ValidationFailed(_by_step(exc.errors, form.index)) from None

    return commit_or_show_errors(form, save) is not None


def _step_index(automation, raw: str) -> int:
    index = int(raw) if raw.isdigit() else -1
    if not 0 <= index < len(automation.steps or []):
        abort(404)
    return index


@bp.route("/<automation_id>/steps/new", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def new_step(workspace, automation_id):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    form = StepForm()
    if request.method == "GET":
        form.type.data = request.args.get("type")
        if form.type.data not in STEP_LABELS:  # which kind of step? (the no-JS way here)
            return render_dialog("automations/_step_types.html", "Add a step", side_panel=True,
                                 workspace=workspace, automation=automation,
                                 step_labels=STEP_LABELS)
    if form.type.data not in STEP_LABELS:
        abort(404)
    form.offer(*_groups(workspace))
    if request.method == "GET":
        return _step_response(workspace, automation, form)
    steps = [*(automation.steps or []), form.values()]
    return _submit_step(workspace, automation_id, form, steps, None, f"Step added: {form.label}.")


@bp.route("/<automation_id>/steps/<index>/edit", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def edit_step(workspace, automation_id, index):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    position = _step_index(automation, index)
    current = automation.steps[position]
    form = StepForm(data=current) if request.method == "GET" else StepForm()
    form.type.data = current["type"]  # a step's type stays; another type is another step
    form.offer(*_groups(workspace))
    if request.method == "GET":
        return _step_response(workspace, automation, form, position)
    steps = list(automation.steps)
    steps[position] = form.values()
    return _submit_step(workspace, automation_id, form, steps, position,
                        f"Step {position + 1} saved.")


@bp.post("/<automation_id>/steps/<index>/move")
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def move_step(workspace, automation_id, index):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    position = _step_index(automation, index)
    target = position + (1 if request.form.get("direction") == "down" else -1)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    steps = list(automation.steps)
    if 0 <= target < len(steps):
        steps[position], steps[target] = steps[target], steps[position]
        _change_steps(workspace, automation, steps)
    return redirect_to(_page_url(workspace, automation))


@bp.route("/<automation_id>/steps/<index>/delete", methods=["GET", "POST"])
@workspace_view(Permission.MANAGE_AUTOMATIONS)
def delete_step(workspace, automation_id, index):
    automation = load_in_workspace_or_404(Automation, workspace, automation_id)
    position = _step_index(automation, index)
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        if _change_steps(workspace, automation,
                         [s for i, s in enumerate(automation.steps) if i != position]):
            flash(f"Step {position + 1} removed.", "success")
        return redirect_to(_page_url(workspace, automation))
    at_step = services.progress_of([automation])[automation.id].steps[position].in_progress
    consequence = "Nobody is at this step." if not at_step else (
        f"{at_step:,} contact{' is' if at_step == 1 else 's are'} at this step; they go on with "
        f"the step that takes its place.")
    return render_dialog(
        "_confirm.html", f"Remove step {position + 1} ({STEP_LABELS[automation.steps[position]['type']]})?",
        workspace=workspace, consequence=consequence, button="Remove step",
        action_url=url_for(".delete_step", workspace_id=workspace.id, automation_id=automation.id,
                           index=position),
        cancel_url=_page_url(workspace, automation))


def init_app(app):
    app.register_blueprint(bp)
    register_nav(app, NavItem("workspace", "", "Automations", "automations.index",
                              Permission.MANAGE_AUTOMATIONS))
