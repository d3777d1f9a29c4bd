"""Contacts in the web UI: the table (search, filters, sort, keyset pages), a contact's page
(edit, lists and tags, timeline), new contact, bulk actions and CSV export.

Lists and tags pages (group_views.py) and the CSV import pages (import_views.py) are blueprints
of their own; this module registers them. All changes go through the contacts services, so the
UI applies the API's rules."""
from flask import (Blueprint, Response, abort, flash, g, redirect, render_template,
                   request, stream_with_context, url_for)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import jobs, once
from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import CONTACT_STATUSES, Contact, ContactEvent, ContactList, Tag, Workspace
from ..timeutil import utcnow
from ..web import (ConfirmForm, NavItem, api_keys_url, commit_or_show_errors, is_htmx,
                   load_in_workspace_or_404, redirect_to, register_nav, render_dialog,
                   render_page_or_fragment, show_form_errors, workspace_view)
from ..subscriptions import confirmations
from . import bulk, lists, services, tags
from .browse import fetch_page, parse_table
from .csv_export import export_rows
from .forms import BULK_ACTIONS, BulkForm, ContactForm, MembershipForm, validated
from ..policy import Permission, can
from .query import count_matching
from .schemas import ContactCreate, ContactPatch

bp = Blueprint("contacts", __name__, url_prefix="/w/<workspace_id>/contacts")

TIMELINE_LIMIT = 100
FIELD_NAMES = ("email", "first_name", "last_name", "phone", "company", "job_title", "status",
               "source")


def ui_source() -> str:
    """How the timeline names a change made here."""
    return f"UI: {current_user.email}"




def workspace_lists(workspace: Workspace) -> list[ContactList]:
    return list(db.session.scalars(select(ContactList).where(
        ContactList.workspace_id == workspace.id).order_by(ContactList.name)))


def workspace_tags(workspace: Workspace) -> list[Tag]:
    return list(db.session.scalars(select(Tag).where(
        Tag.workspace_id == workspace.id).order_by(Tag.name)))


# ---- the table --------------------------------------------------------------------------------

@bp.get("")
@workspace_view(Permission.EDIT_CONTACTS)
def index(workspace):
    table = parse_table(request.args, workspace)
    page, table = fetch_page(workspace, table, options=(selectinload(Contact.tags),))
    total = count_matching(workspace, table.filter)
    has_any = total > 0 or (table.is_filtered and db.session.scalar(
        select(Contact.id).where(Contact.workspace_id == workspace.id).limit(1)) is not None)
    bulk_form = BulkForm()
    all_lists, all_tags = workspace_lists(workspace), workspace_tags(workspace)
    _fill_bulk_choices(bulk_form, all_lists, all_tags, g.workspace_role)
    return render_page_or_fragment(
        "contacts/index.html", "contacts/_results.html",
        workspace=workspace, table=table, results=page, total=total, has_any=has_any,
        lists=all_lists, tags=all_tags, statuses=CONTACT_STATUSES, bulk_form=bulk_form,
        can_delete=can(g.workspace_role, Permission.DELETE_CONTACTS),
        api_keys_url=api_keys_url(workspace))


@bp.get("/export.csv")
@workspace_view(Permission.EDIT_CONTACTS)
def export(workspace):
    """The contacts matching the current filter, streamed, formula-safe for spreadsheets."""
    table = parse_table(request.args, workspace)
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(export_rows(workspace, table.filter)),
                        mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.csv"'
    return response


# ---- new, show, edit, delete ------------------------------------------------------------------

def _contact_form_page(template: str, workspace, form, status=200, **context):
    return render_template(template, workspace=workspace, form=form,
                           can_delete=can(g.workspace_role, Permission.DELETE_CONTACTS), **context), status


def _submitted_fields(form: ContactForm) -> dict:
    data = {name: (getattr(form, name).data or "").strip() for name in FIELD_NAMES}
    data["custom_fields"] = form.custom_field_dict()
    return data


