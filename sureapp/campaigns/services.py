"""Campaigns: CRUD with their target lists. Never commits: the caller owns the transaction."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..contacts import groups
from ..contacts.groups import LISTS
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..models import Campaign, Workspace
from ..pagination import Page, keyset_page, newest_first
from .schemas import CampaignCreate, CampaignPatch, CampaignQuery

FIELDS = ("name", "subject", "from_name", "from_email", "content_html", "status", "scheduled_at")


def get_campaign(workspace: Workspace, campaign_id) -> Campaign:
    campaign = db.session.scalar(select(Campaign).options(selectinload(Campaign.lists)).where(
        Campaign.id == campaign_id, Campaign.workspace_id == workspace.id))
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def list_campaigns(workspace: Workspace, query: CampaignQuery) -> Page[Campaign]:
    stmt = select(Campaign).options(selectinload(Campaign.lists)).where(
        Campaign.workspace_id == workspace.id)
    if query.status:
        stmt = stmt.where(Campaign.status == query.status)
    return keyset_page(stmt, newest_first(Campaign), query.limit, query.cursor)


def _apply(workspace: Workspace, campaign: Campaign, data, fields: set[str]) -> None:
    for name in FIELDS:
        if name in fields:
            setattr(campaign, name, getattr(data, name))
    if "list_ids" in fields:
        campaign.lists = groups.resolve_groups(LISTS, workspace, data.list_ids)
    if campaign.status == "scheduled" and campaign.scheduled_at is None:
        raise ValidationFailed({"scheduled_at": ["Required when the status is 'scheduled'."]})


def create_campaign(workspace: Workspace, data: CampaignCreate) -> Campaign:
    campaign = Campaign(workspace_id=workspace.id)
    _apply(workspace, campaign, data, set(CampaignCreate.model_fields))
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update_campaign(workspace: Workspace, campaign_id, data: CampaignCreate | CampaignPatch,
                    replace: bool = False) -> Campaign:
    """PUT (replace=True: every field) or PATCH (only the fields sent)."""
    campaign = get_campaign(workspace, campaign_id)
    fields = set(CampaignCreate.model_fields) if replace else set(data.model_fields_set)
    with db.session.no_autoflush:
        _apply(workspace, campaign, data, fields)
    db.session.flush()
    return campaign


def delete_campaign(workspace: Workspace, campaign_id) -> None:
    db.session.delete(get_campaign(workspace, campaign_id))
    db.session.flush()
