"""Campaigns pages: the list, one page per campaign with its counts and a preview of its mail,
the new/edit form, and its send, pause, resume, cancel and delete actions (Manager+:
`SEND_CAMPAIGNS`). Saving goes through services.py, as the API's writes do; sending states the
recipient count in its confirm dialog; every action is a real form post (works without
JavaScript)."""
from flask import Blueprint, current_app, flash, g, render_template, request, url_for
from flask_login import current_user
from markupsafe import escape
from sqlalchemy import select

from .. import once
from ..contacts import groups
from ..contacts.groups import LISTS
from ..errors import DomainError, NotFound, ValidationFailed
from ..extensions import db
from ..models import Campaign, ContactList
from ..policy import Permission, can
from ..schema_types import validated
from ..sending import render, transport
from ..web import (ConfirmForm, NavItem, commit_or_show_errors, load_in_workspace_or_404,
                   redirect_to, register_nav, render_dialog, render_page_or_fragment,
                   show_form_errors, workspace_view)
from . import sending, services
from .forms import CampaignForm
from .schemas import CampaignCreate, CampaignQuery
from .stats import stats_of

bp = Blueprint("campaigns", __name__, url_prefix="/w/<workspace_id>/campaigns")
PER_PAGE = 50

ACTIONS = {  # action: (title, button, style, consequence)
    "pause": ("Pause campaign", "Pause", "btn-primary",
              "No more mails go out until you resume it; nobody gets it twice."),
    "resume": ("Resume campaign", "Resume", "btn-primary",
               "Sending continues where it stopped."),
    "cancel": ("Cancel campaign", "Cancel sending", "btn-danger",
               "Mails not yet sent are never sent; this cannot be undone."),
}


def _show_url(workspace, campaign) -> str:
    return url_for("campaigns.show", workspace_id=workspace.id, campaign_id=campaign.id)


# The preview is the user's HTML as recipients get it: no script runs (the sandbox makes it a
# unique origin even when opened on its own), only this app may frame it, styles and images in
# the mail are shown as a mail client would.
PREVIEW_CSP = "; ".join((
    "sandbox", "default-src 'none'", "style-src 'unsafe-inline'", "img-src https: data:",
    "font-src https: data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'self'",
))


def _may_edit() -> bool:
    return can(g.get("workspace_role"), Permission.SEND_CAMPAIGNS)


@bp.get("")
@workspace_view(Permission.OPEN_WORKSPACE)
def index(workspace):
    page = services.list_campaigns(workspace, CampaignQuery(limit=PER_PAGE))
    return render_template("campaigns/index.html", workspace=workspace, campaigns=page.items,
                           stats=stats_of([c.id for c in page.items]), may_edit=_may_edit())


@bp.get("/<campaign_id>")
@workspace_view(Permission.OPEN_WORKSPACE)
def show(workspace, campaign_id):
    campaign = services.get_campaign(workspace, campaign_id)
    try:
        sample, is_sample, subject, _ = sending.preview(campaign)
        preview = {"contact": sample, "is_sample": is_sample, "subject": subject, "problem": ""}
    except render.TemplateProblem as exc:  # saved before the check existed: say so, never 500
        preview = {"problem": exc.message}
    return render_template("campaigns/show.html", workspace=workspace, campaign=campaign,
                           stats=stats_of([campaign.id])[campaign.id], form=ConfirmForm(),
                           can_send=transport.can_send(workspace.id), may_send=_may_edit(),
                           audience=sending.audience_size(campaign)
                           if campaign.status == "draft" else None, preview=preview,
                           may_delete=campaign.status not in services.UNDELETABLE)


@bp.get("/<campaign_id>/preview")
@workspace_view(Permission.OPEN_WORKSPACE)
def preview(workspace, campaign_id):
    """The campaign's HTML for its first recipient, framed by the show page (sandboxed)."""
    campaign = services.get_campaign(workspace, campaign_id)
    try:
        html = sending.preview(campaign)[3]
    except render.TemplateProblem as exc:
        html = f"<p>This campaign cannot be rendered: {escape(exc.message)}</p>"
    response = current_app.make_response(html)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


# ---- new / edit / delete --------------------------------------------------------------------------

def _offer(form: CampaignForm, workspace) -> None:
    lists = list(db.session.scalars(select(ContactList).where(
        ContactList.workspace_id == workspace.id).order_by(ContactList.name)))
    form.offer(lists, groups.member_counts(LISTS, [lst.id for lst in lists]))


def _from_addresses(workspace) -> tuple[list[str], list[str]]:
    """(full addresses, @domains) the workspace's SMTP connections may send as."""
    entries = dict.fromkeys(a for c in transport.connections(workspace.id)
                            for a in c.from_addresses)
    return [a for a in entries if not a.startswith("@")], [a for a in entries if a.startswith("@")]