@bp.route("/new", methods=["GET", "POST"])
@workspace_view(Permission.EDIT_CONTACTS)
def new(workspace):
    all_lists, all_tags = workspace_lists(workspace), workspace_tags(workspace)
    form = ContactForm()
    form.lists.choices = [(str(lst.id), lst.name) for lst in all_lists]
    form.tags.choices = [(str(t.id), t.name) for t in all_tags]
    if request.method == "GET":
        form.fill_custom_fields({})
        return _contact_form_page("contacts/new.html", workspace, form)
    if form.add_field.data:
        form.custom_fields.append_entry()
        return _contact_form_page("contacts/new.html", workspace, form)
    if form.validate_on_submit():
        data = _submitted_fields(form)
        created = None
        if not form.has_custom_field_errors():
            try:  # sent again (a double click), it goes to the contact, not to "already exists"
                claim = once.claim(once.submitted_token(), current_user.id)
            except once.Resubmitted as exc:
                return once.answer_resubmitted(exc, url_for(".index", workspace_id=workspace.id))
            except once.FormExpired as exc:
                show_form_errors(form, exc)
            else:
                def create():
                    contact = services.create_contact(workspace, validated(ContactCreate, {
                        **data, "list_ids": form.lists.data, "tag_ids": form.tags.data}),
                        source=ui_source(), confirmed_consent=True)
                    claim.done(_contact_url(workspace, contact))
                    return contact

                created = commit_or_show_errors(form, create, conflict_field="email")
        if created is not None:
            flash(f"Contact {created.email} created.", "success")
            return redirect_to(_contact_url(workspace, created))
    return _contact_form_page("contacts/new.html", workspace, form, status=422)


def _contact_url(workspace, contact) -> str:
    return url_for(".show", workspace_id=workspace.id, contact_id=contact.id)


def _show_context(workspace, contact):
    events = list(db.session.scalars(
        select(ContactEvent).where(ContactEvent.contact_id == contact.id)
        .order_by(ContactEvent.created_at.desc(), ContactEvent.id).limit(TIMELINE_LIMIT)))
    return {"contact": contact, "events": events, "timeline_limit": TIMELINE_LIMIT,
            **_membership_context(workspace, contact)}


def _membership_context(workspace, contact):
    all_lists, all_tags = workspace_lists(workspace), workspace_tags(workspace)
    list_form, tag_form = MembershipForm(prefix="list"), MembershipForm(prefix="tag")
    in_lists = {lst.id for lst in contact.lists}
    in_tags = {t.id for t in contact.tags}
    list_form.target_id.choices = [(str(x.id), x.name) for x in all_lists if x.id not in in_lists]
    tag_form.target_id.choices = [(str(x.id), x.name) for x in all_tags if x.id not in in_tags]
    return {"contact": contact, "list_form": list_form, "tag_form": tag_form,
            "has_lists": bool(all_lists), "has_tags": bool(all_tags),
            "confirmation": (confirmations.state_of(contact) if contact.status == "pending"
                             else None)}


@bp.get("/<contact_id>")
@workspace_view(Permission.EDIT_CONTACTS)
def show(workspace, contact_id):
    contact = load_in_workspace_or_404(Contact, workspace, contact_id)
    form = ContactForm(obj=contact)
    form.fill_custom_fields(contact.custom_fields)
    return _contact_form_page("contacts/show.html", workspace, form, **_show_context(workspace, contact))


@bp.post("/<contact_id>")
@workspace_view(Permission.EDIT_CONTACTS)
def update(workspace, contact_id):
    contact = load_in_workspace_or_404(Contact, workspace, contact_id)
    form = ContactForm()
    form.lists.choices, form.tags.choices = [], []
    if form.add_field.data:
        form.custom_fields.append_entry()
        return _contact_form_page("contacts/show.html", workspace, form,
                                  **_show_context(workspace, contact))
    if form.validate_on_submit():
        data = _submitted_fields(form)
        saved = None
        if not form.has_custom_field_errors():
            # A patch of the profile fields: lists and tags are changed inline, not here.
            saved = commit_or_show_errors(form, lambda: services.update_contact(
                workspace, contact.id, validated(ContactPatch, data), source=ui_source()),
                conflict_field="email")
        if saved is not None:
            flash("Changes saved.", "success")
            return redirect_to(url_for(".show", workspace_id=workspace.id, contact_id=contact.id))
        contact = load_in_workspace_or_404(Contact, workspace, contact_id)
    return _contact_form_page("contacts/show.html", workspace, form, status=422,
                              **_show_context(workspace, contact))


