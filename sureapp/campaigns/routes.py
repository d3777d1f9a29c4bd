"""Campaigns pages: the list, one page per campaign with its counts, and its send, pause,
resume and cancel actions (Manager+). Sending states the recipient count in its confirm dialog;
every action is a real form post (works without JavaScript)."""
from flask import Blueprint, flash, g, render_template, url_for

from ..errors import DomainError
from ..extensions import db
from ..policy import Permission, can
from ..sending import transport
from ..web import (ConfirmForm, NavItem, redirect_to, register_nav, render_dialog,
                   workspace_view)
from . import sending, services
from .schemas import CampaignQuery
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


@bp.get("")
@workspace_view(Permission.OPEN_WORKSPACE)
def index(workspace):
    page = services.list_campaigns(workspace, CampaignQuery(limit=PER_PAGE))
    return render_template("campaigns/index.html", workspace=workspace, campaigns=page.items,
                           stats=stats_of([c.id for c in page.items]))


@bp.get("/<campaign_id>")
@workspace_view(Permission.OPEN_WORKSPACE)
def show(workspace, campaign_id):
    campaign = services.get_campaign(workspace, campaign_id)
    return render_template("campaigns/show.html", workspace=workspace, campaign=campaign,
                           stats=stats_of([campaign.id])[campaign.id], form=ConfirmForm(),
                           can_send=transport.can_send(workspace.id),
                           may_send=can(g.get("workspace_role"), Permission.SEND_CAMPAIGNS),
                           audience=sending.audience_size(campaign)
                           if campaign.status == "draft" else None)


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