def _form_page(workspace, form, campaign=None, status=200):
    template = "campaigns/edit.html" if campaign else "campaigns/new.html"
    addresses, domains = _from_addresses(workspace)
    locked = ""
    if campaign is not None:
        try:  # said before anything is typed: what may still change
            services.ensure_editable(campaign, {"content_html"})
        except services.CampaignLocked as exc:
            locked = exc.message
    return render_page_or_fragment(
        template, "campaigns/_form.html", status, workspace=workspace, form=form,
        campaign=campaign, merge_tags=render.MERGE_TAGS, from_addresses=addresses,
        from_domains=domains, can_send=transport.can_send(workspace.id), locked=locked)


def _save(form, save):
    """commit_or_show_errors, with the services' refusals on the fields they name: a list that
    is not this workspace's (NotFound), an id that is no id ("list_ids.0"); a refusal by the
    schema also names the merge-tag problems the service would find next, so one round shows
    them all."""
    def run():
        try:
            return save()
        except NotFound as exc:  # the campaign itself was loaded before: this is a list
            raise ValidationFailed({"list_ids": [exc.message]}) from None
        except ValidationFailed as exc:
            errors: dict[str, list[str]] = {}
            for key, messages in exc.errors.items():
                errors.setdefault(key.split(".")[0], []).extend(messages)
            for name in services.TEMPLATES:
                if name not in errors and (found := render.problems(form[name].data or "")):
                    errors[name] = found
            raise ValidationFailed(errors, exc.message) from None

    return commit_or_show_errors(form, run)


@bp.route("/new", methods=["GET", "POST"])
@workspace_view(Permission.SEND_CAMPAIGNS)
def new(workspace):
    form = CampaignForm()
    _offer(form, workspace)
    if request.method == "GET":
        return _form_page(workspace, form)
    created = None
    if form.validate_on_submit():
        values = form.values(workspace.timezone)
        if not form.scheduled_at.errors:
            back = url_for(".index", workspace_id=workspace.id)
            try:  # sent again (a double click), it goes to the campaign, not to a second one
                claim = once.claim(once.submitted_token(), current_user.id)
            except once.Resubmitted as exc:
                return once.answer_resubmitted(exc, back)
            except once.FormExpired as exc:
                show_form_errors(form, exc)
            else:
                def create():
                    campaign = services.create_campaign(
                        workspace, validated(CampaignCreate, values))
                    claim.done(_show_url(workspace, campaign))
                    return campaign

                created = _save(form, create)
    if created is None:
        return _form_page(workspace, form, status=422)
    flash(f"Campaign “{created.name}” created as a draft.", "success")
    return redirect_to(_show_url(workspace, created))


@bp.route("/<campaign_id>/edit", methods=["GET", "POST"])
@workspace_view(Permission.SEND_CAMPAIGNS)
def edit(workspace, campaign_id):
    campaign = load_in_workspace_or_404(Campaign, workspace, campaign_id)
    form = CampaignForm()
    _offer(form, workspace)
    if request.method == "GET":
        form.show(campaign, workspace.timezone)
        return _form_page(workspace, form, campaign)
    saved = None
    if form.validate_on_submit():
        values = form.values(workspace.timezone)
        stored = campaign.scheduled_at
        if stored and values["scheduled_at"] == stored.replace(second=0, microsecond=0):
            values["scheduled_at"] = stored  # the form shows minutes: unchanged is unchanged
        if not form.scheduled_at.errors:
            # Every field, as a PUT: the service keeps what is unchanged out of the lock rule,
            # so renaming a campaign that is sending works and anything else is refused.
            saved = _save(form, lambda: services.update_campaign(
                workspace, campaign.id, validated(CampaignCreate, values), replace=True))
    if saved is None:
        campaign = load_in_workspace_or_404(Campaign, workspace, campaign_id)  # after rollback
        return _form_page(workspace, form, campaign, status=422)
    flash(f"Campaign “{saved.name}” saved.", "success")
    return redirect_to(_show_url(workspace, saved))


def _delete_consequence(campaign) -> str:
    if campaign.started_at is None:
        return "The campaign is deleted; nobody has been sent it. This cannot be undone."
    return ("The campaign and its statistics are deleted. Its contacts keep what the send did "
            "(bounced, unsubscribed), and the unsubscribe links in mails already sent keep "
            "working. This cannot be undone.")


