"""/campaigns: CRUD of email campaigns and their target lists."""
import uuid

from flask import g, url_for

from ...campaigns import services
from ...campaigns.schemas import (CampaignCreate, CampaignOut, CampaignPage, CampaignPatch,
                                  CampaignQuery)
from ...extensions import db
from ..operations import operation

TAG = "Campaigns"
RULE = "/campaigns/<uuid:campaign_id>"


@operation("GET", "/campaigns", summary="List campaigns", tag=TAG, query=CampaignQuery,
           response=CampaignPage)
def list_campaigns(query: CampaignQuery):
    page = services.list_campaigns(g.workspace, query)
    return CampaignPage(data=[CampaignOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@operation("POST", "/campaigns", summary="Create a campaign", tag=TAG, body=CampaignCreate,
           response=CampaignOut, status=201, problems=(404,),
           description="404 if a list id is not a list of this workspace.")
def create_campaign(body: CampaignCreate):
    campaign = services.create_campaign(g.workspace, body)
    db.session.commit()
    return CampaignOut.of(campaign), {"Location": url_for("api.show_campaign",
                                                          campaign_id=campaign.id)}


@operation("GET", RULE, summary="Get a campaign", tag=TAG, response=CampaignOut)
def show_campaign(campaign_id: uuid.UUID):
    return CampaignOut.of(services.get_campaign(g.workspace, campaign_id))


@operation("PUT", RULE, summary="Replace a campaign", tag=TAG, body=CampaignCreate,
           response=CampaignOut)
def replace_campaign(campaign_id: uuid.UUID, body: CampaignCreate):
    campaign = services.update_campaign(g.workspace, campaign_id, body, replace=True)
    db.session.commit()
    return CampaignOut.of(campaign)


@operation("PATCH", RULE, summary="Update some fields of a campaign", tag=TAG,
           body=CampaignPatch, response=CampaignOut)
def update_campaign(campaign_id: uuid.UUID, body: CampaignPatch):
    campaign = services.update_campaign(g.workspace, campaign_id, body)
    db.session.commit()
    return CampaignOut.of(campaign)


@operation("DELETE", RULE, summary="Delete a campaign", tag=TAG, status=204)
def delete_campaign(campaign_id: uuid.UUID):
    services.delete_campaign(g.workspace, campaign_id)
    db.session.commit()