@bp.post("/<contact_id>/confirmation/resend")
@workspace_view(Permission.EDIT_CONTACTS)
def resend_confirmation(workspace, contact_id):
    """Mail a pending contact's double opt-in confirmation again (at most one per
    confirmations.RESEND_INTERVAL)."""
    contact = load_in_workspace_or_404(Contact, workspace, contact_id)
    if ConfirmForm().validate_on_submit():
        try:
            confirmations.resend(contact)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"A confirmation mail will be sent to {contact.email}.", "success")
    return redirect_to(url_for(".show", workspace_id=workspace.id, contact_id=contact.id))


@bp.route("/<contact_id>/delete", methods=["GET", "POST"])
@workspace_view(Permission.DELETE_CONTACTS)
def delete(workspace, contact_id):
    """GET: the confirm dialog (or page without JS); POST: delete and go back to the table."""
    contact = load_in_workspace_or_404(Contact, workspace, contact_id)
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        email = contact.email
        services.delete_contact(workspace, contact.id)
        db.session.commit()
        flash(f"Contact {email} deleted.", "success")
        return redirect_to(url_for(".index", workspace_id=workspace.id))
    return render_dialog(
        "_confirm.html", f"Delete {contact.email}?", workspace=workspace,
        consequence="The contact, its list and tag memberships and its timeline are removed "
                    "permanently.",
        action_url=url_for(".delete", workspace_id=workspace.id, contact_id=contact.id),
        button="Delete contact",
        cancel_url=url_for(".show", workspace_id=workspace.id, contact_id=contact.id))


# ---- lists and tags of one contact (inline) ---------------------------------------------------

def _membership_response(workspace, contact, status=200):
    db.session.refresh(contact)
    if is_htmx():
        return render_template("contacts/_memberships.html", workspace=workspace,
                               **_membership_context(workspace, contact)), status
    return redirect(url_for(".show", workspace_id=workspace.id, contact_id=contact.id), code=303)


@bp.post("/<contact_id>/<kind>")
@workspace_view(Permission.EDIT_CONTACTS)
def add_membership(workspace, contact_id, kind):
    """Add the contact to a list (kind=lists) or give it a tag (kind=tags)."""
    if kind not in ("lists", "tags"):
        abort(404)
    contact = load_in_workspace_or_404(Contact, workspace, contact_id)
    form = MembershipForm(prefix="list" if kind == "lists" else "tag")
    form.target_id.choices = None  # any id; ownership is checked below
    form.target_id.validate_choice = False
    if not form.validate_on_submit() or not form.target_id.data:
        if not is_htmx():  # the page comes back by redirect: say why nothing was added
            flash(f"Choose a {'list' if kind == 'lists' else 'tag'} to add.", "error")
        return _membership_response(workspace, contact, status=422)
    if kind == "lists":
        target = load_in_workspace_or_404(ContactList, workspace, form.target_id.data)
        lists.add_contacts_to_list(workspace, target, [contact.id], source=ui_source())
    else:
        target = load_in_workspace_or_404(Tag, workspace, form.target_id.data)
        tags.add_contacts_to_tag(workspace, target, [contact.id], source=ui_source())
    db.session.commit()
    return _membership_response(workspace, contact)


