"""SMTP_URL's rate (SMTP_RATE_PER_MINUTE): the same throttle as a connection's mails per minute,
against a real SMTP server on 127.0.0.1, with the sender's clock injected; a bad value stops the
start with a clear message."""
from datetime import timedelta

import pytest

from sureapp.campaigns import sending
from sureapp.extensions import db
from sureapp.models import Campaign, CampaignRecipient
from sureapp.sending import transport
from sureapp.timeutil import utcnow


@pytest.fixture
def smtp_url(app, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url(), SMTP_RATE_PER_MINUTE=3)
    return smtp_server


def test_the_default_is_sixty_a_minute(monkeypatch, tmp_path):
    from sureapp.config import Config

    monkeypatch.delenv("SMTP_RATE_PER_MINUTE", raising=False)
    assert Config(str(tmp_path)).SMTP_RATE_PER_MINUTE == 60
    monkeypatch.setenv("SMTP_RATE_PER_MINUTE", " 250 ")
    assert Config(str(tmp_path)).SMTP_RATE_PER_MINUTE == 250


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "10001", "1e3"])
def test_a_bad_rate_stops_the_start_with_a_clear_message(monkeypatch, tmp_path, value):
    from sureapp.config import Config

    monkeypatch.setenv("SMTP_RATE_PER_MINUTE", value)
    with pytest.raises(ValueError, match="SMTP_RATE_PER_MINUTE must be a whole number of at "
                                         r"least 1 and at most 10,000 \(got "):
        Config(str(tmp_path))


def test_a_campaign_on_smtp_url_sends_no_more_than_the_rate_in_a_minute(
        api, workspace, smtp_url, make_contact, make_list, make_campaign):
    people = [make_contact(workspace, f"p{i}@example.com") for i in range(7)]
    campaign = make_campaign(workspace, [make_list(workspace, "All", members=people)])
    assert api.post(f"/campaigns/{campaign.id}/send").status_code == 202
    start = utcnow()
    sending.run_until_idle(now=start)
    assert len(smtp_url.messages) == 3
    sending.run_until_idle(now=start + timedelta(seconds=59))  # the same minute
    assert len(smtp_url.messages) == 3
    sending.run_until_idle(now=start + timedelta(seconds=61))
    assert len(smtp_url.messages) == 6
    sending.run_until_idle(now=start + timedelta(seconds=122))
    assert sorted(r for rcpts in smtp_url.recipients for r in rcpts) == sorted(
        p.email for p in people)
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == "sent"
    # Waiting for the rate is not a failed attempt.
    assert {r.attempts for r in db.session.query(CampaignRecipient)} == {1}
    assert api.get(f"/campaigns/{campaign.id}").json["stats"]["failed"] == 0


def test_the_rate_is_the_instance_servers_across_workspaces(app, workspace, other_workspace,
                                                            smtp_url):
    now = utcnow()
    outcomes = [transport.send(ws.id, f"r{i}@example.com", "Hi", "x", now=now)
                for i, ws in enumerate([workspace, other_workspace] * 2)]
    assert [o.status for o in outcomes] == ["sent", "sent", "sent", "failed"]
    assert outcomes[3].retry and 0 < outcomes[3].retry_after <= 60
    assert "rate (mails per minute) is used up" in outcomes[3].error
    assert transport.send(workspace.id, "later@example.com", "Hi", "x",
                          now=now + timedelta(seconds=60)).sent
    assert len(smtp_url.messages) == 4


def test_a_workspace_connection_keeps_its_own_rate(app, workspace, other_workspace, smtp_url,
                                                   make_connection):
    """Each sender has its window: the connection's mails do not use up SMTP_URL's."""
    make_connection(workspace, smtp_url, mails_per_minute=1)
    now = utcnow()
    assert transport.send(workspace.id, "a@example.com", "Hi", "x", now=now).sent
    assert transport.send(workspace.id, "b@example.com", "Hi", "x", now=now).retry_after
    for i in range(3):  # other_workspace has no connection: SMTP_URL, 3 a minute
        assert transport.send(other_workspace.id, f"o{i}@example.com", "Hi", "x", now=now).sent
    assert transport.send(other_workspace.id, "o3@example.com", "Hi", "x", now=now).retry_after
