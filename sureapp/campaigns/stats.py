"""Per-campaign counts, read from its recipient rows (no open or click tracking: a pixel or a
redirect would only guess, so sureapp reports what it knows)."""
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import CampaignRecipient
from ..timeutil import utcnow
from .schemas import CampaignStats

_FAILED = ("failed", "interrupted")


def stats_of(campaign_ids) -> dict:
    """{campaign id: CampaignStats} in one grouped query."""
    counts = {cid: CampaignStats() for cid in campaign_ids}
    if not counts:
        return counts
    rows = db.session.execute(
        select(CampaignRecipient.campaign_id, CampaignRecipient.status, func.count(),
               func.count(CampaignRecipient.unsubscribed_at))
        .where(CampaignRecipient.campaign_id.in_(list(counts)))
        .group_by(CampaignRecipient.campaign_id, CampaignRecipient.status))
    for campaign_id, status, count, unsubscribed in rows:
        stats = counts[campaign_id]
        stats.recipients += count
        stats.unsubscribed += unsubscribed
        key = "failed" if status in _FAILED else "queued" if status == "sending" else status
        setattr(stats, key, getattr(stats, key) + count)
    return counts


def record_unsubscribe(campaign_id, contact_id) -> None:
    """A contact unsubscribed through this campaign's link (counted once; a campaign deleted
    since, or one the contact never got, counts nothing). In the caller's transaction."""
    db.session.execute(update(CampaignRecipient)
                       .where(CampaignRecipient.campaign_id == campaign_id,
                              CampaignRecipient.contact_id == contact_id,
                              CampaignRecipient.unsubscribed_at.is_(None))
                       .values(unsubscribed_at=utcnow())
                       .execution_options(synchronize_session=False))
