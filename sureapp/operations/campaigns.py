"""/campaigns: CRUD of email campaigns and their target lists."""
import uuid

from ..campaigns import services
from ..campaigns.schemas import (CampaignCreate, CampaignOut, CampaignPage, CampaignPatch,
                                 CampaignQuery)
from .registry import Caller, acknowledged, operation

RESOURCE = "campaigns"
TAG = "Campaigns"
RULE = "/campaigns/<uuid:campaign_id>"


@operation("GET", "/campaigns", summary="List campaigns", tag=TAG,
           resource=RESOURCE, query=CampaignQuery,
           response=CampaignPage)
def list_campaigns(caller: Caller, query: CampaignQuery):
    page = services.list_campaigns(caller.workspace, query)
    return CampaignPage(data=[CampaignOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@operation("POST", "/campaigns", summary="Create a campaign", tag=TAG,
           resource=RESOURCE, body=CampaignCreate,
           response=CampaignOut, status=201, problems=(404,), location="show_campaign",
           description="404 if a list id is not a list of this workspace.")
def create_campaign(caller: Caller, body: CampaignCreate):
    return CampaignOut.of(services.create_campaign(caller.workspace, body))


@operation("GET", RULE, summary="Get a campaign", tag=TAG, resource=RESOURCE, response=CampaignOut)
def show_campaign(caller: Caller, campaign_id: uuid.UUID):
    return CampaignOut.of(services.get_campaign(caller.workspace, campaign_id))


@operation("PUT", RULE, summary="Replace a campaign", tag=TAG,
           resource=RESOURCE, body=CampaignCreate,
           response=CampaignOut)
def replace_campaign(caller: Caller, campaign_id: uuid.UUID, body: CampaignCreate):
    return CampaignOut.of(services.update_campaign(caller.workspace, campaign_id, body,
                                                   replace=True))


@operation("PATCH", RULE, summary="Update some fields of a campaign", tag=TAG, resource=RESOURCE,
           body=CampaignPatch, response=CampaignOut)
def update_campaign(caller: Caller, campaign_id: uuid.UUID, body: CampaignPatch):
    return CampaignOut.of(services.update_campaign(caller.workspace, campaign_id, body))


@operation("DELETE", RULE, summary="Delete a campaign", tag=TAG, resource=RESOURCE, status=204)
def delete_campaign(caller: Caller, campaign_id: uuid.UUID):
    services.delete_campaign(caller.workspace, campaign_id)
    return acknowledged("deleted", campaign_id=campaign_id)