@bp.post("/<contact_id>/<kind>/<target_id>/remove")
@workspace_view(Permission.EDIT_CONTACTS)
def remove_membership(workspace, contact_id, kind, target_id):
    if kind not in ("lists", "tags"):
        abort(404)
    contact = load_in_workspace_or_404(Contact, workspace, contact_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if kind == "lists":
        target = load_in_workspace_or_404(ContactList, workspace, target_id)
        lists.remove_contacts_from_list(workspace, target, [contact.id], source=ui_source())
    else:
        target = load_in_workspace_or_404(Tag, workspace, target_id)
        tags.remove_contacts_from_tag(workspace, target, [contact.id], source=ui_source())
    db.session.commit()
    return _membership_response(workspace, contact)


# ---- bulk -------------------------------------------------------------------------------------

@bp.post("/bulk")
@workspace_view(Permission.EDIT_CONTACTS)
def bulk_action(workspace):
    """Step 1 (not confirmed): a confirm dialog that states the count. Step 2: apply it, all or
    nothing (see bulk.py)."""
    table = parse_table(request.form, workspace)
    form = BulkForm()
    _fill_bulk_choices(form, workspace_lists(workspace), workspace_tags(workspace), g.workspace_role)
    back = url_for(".index", workspace_id=workspace.id, **table.query_args())
    if request.form.get("action") == "delete" and not can(g.workspace_role, Permission.DELETE_CONTACTS):
        abort(403)
    if not form.validate_on_submit():
        return _bulk_problem(workspace, "Choose an action.", back)
    confirmed = form.confirmed.data == "yes"
    try:
        if confirmed:  # before planning: a resent delete would find nothing left to delete
            once.ensure_unsent(once.submitted_token(), current_user.id)
        plan = bulk.plan(workspace, form.action.data, table.filter, scope=form.scope.data,
                         contact_ids=request.form.getlist("contact_ids"), list_id=form.list_id.data,
                         tag_id=form.tag_id.data, status=form.new_status.data)
    except NotFound:
        abort(404)
    except once.Resubmitted as exc:
        return once.answer_resubmitted(exc, back)
    except (bulk.BulkError, once.FormExpired) as exc:
        return _bulk_problem(workspace, exc.message, back)
    if not confirmed:
        return render_dialog("contacts/_bulk_confirm.html", BULK_ACTIONS[form.action.data],
                             workspace=workspace, plan=plan, form=form, table=table, back=back)
    try:
        if plan.count > bulk.INLINE_LIMIT:
            job = bulk.queue_job(workspace, plan, ui_source(), current_user.id)
            # Claimed after the job is written (jobs.create sweeps on a connection of its own,
            # which must not wait for this transaction's lock on SQLite), committed with it.
            claim = once.claim(once.submitted_token(), current_user.id)
            progress_url = url_for(".bulk_progress", workspace_id=workspace.id, job_id=job.id,
                                   back=back)
            claim.done(progress_url)
            db.session.commit()
            jobs.start(job.id)
            return redirect_to(progress_url)
        once.claim(once.submitted_token(), current_user.id).done(back)
        message = bulk.apply(workspace, plan, source=ui_source())  # commits the claim with it
    except once.Resubmitted as exc:  # a sending racing this one won
        return once.answer_resubmitted(exc, back)
    except DomainError as exc:
        db.session.rollback()
        return _bulk_problem(workspace, f"Nothing was changed: {exc.message}", back)
    flash(message, "success")
    return redirect_to(back)


@bp.get("/bulk/<job_id>")
@workspace_view(Permission.EDIT_CONTACTS)
def bulk_progress(workspace, job_id):
    """A large bulk action's progress; the fragment polls itself until it is done or failed."""
    job = bulk.load_job(job_id, workspace, current_user.id)
    if job is None:
        abort(404)
    progress = jobs.progress_of(job)
    status = {"state": "running" if job.state in ("queued", "running") else job.state,
              "title": job.title, "done": progress.get("done", 0),
              "total": progress.get("total", 0), "message": job.result.get("message") or job.error}
    back = request.args.get("back", "")
    if not back.startswith(f"/w/{workspace.id}/contacts"):  # only ever back to this table
        back = url_for(".index", workspace_id=workspace.id)
    return render_page_or_fragment("contacts/bulk_progress.html", "contacts/_bulk_progress.html",
                                   workspace=workspace, job=status, job_id=job_id, back=back)


def _fill_bulk_choices(form: BulkForm, lists, tags, role) -> None:
    form.list_id.choices = [("", "Choose a list")] + [(str(x.id), x.name) for x in lists]
    form.tag_id.choices = [("", "Choose a tag")] + [(str(x.id), x.name) for x in tags]
    if not can(role, Permission.DELETE_CONTACTS):
        form.action.choices = [(k, v) for k, v in BULK_ACTIONS.items() if k != "delete"]


def _bulk_problem(workspace, message: str, back: str):
    return render_dialog("contacts/_bulk_confirm.html", "Nothing to do yet", 422,
                         workspace=workspace, problem=message, back=back, plan=None, form=None)


def init_app(app):
    from . import cli, group_views, import_views

    for blueprint in (bp, import_views.bp, group_views.lists_bp, group_views.tags_bp):
        app.register_blueprint(blueprint)
    cli.init_app(app)
    register_nav(app, *(NavItem("workspace", "", label, endpoint, Permission.EDIT_CONTACTS)
                        for label, endpoint in (("Contacts", "contacts.index"),
                                                ("Lists", "lists.index"), ("Tags", "tags.index"))))
