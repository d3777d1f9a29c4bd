"""Campaign schemas, shared by the API, MCP and any UI."""
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..contacts.schemas import IdList, Listing
from ..schema_types import Name, OptionalEmail, Patch, ShortText, Strict, UtcDatetime, text

CampaignStatus = Literal["draft", "scheduled", "sent"]
Html = text(100_000)


class CampaignCreate(Strict):
    """A new campaign (POST) or the full replacement of one (PUT)."""

    # The document says what the service enforces: a scheduled campaign names its time.
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"status": {"const": "scheduled"}}, "required": ["status"]},
        "then": {"required": ["scheduled_at"],
                 "properties": {"scheduled_at": {"type": "string", "format": "date-time"}}}})

    name: Name
    subject: ShortText = ""
    from_name: ShortText = ""
    from_email: OptionalEmail = ""
    content_html: Html = ""
    list_ids: IdList = Field(default_factory=list, description="Lists of this workspace.")
    status: CampaignStatus = "draft"
    scheduled_at: UtcDatetime | None = Field(None, description="Required when status is "
                                                               "'scheduled'; ISO 8601.")


class CampaignPatch(Patch):
    name: Name = None
    subject: ShortText = None
    from_name: ShortText = None
    from_email: OptionalEmail = None
    content_html: Html = None
    list_ids: IdList = None
    status: CampaignStatus = None
    scheduled_at: UtcDatetime | None = None


class CampaignQuery(Listing):
    status: CampaignStatus | None = None


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    subject: str
    from_name: str
    from_email: str
    content_html: str
    list_ids: list[uuid.UUID]
    status: CampaignStatus
    scheduled_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, campaign) -> "CampaignOut":
        return cls(id=campaign.id, name=campaign.name, subject=campaign.subject,
                   from_name=campaign.from_name, from_email=campaign.from_email,
                   content_html=campaign.content_html, list_ids=[i.id for i in campaign.lists],
                   status=campaign.status, scheduled_at=campaign.scheduled_at,
                   created_at=campaign.created_at, updated_at=campaign.updated_at)


class CampaignPage(BaseModel):
    data: list[CampaignOut]
    next_cursor: str | None
