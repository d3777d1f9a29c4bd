"""/campaigns: CRUD of email campaigns and their target lists; send, pause, resume, cancel."""
import uuid

from ..campaigns import sending, services
from ..campaigns.schemas import (CampaignCreate, CampaignOut, CampaignPage, CampaignPatch,
                                 CampaignQuery)
from ..campaigns.stats import stats_of
from ..sending import transport
from ..sending.schemas import SmtpConnectionList, SmtpConnectionOut
from .registry import Caller, acknowledged, operation

RESOURCE = "campaigns"
TAG = "Campaigns"
RULE = "/campaigns/<uuid:campaign_id>"
LOCKED = ("409 if the campaign has started sending (only its name may change) or is "
          "scheduled (pause it first).")


@operation("GET", "/campaigns", summary="List campaigns", tag=TAG,
           resource=RESOURCE, query=CampaignQuery,
           response=CampaignPage)
def list_campaigns(caller: Caller, query: CampaignQuery):
    page = services.list_campaigns(caller.workspace, query)
    stats = stats_of([c.id for c in page.items])
    return CampaignPage(data=[CampaignOut.of(c, stats[c.id]) for c in page.items],
                        next_cursor=page.next_cursor)


@operation("POST", "/campaigns", summary="Create a campaign", tag=TAG,
           resource=RESOURCE, body=CampaignCreate,
           response=CampaignOut, status=201, problems=(404,), location="show_campaign",
           description="A new draft; nothing is sent until POST …/send. 404 if a list id is "
                       "not a list of this workspace; 422 for an unknown merge tag.")
def create_campaign(caller: Caller, body: CampaignCreate):
    return CampaignOut.of(services.create_campaign(caller.workspace, body))


@operation("GET", RULE, summary="Get a campaign", tag=TAG, resource=RESOURCE, response=CampaignOut)
def show_campaign(caller: Caller, campaign_id: uuid.UUID):
    return CampaignOut.of(services.get_campaign(caller.workspace, campaign_id))


@operation("PUT", RULE, summary="Replace a campaign", tag=TAG,
           resource=RESOURCE, body=CampaignCreate,
           response=CampaignOut, problems=(409,), description=LOCKED)
def replace_campaign(caller: Caller, campaign_id: uuid.UUID, body: CampaignCreate):
    return CampaignOut.of(services.update_campaign(caller.workspace, campaign_id, body,
                                                   replace=True))


@operation("PATCH", RULE, summary="Update some fields of a campaign", tag=TAG, resource=RESOURCE,
           body=CampaignPatch, response=CampaignOut, problems=(409,), description=LOCKED)
def update_campaign(caller: Caller, campaign_id: uuid.UUID, body: CampaignPatch):
    return CampaignOut.of(services.update_campaign(caller.workspace, campaign_id, body))


@operation("DELETE", RULE, summary="Delete a campaign", tag=TAG, resource=RESOURCE, status=204,
           problems=(409,),
           description="Deletes the campaign with its recipients and counts (contacts keep "
                       "their status). 409 while it is scheduled or sending: pause or cancel "
                       "it first.")
def delete_campaign(caller: Caller, campaign_id: uuid.UUID):
    services.delete_campaign(caller.workspace, campaign_id)
    return acknowledged("deleted", campaign_id=campaign_id)


@operation("POST", f"{RULE}/send", summary="Send a campaign", tag=TAG, resource=RESOURCE,
           response=CampaignOut, status=202, problems=(409,),
           description="Sends a draft to the active contacts of its lists, each once: at once, "
                       "or at its `scheduled_at` when that is in the future (status "
                       "`scheduled`), at most `send_per_hour` an hour. 409 if it is not a "
                       "draft or the workspace cannot send (no SMTP connection or SMTP_URL, a "
                       "From address no connection allows); 422 if it lacks a subject, "
                       "content, lists or anybody to send to.")
def send_campaign(caller: Caller, campaign_id: uuid.UUID):
    return CampaignOut.of(sending.send_campaign(caller.workspace, campaign_id))


@operation("POST", f"{RULE}/pause", summary="Pause a campaign", tag=TAG, resource=RESOURCE,
           response=CampaignOut, problems=(409,),
           description="Stops a scheduled or sending campaign until it is resumed (a mail "
                       "being handed over finishes). 409 in any other status.")
def pause_campaign(caller: Caller, campaign_id: uuid.UUID):
    return CampaignOut.of(sending.pause_campaign(caller.workspace, campaign_id))


@operation("POST", f"{RULE}/resume", summary="Resume a campaign", tag=TAG, resource=RESOURCE,
           response=CampaignOut, problems=(409,),
           description="Continues a paused campaign where it stopped (nobody gets it twice). "
                       "409 unless it is paused or if the workspace cannot send.")
def resume_campaign(caller: Caller, campaign_id: uuid.UUID):
    return CampaignOut.of(sending.resume_campaign(caller.workspace, campaign_id))


@operation("POST", f"{RULE}/cancel", summary="Cancel a campaign", tag=TAG, resource=RESOURCE,
           response=CampaignOut, problems=(409,),
           description="Stops a scheduled, sending or paused campaign for good: mails not yet "
                       "sent are skipped. 409 in any other status.")
def cancel_campaign(caller: Caller, campaign_id: uuid.UUID):
    return CampaignOut.of(sending.cancel_campaign(caller.workspace, campaign_id))


@operation("GET", "/campaigns/smtp-connections", summary="List SMTP connections", tag=TAG,
           resource=RESOURCE, response=SmtpConnectionList,
           description="The SMTP connections campaigns of this workspace are sent through "
                       "(read-only here: they are managed in Settings → Sending). The password "
                       "is never returned; `has_password` says whether one is stored.")
def list_smtp_connections(caller: Caller):
    return SmtpConnectionList(data=[SmtpConnectionOut.of(c) for c in
                                    transport.connections(caller.workspace.id)])
