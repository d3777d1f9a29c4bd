"""The workspace dashboard's data and page: status counts, 30-day growth in the workspace
timezone, biggest lists and tags, API usage; each linking to its page."""
from datetime import datetime, timedelta

import pytest

from sureapp.tenancy.dashboard import (api_usage, contacts_created_before, dashboard_summary,
                                       growth_chart)
from sureapp.extensions import db
from sureapp.keys.services import create_key
from sureapp.models import ApiRequestLog, Contact
from sureapp.timeutil import utcnow


def test_growth_days_are_cut_at_midnight_in_the_workspace_timezone(workspace_with_roles,
                                                                   make_contact):
    workspace, _ = workspace_with_roles
    workspace.timezone = "America/New_York"  # UTC-5 in November
    db.session.commit()
    now = datetime(2026, 11, 27, 12, 0)  # 07:00 in New York
    early = make_contact(workspace, email="early@example.com")
    late = make_contact(workspace, email="late@example.com")
    old = make_contact(workspace, email="old@example.com")
    # 03:00 UTC on the 27th is still the 26th in New York; 06:00 UTC is the 27th.
    db.session.get(Contact, early.id).created_at = datetime(2026, 11, 27, 3, 0)
    db.session.get(Contact, late.id).created_at = datetime(2026, 11, 27, 6, 0)
    db.session.get(Contact, old.id).created_at = now - timedelta(days=45)
    db.session.commit()
    chart = growth_chart(workspace, now)
    assert len(chart.days) == 30 and str(chart.days[-1]) == "2026-11-27"
    assert chart.counts[-1] == 1 and chart.counts[-2] == 1
    assert chart.total == 2 and contacts_created_before(workspace, chart.days[0]) == 1
    assert [b.height for b in chart.bars if b.count] == [chart.baseline - chart.top] * 2
    assert all(b.height == 0 for b in chart.bars if not b.count)


def test_api_usage_counts_today_active_and_expiring_keys(workspace_with_roles, app):
    workspace, _ = workspace_with_roles  # a UTC workspace: "today" starts at 00:00 UTC
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    key, _ = create_key(workspace, "Zapier", ["read"])
    create_key(workspace, "Soon", ["read"], expires_at=now + timedelta(days=3))
    create_key(workspace, "Later", ["read"], expires_at=now + timedelta(days=30))
    gone, _ = create_key(workspace, "Gone", ["read"], expires_at=now + timedelta(days=1))
    gone.expires_at = now - timedelta(days=1)
    revoked, _ = create_key(workspace, "Revoked", ["read"])
    revoked.status = "revoked"
    for when in (now, now - timedelta(minutes=5), now - timedelta(days=2)):
        db.session.add(ApiRequestLog(api_key_id=key.id, workspace_id=workspace.id, created_at=when,
                                     method="GET", path="/api/v1/me", status=200))
    db.session.commit()
    usage = api_usage(workspace, now)
    assert usage.active_keys == 3 and usage.expiring_soon == 1
    assert usage.requests_today == 2  # now and 11:55; two days ago is not today


def test_summary_counts_by_status_and_ranks_lists_and_tags(workspace_with_roles, make_contact,
                                                           make_list, make_tag):
    workspace, _ = workspace_with_roles
    a = make_contact(workspace, status="active")
    b = make_contact(workspace, status="bounced")
    c = make_contact(workspace, status="bounced")
    make_list(workspace, name="Small", members=[a])
    make_list(workspace, name="Big", members=[a, b, c])
    make_tag(workspace, name="Hot", members=[b, c])
    summary = dashboard_summary(workspace)
    assert summary.total_contacts == 3
    assert dict(summary.by_status) == {"active": 1, "pending": 0, "unsubscribed": 0, "bounced": 2,
                                       "invalid": 0}
    assert [(x.name, x.count) for x in summary.top_lists] == [("Big", 3), ("Small", 1)]
    assert [(x.name, x.count) for x in summary.top_tags] == [("Hot", 2)]


@pytest.mark.parametrize("role", ["member", "manager"])
def test_dashboard_page_links_each_panel_to_its_page(workspace_with_roles, login, make_contact,
                                                     make_list, make_tag, role):
    workspace, users = workspace_with_roles
    contact = make_contact(workspace, status="pending")
    lst, tag = make_list(workspace, members=[contact]), make_tag(workspace, members=[contact])
    body = login(users[role]).get(f"/w/{workspace.id}/").get_data(as_text=True)
    assert f"/w/{workspace.id}/contacts?status=pending" in body
    assert f"/w/{workspace.id}/contacts?list={lst.id}" in body
    assert f"/w/{workspace.id}/contacts?tag={tag.id}" in body
    assert "<svg" in body and "New contacts per day" in body
    assert "requests today" in body
    keys_link = f"/w/{workspace.id}/settings/api-keys"
    assert (keys_link in body) == (role == "manager")


def test_dashboard_of_another_workspace_is_404(client, login, workspace_with_roles, make_user,
                                              make_org):
    _, users = workspace_with_roles
    _, elsewhere = make_org(make_user(email="stranger@example.com"), name="Other Org")
    login(users["owner"])
    assert client.get(f"/w/{elsewhere.id}/").status_code == 404
