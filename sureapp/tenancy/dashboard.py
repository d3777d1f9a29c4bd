"""The workspace dashboard (the landing page, view `orgs.dashboard` in routes.py): contacts by status, 30-day growth, biggest lists and
tags, and API usage. Every query is an indexed aggregate, so the page stays fast at 100k+."""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select

from ..charts import BarChart, bar_chart
from ..extensions import db
from ..keys import state as key_state
from ..models import (CONTACT_STATUSES, ApiKey, ApiRequestLog, Contact, ContactList, Tag,
                      Workspace, list_members, tag_members)
from ..timeutil import counts_per_local_day, local_midnight_utc, local_today, utcnow

GROWTH_DAYS = 30
TOP_N = 5


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
    growth: BarChart  # new contacts per local day
    contacts_before_growth: int  # contacts that existed before the chart's first day
    top_lists: list[Ranked]
    top_tags: list[Ranked]
    api: ApiUsage
    allocation: int | None


def contacts_by_status(workspace: Workspace) -> list[tuple[str, int]]:
    rows = dict(db.session.execute(
        select(Contact.status, func.count()).where(Contact.workspace_id == workspace.id)
        .group_by(Contact.status)).all())
    return [(status, rows.get(status, 0)) for status in CONTACT_STATUSES]


def growth_chart(workspace: Workspace, now: datetime | None = None) -> BarChart:
    """New contacts per day for the last 30 days, days cut at midnight in the workspace timezone."""
    per_day = counts_per_local_day(Contact.created_at, [Contact.workspace_id == workspace.id],
                                   workspace.timezone, GROWTH_DAYS, now)
    return bar_chart(per_day, width=600, height=160)


def contacts_created_before(workspace: Workspace, day: date) -> int:
    """Contacts that existed before local midnight starting `day` (workspace timezone)."""
    return db.session.scalar(select(func.count()).where(
        Contact.workspace_id == workspace.id,
        Contact.created_at < local_midnight_utc(day, workspace.timezone))) or 0


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
    midnight = local_midnight_utc(local_today(workspace.timezone, now), workspace.timezone)
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
    growth = growth_chart(workspace, now)
    return DashboardSummary(
        total_contacts=sum(c for _, c in by_status),
        by_status=by_status,
        growth=growth,
        contacts_before_growth=contacts_created_before(workspace, growth.days[0]),
        top_lists=biggest_lists(workspace),
        top_tags=biggest_tags(workspace),
        api=api_usage(workspace, now),
        allocation=workspace.contact_allocation,
    )
