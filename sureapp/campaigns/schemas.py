"""Campaign schemas, shared by the API, MCP and the UI."""
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from ..contacts.schemas import IdList, Listing
from ..schema_types import Name, OptionalEmail, Patch, ShortText, Strict, UtcDatetime, text

CampaignStatus = Literal["draft", "scheduled", "sending", "paused", "sent", "cancelled"]
Html = text(100_000)
SendPerHour = Annotated[int, Field(ge=1, le=100_000, description=(
    "Gradual send: at most this many mails an hour (null: as fast as the SMTP connection's "
    "rate allows)."))]
STATUS_IS_THE_SYSTEMS = ("The status is set by the system: send, pause, resume or cancel the "
                         "campaign instead (POST /api/v1/campaigns/{id}/send, /pause, /resume, "
                         "/cancel; or the send_campaign… tools).")


def _refuse_status(value):
    raise ValueError(STATUS_IS_THE_SYSTEMS)


# Not documented (the document says the field is not accepted); sent anyway, it is refused with
# the reason instead of "Unknown field.".
ReadOnlyStatus = SkipJsonSchema[Annotated[object, AfterValidator(_refuse_status)] | None]
ScheduledAt = Annotated[UtcDatetime | None, Field(description=(
    "When a send starts (ISO 8601): POST …/send schedules the campaign for this time; null "
    "sends at once."))]


class CampaignCreate(Strict):
    """A new campaign (POST) or the full replacement of one (PUT)."""

    name: Name
    subject: ShortText = Field("", description="Merge tags and spintax allowed.")
    from_name: ShortText = ""
    from_email: OptionalEmail = Field("", description=(
        "An address an SMTP connection of the workspace may send as (empty: the connection's "
        "first address)."))
    content_html: Html = Field("", description=(
        'HTML; merge tags ({{ first_name | default: "there" }}, {{ unsubscribe_url }}, '
        "{{ preferences_url }}…) and spintax ({Hi|Hello}) are rendered per contact."))
    list_ids: IdList = Field(default_factory=list, description="Lists of this workspace.")
    scheduled_at: ScheduledAt = None
    send_per_hour: SendPerHour | None = None
    status: ReadOnlyStatus = Field(None, exclude=True)


class CampaignPatch(Patch):
    name: Name = None
    subject: ShortText = None
    from_name: ShortText = None
    from_email: OptionalEmail = None
    content_html: Html = None
    list_ids: IdList = None
    scheduled_at: ScheduledAt = None
    send_per_hour: SendPerHour | None = None
    status: ReadOnlyStatus = Field(None, exclude=True)


class CampaignQuery(Listing):
    status: CampaignStatus | None = None


class CampaignStats(BaseModel):
    """Counts of the campaign's recipients (opens and clicks are not tracked)."""

    recipients: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = Field(0, description="Retries used up, refused, or interrupted mid-send.")
    bounced: int = 0
    skipped: int = Field(0, description="No longer active when their turn came, or cancelled.")
    unsubscribed: int = Field(0, description="Unsubscribed through this campaign's link.")


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    subject: str
    from_name: str
    from_email: str
    content_html: str
    list_ids: list[uuid.UUID]
    status: CampaignStatus
    status_reason: str = Field(description="Why the system paused it ('' otherwise).")
    scheduled_at: UtcDatetime | None
    send_per_hour: int | None
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    stats: CampaignStats
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, campaign, stats: CampaignStats | None = None) -> "CampaignOut":
        from .stats import stats_of  # a single campaign's counts: one grouped query

        return cls(id=campaign.id, name=campaign.name, subject=campaign.subject,
                   from_name=campaign.from_name, from_email=campaign.from_email,
                   content_html=campaign.content_html, list_ids=[i.id for i in campaign.lists],
                   status=campaign.status, status_reason=campaign.status_reason,
                   scheduled_at=campaign.scheduled_at, send_per_hour=campaign.send_per_hour,
                   started_at=campaign.started_at, finished_at=campaign.finished_at,
                   stats=stats or stats_of([campaign.id])[campaign.id],
                   created_at=campaign.created_at, updated_at=campaign.updated_at)


class CampaignPage(BaseModel):
    data: list[CampaignOut]
    next_cursor: str | None
