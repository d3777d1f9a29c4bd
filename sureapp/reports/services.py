"""The workspace summary: contacts by status, list and tag sizes, campaigns by status, and
contacts created per day over the last 30 days in the workspace timezone."""
from sqlalchemy import func, select

from ..contacts.groups import LISTS, TAGS, member_counts
from ..extensions import db
from ..models import (CAMPAIGN_STATUSES, CONTACT_STATUSES, Campaign, Contact, ContactList, Tag,
                      Workspace)
from ..timeutil import counts_per_local_day
from .schemas import DayCount, GroupSize, ReportSummary, TagSize

DAYS = 30


def _count_by(model, column, workspace: Workspace, keys) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    rows = db.session.execute(select(column, func.count()).where(model.workspace_id == workspace.id)
                              .group_by(column))
    counts.update({key: n for key, n in rows})
    return counts


def created_per_day(workspace: Workspace, days: int = DAYS) -> list[DayCount]:
    """Contacts created per local calendar day, oldest first, ending today (workspace timezone)."""
    per_day = counts_per_local_day(Contact.created_at, [Contact.workspace_id == workspace.id],
                                   workspace.timezone, days)
    return [DayCount(date=day, count=n) for day, n in per_day]


def summary(workspace: Workspace) -> ReportSummary:
    by_status = _count_by(Contact, Contact.status, workspace, CONTACT_STATUSES)
    lists = list(db.session.scalars(select(ContactList).where(
        ContactList.workspace_id == workspace.id).order_by(ContactList.name)))
    tags = list(db.session.scalars(select(Tag).where(Tag.workspace_id == workspace.id)
                                   .order_by(Tag.name)))
    list_counts = member_counts(LISTS, [i.id for i in lists])
    tag_counts = member_counts(TAGS, [t.id for t in tags])
    return ReportSummary(
        timezone=workspace.timezone,
        total_contacts=sum(by_status.values()),
        contacts_by_status=by_status,
        lists=[GroupSize(id=i.id, name=i.name, member_count=list_counts.get(i.id, 0)) for i in lists],
        tags=[TagSize(id=t.id, name=t.name, slug=t.slug, member_count=tag_counts.get(t.id, 0))
              for t in tags],
        campaigns_by_status=_count_by(Campaign, Campaign.status, workspace, CAMPAIGN_STATUSES),
        contacts_created_per_day=created_per_day(workspace),
    )
