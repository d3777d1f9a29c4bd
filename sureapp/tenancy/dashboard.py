"""The workspace dashboard (the landing page, view `orgs.dashboard` in routes.py): contacts by status, 30-day growth, biggest lists and
tags, and API usage. Every query is an indexed aggregate, so the page stays fast at 100k+."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..keys import state as key_state
from ..models import (CONTACT_STATUSES, ApiKey, ApiRequestLog, Contact, ContactList, Tag,
                      Workspace, list_members, tag_members)
from ..timeutil import from_local, to_local, utcnow

GROWTH_DAYS = 30
TOP_N = 5


@dataclass
class GrowthChart:
    """Bars of new contacts per local day, pre-scaled for a server-rendered SVG."""

    days: list[date]
    counts: list[int]
    total_before: int  # contacts that existed before the first day
    width: int = 600
    height: int = 160

    @property
    def new_in_period(self) -> int:
        return sum(self.counts)

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)

    def bars(self) -> list[dict]:
        slot = self.width / max(len(self.days), 1)
        peak = self.peak or 1
        plot_height = self.height - 20  # room for the axis labels below
        bars = []
        for i, (day, count) in enumerate(zip(self.days, self.counts)):
            h = round(plot_height * count / peak, 1) if count else 0
            bars.append({"x": round(i * slot + 1, 1), "y": round(plot_height - h, 1),
                         "w": round(max(slot - 2, 1), 1), "h": h, "day": day, "count": count})
        return bars


@dataclass
class Ranked:
    id: object
    name: str
    count: int
    color: str = ""


@dataclass
class ApiUsage:
    requests_today: int
    active_keys: int  # usable now (expiring soon included)
    expiring_soon: int
    expiring_soon_days: int  # the window, KEY_EXPIRING_SOON_DAYS


@dataclass
class DashboardSummary:
    total_contacts: int
    by_status: list[tuple[str, int]]
    growth: GrowthChart
    top_lists: list[Ranked]
    top_tags: list[Ranked]
    api: ApiUsage
    allocation: int | None


def _local_midnight_utc(day: date, tz_name: str) -> datetime:
    return from_local(datetime.combine(day, time.min), tz_name)


def contacts_by_status(workspace: Workspace) -> list[tuple[str, int]]:
    rows = dict(db.session.execute(
        select(Contact.status, func.count()).where(Contact.workspace_id == workspace.id)
        .group_by(Contact.status)).all())
    return [(status, rows.get(status, 0)) for status in CONTACT_STATUSES]


def growth_chart(workspace: Workspace, now: datetime | None = None) -> GrowthChart:
    """New contacts per day for the last 30 days, days cut at midnight in the workspace timezone."""
    now = now or utcnow()
    today = to_local(now, workspace.timezone).date()
    days = [today - timedelta(days=GROWTH_DAYS - 1 - i) for i in range(GROWTH_DAYS)]
    bounds = [_local_midnight_utc(d, workspace.timezone) for d in days]
    bounds.append(_local_midnight_utc(today + timedelta(days=1), workspace.timezone))
    # One pass over the (workspace_id, created_at) index: a conditional count per day.
    columns = [func.sum(case((and_(Contact.created_at >= lo, Contact.created_at < hi), 1), else_=0))
               for lo, hi in zip(bounds, bounds[1:])]
    counts = db.session.execute(
        select(*columns).where(Contact.workspace_id == workspace.id,
                               Contact.created_at >= bounds[0], Contact.created_at < bounds[-1])
    ).one()
    before = db.session.scalar(select(func.count()).where(
        Contact.workspace_id == workspace.id, Contact.created_at < bounds[0]))
    return GrowthChart(days=days, counts=[int(c or 0) for c in counts], total_before=before or 0)


def biggest_lists(workspace: Workspace, limit: int = TOP_N) -> list[Ranked]:
    size = func.count(list_members.c.contact_id)
    rows = db.session.execute(
        select(ContactList.id, ContactList.name, size)
        .outerjoin(list_members, list_members.c.list_id == ContactList.id)
        .where(ContactList.workspace_id == workspace.id)
        .group_by(ContactList.id, ContactList.name)
        .order_by(size.desc(), ContactList.name).limit(limit))
    return [Ranked(id=i, name=n, count=c) for i, n, c in rows]


def biggest_tags(workspace: Workspace, limit: int = TOP_N) -> list[Ranked]:
    size = func.count(tag_members.c.contact_id)
    rows = db.session.execute(
        select(Tag.id, Tag.name, Tag.color, size)
        .outerjoin(tag_members, tag_members.c.tag_id == Tag.id)
        .where(Tag.workspace_id == workspace.id)
        .group_by(Tag.id, Tag.name, Tag.color)
        .order_by(size.desc(), Tag.name).limit(limit))
    return [Ranked(id=i, name=n, count=c, color=col) for i, n, col, c in rows]


def api_usage(workspace: Workspace, now: datetime | None = None) -> ApiUsage:
    """Requests since local midnight, usable keys, and those expiring soon (sureapp/keys/state.py)."""
    now = now or utcnow()
    midnight = _local_midnight_utc(to_local(now, workspace.timezone).date(), workspace.timezone)
    requests_today = db.session.scalar(select(func.count()).where(
        ApiRequestLog.workspace_id == workspace.id, ApiRequestLog.created_at >= midnight))
    window = key_state.expiring_soon_window()
    active, expiring = db.session.execute(select(
        func.count(),
        func.count(case((key_state.state_clause(key_state.KeyState.EXPIRING_SOON, now, window), 1))))
        .where(ApiKey.workspace_id == workspace.id,
               key_state.state_clause(key_state.USABLE, now, window))).one()
    return ApiUsage(requests_today=requests_today or 0, active_keys=active or 0,
                    expiring_soon=expiring or 0, expiring_soon_days=window.days)


def dashboard_summary(workspace: Workspace, now: datetime | None = None) -> DashboardSummary:
    by_status = contacts_by_status(workspace)
    return DashboardSummary(
        total_contacts=sum(c for _, c in by_status),
        by_status=by_status,
        growth=growth_chart(workspace, now),
        top_lists=biggest_lists(workspace),
        top_tags=biggest_tags(workspace),
        api=api_usage(workspace, now),
        allocation=workspace.contact_allocation,
    )