@bp.route("/<campaign_id>/delete", methods=["GET", "POST"])
@workspace_view(Permission.SEND_CAMPAIGNS)
def delete(workspace, campaign_id):
    campaign = load_in_workspace_or_404(Campaign, workspace, campaign_id)
    error, status = "", 200
    if request.method == "POST":
        if ConfirmForm().validate_on_submit():
            name = campaign.name
            try:
                services.delete_campaign(workspace, campaign.id)
                db.session.commit()
            except DomainError as exc:  # scheduled or sending: pause or cancel it first
                db.session.rollback()
                campaign = load_in_workspace_or_404(Campaign, workspace, campaign_id)
                error = exc.message
            else:
                flash(f"Campaign “{name}” deleted.", "success")
                return redirect_to(url_for(".index", workspace_id=workspace.id))
        status = 422
    return render_dialog(
        "_confirm.html", f"Delete the campaign “{campaign.name}”?", status, workspace=workspace,
        consequence=_delete_consequence(campaign), button="Delete campaign", error=error,
        action_url=url_for(".delete", workspace_id=workspace.id, campaign_id=campaign.id),
        cancel_url=_show_url(workspace, campaign), answer_in_dialog=True)


def _confirm(workspace, campaign, action: str, status: int = 200, error: str = ""):
    if action == "send":
        count = sending.audience_size(campaign)
        when = campaign.scheduled_at
        title, button, style = "Send campaign", "Send now" if not when else "Schedule", "btn-primary"
        consequence = (f"{count} contact{'s' if count != 1 else ''} will get this campaign"
                       + (" at its scheduled time." if when else ", starting now.")
                       + (f" At most {campaign.send_per_hour} an hour." if campaign.send_per_hour
                          else "") + " Unsubscribed, bounced and pending contacts never do.")
    else:
        title, button, style, consequence = ACTIONS[action]
    return render_dialog("_confirm.html", title, status, workspace=workspace,
                         consequence=consequence, subject=campaign.name, button=button,
                         button_style=style, error=error,
                         action_url=url_for(f"campaigns.{action}", workspace_id=workspace.id,
                                            campaign_id=campaign.id),
                         cancel_url=_show_url(workspace, campaign), answer_in_dialog=True)


def _act(workspace, campaign_id, action: str, run):
    campaign = services.get_campaign(workspace, campaign_id)
    if not ConfirmForm().validate_on_submit():
        return _confirm(workspace, campaign, action, 422)
    try:
        run(workspace, campaign.id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        campaign = services.get_campaign(workspace, campaign_id)
        return _confirm(workspace, campaign, action, 422, error=_message(exc))
    flash({"send": "The campaign is on its way." if campaign.status == "sending"
           else "The campaign is scheduled.", "pause": "Paused the campaign.",
           "resume": "Resumed the campaign.", "cancel": "Cancelled the campaign."}[action],
          "success")
    return redirect_to(_show_url(workspace, campaign))


def _message(exc: DomainError) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        return exc.message + " " + " ".join(m for messages in errors.values() for m in messages)
    return exc.message


@bp.get("/<campaign_id>/send")
@workspace_view(Permission.SEND_CAMPAIGNS)
def confirm_send(workspace, campaign_id):
    return _confirm(workspace, services.get_campaign(workspace, campaign_id), "send")


@bp.post("/<campaign_id>/send")
@workspace_view(Permission.SEND_CAMPAIGNS)
def send(workspace, campaign_id):
    return _act(workspace, campaign_id, "send", sending.send_campaign)


@bp.get("/<campaign_id>/pause")
@workspace_view(Permission.SEND_CAMPAIGNS)
def confirm_pause(workspace, campaign_id):
    return _confirm(workspace, services.get_campaign(workspace, campaign_id), "pause")


@bp.post("/<campaign_id>/pause")
@workspace_view(Permission.SEND_CAMPAIGNS)
def pause(workspace, campaign_id):
    return _act(workspace, campaign_id, "pause", sending.pause_campaign)


@bp.get("/<campaign_id>/resume")
@workspace_view(Permission.SEND_CAMPAIGNS)
def confirm_resume(workspace, campaign_id):
    return _confirm(workspace, services.get_campaign(workspace, campaign_id), "resume")


@bp.post("/<campaign_id>/resume")
@workspace_view(Permission.SEND_CAMPAIGNS)
def resume(workspace, campaign_id):
    return _act(workspace, campaign_id, "resume", sending.resume_campaign)


@bp.get("/<campaign_id>/cancel")
@workspace_view(Permission.SEND_CAMPAIGNS)
def confirm_cancel(workspace, campaign_id):
    return _confirm(workspace, services.get_campaign(workspace, campaign_id), "cancel")


@bp.post("/<campaign_id>/cancel")
@workspace_view(Permission.SEND_CAMPAIGNS)
def cancel(workspace, campaign_id):
    return _act(workspace, campaign_id, "cancel", sending.cancel_campaign)


@bp.after_request
def _vary_on_htmx(response):
    response.vary.add("HX-Request")
    return response


def init_app(app):
    app.register_blueprint(bp)
    register_nav(app, NavItem("workspace", "", "Campaigns", "campaigns.index",
                              Permission.OPEN_WORKSPACE))
