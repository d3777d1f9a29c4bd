"""Campaigns: CRUD with their target lists. Never commits: the caller owns the transaction.
Sending (and every status change) is campaigns/sending.py."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..contacts import groups
from ..contacts.groups import LISTS
from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import Campaign, Workspace
from ..pagination import Page, keyset_page, newest_first
from ..sending import render
from ..tenancy.access import row_in_workspace
from .schemas import CampaignCreate, CampaignPatch, CampaignQuery

FIELDS = ("name", "subject", "from_name", "from_email", "content_html", "scheduled_at",
          "send_per_hour")
TEMPLATES = ("subject", "content_html")  # rendered per contact: checked when saved
UNDELETABLE = ("scheduled", "sending")  # paused or cancelled first


class CampaignLocked(Conflict):
    """The campaign's status does not allow this change (409)."""


def get_campaign(workspace: Workspace, campaign_id) -> Campaign:
    campaign = row_in_workspace(Campaign, workspace.id, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def list_campaigns(workspace: Workspace, query: CampaignQuery) -> Page[Campaign]:
    stmt = select(Campaign).options(selectinload(Campaign.lists)).where(
        Campaign.workspace_id == workspace.id)
    if query.status:
        stmt = stmt.where(Campaign.status == query.status)
    return keyset_page(stmt, newest_first(Campaign), query.limit, query.cursor)


def ensure_editable(campaign: Campaign, fields: set[str]) -> None:
    """What recipients get must not change under a send: once it started only the name may
    change, and a scheduled campaign is paused first."""
    if not fields - {"name"}:
        return
    if campaign.status == "scheduled":
        raise CampaignLocked("This campaign is scheduled: pause it to change it.")
    if campaign.started_at is not None or campaign.status not in ("draft", "paused"):
        raise CampaignLocked(f"This campaign is {campaign.status}: only its name can be "
                             "changed now.")


def _apply(workspace: Workspace, campaign: Campaign, data, fields: set[str]) -> None:
    render.check({name: getattr(data, name) for name in TEMPLATES if name in fields})
    for name in FIELDS:
        if name in fields:
            setattr(campaign, name, getattr(data, name))
    if "list_ids" in fields:
        campaign.lists = groups.resolve_groups(LISTS, workspace, data.list_ids)


def _fields(data, replace: bool) -> set[str]:
    given = set(CampaignCreate.model_fields) if replace else set(data.model_fields_set)
    return given - {"status"}  # refused by the schema when sent; never a field to write


def create_campaign(workspace: Workspace, data: CampaignCreate) -> Campaign:
    campaign = Campaign(workspace_id=workspace.id, status="draft")
    _apply(workspace, campaign, data, _fields(data, replace=True))
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update_campaign(workspace: Workspace, campaign_id, data: CampaignCreate | CampaignPatch,
                    replace: bool = False) -> Campaign:
    """PUT (replace=True: every field) or PATCH (only the fields sent)."""
    campaign = get_campaign(workspace, campaign_id)
    fields = _fields(data, replace)
    if replace:  # a PUT that repeats what a started campaign has changes nothing locked
        fields = {f for f in fields if f == "name" or _differs(campaign, data, f)}
    ensure_editable(campaign, fields)
    with db.session.no_autoflush:
        _apply(workspace, campaign, data, fields)
    db.session.flush()
    return campaign


def _differs(campaign: Campaign, data, field: str) -> bool:
    if field == "list_ids":
        return {i.id for i in campaign.lists} != set(data.list_ids)
    return getattr(campaign, field) != getattr(data, field)


def delete_campaign(workspace: Workspace, campaign_id) -> None:
    """Delete a campaign with its recipient rows and counts; the contacts keep their status
    (a bounce or an unsubscribe stays). One that is sending or scheduled is paused first."""
    campaign = get_campaign(workspace, campaign_id)
    if campaign.status in UNDELETABLE:
        raise CampaignLocked(f"This campaign is {campaign.status}: pause or cancel it before "
                             "deleting it.")
    db.session.delete(campaign)
    db.session.flush()
