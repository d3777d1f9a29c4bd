"""The Lists and Tags pages: create, rename, delete (with a confirm that states the member count),
member counts linking to the filtered contacts table. Lists and tags behave the same in the UI,
so one set of views serves both, configured by a PageKind; the rules are the services'."""
from dataclasses import dataclass

from flask import Blueprint, flash, g, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import once
from ..extensions import db
from ..sqlutil import contains_text
from ..web import (ConfirmForm, commit_or_show_errors, load_in_workspace_or_404, redirect_to,
                   render_dialog, render_page_or_fragment, show_form_errors, workspace_view)
from . import groups, lists, optin, tags
from .forms import ListForm, TagForm, validated
from .groups import LISTS, TAGS, GroupKind
from ..policy import Permission, can
from .schemas import ListCreate, ListPatch, TagCreate, TagPatch

MAX_SEARCH = 100


@dataclass(frozen=True)
class PageKind:
    endpoint: str  # blueprint name and URL segment: "lists" or "tags"
    kind: GroupKind
    form: type
    create_schema: type
    patch_schema: type
    create: object  # service functions
    update: object
    delete: object

    @property
    def singular(self) -> str:
        return self.kind.label

    @property
    def title(self) -> str:
        return self.endpoint.title()

    @property
    def filter_param(self) -> str:
        """The contacts table's query parameter for this kind (?list=… / ?tag=…)."""
        return self.kind.label

    def schema_from(self, form, schema):
        """The form's values through the service schema (its rules; errors become inline)."""
        data = {"name": form.name.data or "", "description": form.description.data or ""}
        if hasattr(form, "color"):
            data["color"] = form.color.data or ""
        for setting in ("show_on_preferences", "double_opt_in"):
            if hasattr(form, setting):
                data[setting] = bool(getattr(form, setting).data)
        return validated(schema, data)


LIST_PAGES = PageKind("lists", LISTS, ListForm, ListCreate, ListPatch,
                      lists.create_list, lists.update_list, lists.delete_list)
TAG_PAGES = PageKind("tags", TAGS, TagForm, TagCreate, TagPatch,
                     tags.create_tag, tags.update_tag, tags.delete_tag)


def groups_with_counts(page_kind: PageKind, workspace, search: str = "") -> list[tuple]:
    """(group, member count) for the workspace, by name."""
    model = page_kind.kind.model
    query = select(model).where(model.workspace_id == workspace.id).order_by(model.name)
    if search:
        query = query.where(contains_text(model.name, search))
    items = list(db.session.scalars(query))
    counts = groups.member_counts(page_kind.kind, [i.id for i in items])
    return [(item, counts.get(item.id, 0)) for item in items]


def _delete_consequence(pk: PageKind, group) -> str:
    count = groups.member_count(pk.kind, group)
    if not count:
        return "It has no contacts."
    return (f"It has {count:,} contact{'' if count == 1 else 's'}. They stay in your workspace; "
            f"only the {pk.singular} and its memberships are removed.")


def make_blueprint(pk: PageKind) -> Blueprint:
    bp = Blueprint(pk.endpoint, __name__, url_prefix=f"/w/<workspace_id>/{pk.endpoint}")

    def context(workspace, **extra):
        return {"workspace": workspace, "kind": pk, **extra}

    @bp.get("")
    @workspace_view(Permission.EDIT_CONTACTS)
    def index(workspace):
        search = request.args.get("q", "").strip()[:MAX_SEARCH]
        rows = groups_with_counts(pk, workspace, search)
        return render_page_or_fragment(
            "lists/index.html", "lists/_table.html",
            **context(workspace, rows=rows, search=search, can_delete=can(g.workspace_role, Permission.DELETE_CONTACTS)))

    def form_response(workspace, form, group=None, status=200):
        """The new/edit side panel; a 422 answers the panel's own form, which replaces itself."""
        title = f"Edit {pk.singular}" if group else f"New {pk.singular}"
        return render_dialog("lists/_form.html", title, status, in_place=status == 422,
                             side_panel=True, **context(workspace, form=form, group=group,
                                                        can_mail_contacts=optin.can_mail(workspace.id)))

    def save(workspace, form, group=None):
        """Create or update through the services: the saved group, or None with the errors on
        the form."""
        def action():
            if group is None:
                return pk.create(workspace, pk.schema_from(form, pk.create_schema))
            return pk.update(workspace, group.id, pk.schema_from(form, pk.patch_schema))

        return commit_or_show_errors(form, action, conflict_field="name")

    @bp.route("/new", methods=["GET", "POST"])
    @workspace_view(Permission.EDIT_CONTACTS)
    def new(workspace):
        form = pk.form()
        if request.method == "GET":
            return form_response(workspace, form)
        back = url_for(".index", workspace_id=workspace.id)
        group = None
        if form.validate_on_submit():
            try:  # sent again (a double click), it says so instead of "already exists"
                once.claim(once.submitted_token(), current_user.id).done(back)
            except once.Resubmitted as exc:
                return once.answer_resubmitted(exc, back)
            except once.FormExpired as exc:
                show_form_errors(form, exc)
            else:
                group = save(workspace, form)
        if group is None:
            return form_response(workspace, form, status=422)
        flash(f"{pk.singular.title()} “{group.name}” created.", "success")
        return redirect_to(back)

    @bp.route("/<group_id>/edit", methods=["GET", "POST"])
    @workspace_view(Permission.EDIT_CONTACTS)
    def edit(workspace, group_id):
        group = load_in_workspace_or_404(pk.kind.model, workspace, group_id)
        form = pk.form(obj=group)
        if request.method == "GET":
            return form_response(workspace, form, group)
        saved = save(workspace, form, group) if form.validate_on_submit() else None
        if saved is None:
            group = load_in_workspace_or_404(pk.kind.model, workspace, group_id)  # after rollback
            return form_response(workspace, form, group, status=422)
        flash(f"{pk.singular.title()} “{saved.name}” saved.", "success")
        return redirect_to(url_for(".index", workspace_id=workspace.id))

    @bp.route("/<group_id>/delete", methods=["GET", "POST"])
    @workspace_view(Permission.DELETE_CONTACTS)
    def delete(workspace, group_id):
        group = load_in_workspace_or_404(pk.kind.model, workspace, group_id)
        if request.method == "POST" and ConfirmForm().validate_on_submit():
            name = group.name
            pk.delete(workspace, group.id)
            db.session.commit()
            flash(f"{pk.singular.title()} “{name}” deleted. Its contacts were kept.", "success")
            return redirect_to(url_for(".index", workspace_id=workspace.id))
        return render_dialog(
            "_confirm.html", f"Delete the {pk.singular} “{group.name}”?",
            **context(workspace, consequence=_delete_consequence(pk, group),
                      action_url=url_for(".delete", workspace_id=workspace.id, group_id=group.id),
                      button=f"Delete {pk.singular}",
                      cancel_url=url_for(".index", workspace_id=workspace.id)))

    return bp


lists_bp = make_blueprint(LIST_PAGES)
tags_bp = make_blueprint(TAG_PAGES)
