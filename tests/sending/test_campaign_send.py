"""Sending a campaign for real: the API asks, the periodic task sends through a real SMTP server
on 127.0.0.1, and each contact gets it once — across restarts, crashes and racing workers."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp import jobs
from sureapp.campaigns import sending
from sureapp.extensions import db
from sureapp.models import Campaign, CampaignRecipient, Contact, ContactEvent
from sureapp.timeutil import utcnow
from tests.api.conftest import assert_problem
from tests.conftest import BACKENDS


@pytest.fixture
def audience(workspace, make_contact, make_list):
    """Two lists; Ann is on both; only the active contacts may receive."""
    ann = make_contact(workspace, "ann@example.com", first_name="Ann", company="Initech")
    bob = make_contact(workspace, "bob@example.com")
    quiet = [make_contact(workspace, f"{status}@example.com", status=status)
             for status in ("unsubscribed", "bounced", "invalid", "pending")]
    news = make_list(workspace, "News", members=[ann, bob, *quiet])
    vip = make_list(workspace, "VIP", members=[ann])
    return {"lists": [news, vip], "active": [ann, bob], "quiet": quiet}


@pytest.fixture
def ready(app, workspace, smtp_server, make_connection, make_campaign, audience):
    make_connection(workspace, smtp_server)
    return make_campaign(workspace, audience["lists"])


def new_runner():
    """Play a restarted process: another runner id, nothing claimed in memory."""
    jobs._runner["pid"] = None


def received(smtp_server) -> list[str]:
    return sorted(rcpt for rcpts in smtp_server.recipients for rcpt in rcpts)


def test_each_active_contact_gets_it_once_rendered_with_unsubscribe_headers(
        api, ready, smtp_server, audience):
    response = api.post(f"/campaigns/{ready.id}/send")
    assert response.status_code == 202, response.json
    assert response.json["status"] == "sending"
    assert response.json["stats"]["recipients"] == 2
    sending.run_until_idle()
    assert received(smtp_server) == ["ann@example.com", "bob@example.com"]
    [mail] = smtp_server.to("ann@example.com")
    assert mail["Subject"] in ("Hi Ann", "Hello Ann")
    assert mail["From"] == "Acme News <news@example.com>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<http://localhost/")
    html = mail.get_body(("html",)).get_content()
    assert "Dear Ann," in html and "Initech news." in html and "Unsubscribe</a>" in html
    text = mail.get_body(("plain",)).get_content()
    assert "Dear Ann," in text and "(http://localhost/" in text
    bob_mail = smtp_server.to("bob@example.com")[0]
    assert "Dear friend," in bob_mail.get_body(("html",)).get_content()
    shown = api.get(f"/campaigns/{ready.id}").json
    assert shown["status"] == "sent" and shown["finished_at"]
    assert shown["stats"] | {} == {"recipients": 2, "queued": 0, "sent": 2, "failed": 0,
                                   "bounced": 0, "skipped": 0, "unsubscribed": 0}


def test_spintax_is_the_same_for_a_contact_on_a_retry(app, ready):
    from sureapp.campaigns.sending import _message

    ann = db.session.scalar(select(Contact).where(Contact.email == "ann@example.com"))
    assert _message(ready, ann)[0] == _message(ready, ann)[0]


def test_clients_cannot_set_the_status(api, ready):
    for attempt in (api.patch(f"/campaigns/{ready.id}", json={"status": "sent"}),
                    api.post("/campaigns", json={"name": "X", "status": "scheduled"}),
                    api.put(f"/campaigns/{ready.id}", json={"name": "X", "status": "draft"})):
        problem = assert_problem(attempt, 422)
        assert "set by the system" in problem["errors"]["status"][0]
    assert db.session.get(Campaign, ready.id).status == "draft"


def test_an_unknown_merge_tag_is_refused_when_saved(api, ready):
    problem = assert_problem(api.patch(f"/campaigns/{ready.id}",
                                       json={"subject": "Hi {{ frist_name }}"}), 422)
    assert "frist_name" in problem["errors"]["subject"][0]


def test_without_smtp_sending_is_refused_and_nothing_changes(app, api, workspace, audience,
                                                            make_campaign):
    app.config["SMTP_URL"] = ""
    campaign = make_campaign(workspace, audience["lists"])
    problem = assert_problem(api.post(f"/campaigns/{campaign.id}/send"), 409)
    assert "No SMTP server is set up" in problem["detail"]
    assert db.session.get(Campaign, campaign.id).status == "draft"
    assert db.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0


def test_what_a_send_needs_is_a_clear_422(api, workspace, smtp_server, make_connection,
                                          make_campaign, make_list):
    make_connection(workspace, smtp_server)
    empty = make_campaign(workspace, [], subject="", content_html="")
    problem = assert_problem(api.post(f"/campaigns/{empty.id}/send"), 422)
    assert set(problem["errors"]) == {"subject", "content_html", "list_ids"}
    nobody = make_campaign(workspace, [make_list(workspace, "Empty")])
    problem = assert_problem(api.post(f"/campaigns/{nobody.id}/send"), 422)
    assert problem["errors"]["list_ids"] == ["Its lists have no active contacts."]


def test_a_from_address_no_connection_allows_is_refused(api, ready):
    api.patch(f"/campaigns/{ready.id}", json={"from_email": "ceo@elsewhere.example"})
    problem = assert_problem(api.post(f"/campaigns/{ready.id}/send"), 409)
    assert "ceo@elsewhere.example" in problem["detail"]


def test_only_a_draft_can_be_sent_and_a_replayed_send_is_not_a_second_one(api, ready):
    headers = {"Idempotency-Key": "send-once-1"}
    first = api.post(f"/campaigns/{ready.id}/send", headers=headers)
    replay = api.post(f"/campaigns/{ready.id}/send", headers=headers)
    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.headers["Idempotent-Replayed"] == "true"
    problem = assert_problem(api.post(f"/campaigns/{ready.id}/send"), 409)
    assert "only a draft" in problem["detail"]
    assert db.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 2


def test_a_scheduled_send_fires_when_due(api, ready, smtp_server):
    when = utcnow().replace(microsecond=0) + timedelta(days=1)
    api.patch(f"/campaigns/{ready.id}", json={"scheduled_at": when.isoformat() + "Z"})
    assert api.post(f"/campaigns/{ready.id}/send").json["status"] == "scheduled"
    sending.run_until_idle(now=when - timedelta(minutes=1))
    assert smtp_server.messages == []
    sending.run_until_idle(now=when + timedelta(seconds=1))
    assert received(smtp_server) == ["ann@example.com", "bob@example.com"]
    assert db.session.get(Campaign, ready.id).status == "sent"


def test_a_gradual_send_with_a_restart_sends_everyone_exactly_once(
        app, api, workspace, smtp_server, make_connection, make_contact, make_list,
        make_campaign):
    make_connection(workspace, smtp_server)
    people = [make_contact(workspace, f"p{i:02}@example.com") for i in range(9)]
    campaign = make_campaign(workspace, [make_list(workspace, "All", members=people)],
                             send_per_hour=120)  # 2 a turn, a turn a minute
    assert api.post(f"/campaigns/{campaign.id}/send").status_code == 202
    start = utcnow()
    sending.run_until_idle(now=start)
    assert len(smtp_server.messages) == 2
    sending.run_until_idle(now=start + timedelta(seconds=30))  # not its turn yet
    assert len(smtp_server.messages) == 2
    sending.run_until_idle(now=start + timedelta(seconds=61))
    assert len(smtp_server.messages) == 4
    new_runner()  # the process restarts in the middle of the send
    for minute in range(2, 8):
        sending.run_until_idle(now=start + timedelta(minutes=minute, seconds=1))
    assert received(smtp_server) == sorted(p.email for p in people)
    assert db.session.get(Campaign, campaign.id).status == "sent"


def test_a_mail_claimed_by_a_sender_that_died_is_never_sent_again(app, api, ready, smtp_server):
    api.post(f"/campaigns/{ready.id}/send")
    now = utcnow()
    claimed = sending._claim(ready.id, now)  # a batch of 10: both rows
    assert len(claimed) == 2
    new_runner()  # it died before recording anything: was the mail handed over? unknown
    sending.run_until_idle(now=now + timedelta(minutes=1))
    assert smtp_server.messages == []  # still within the lease: nobody sends it
    sending.run_until_idle(now=now + sending.LEASE + timedelta(seconds=1))
    assert smtp_server.messages == []
    stats = api.get(f"/campaigns/{ready.id}").json["stats"]
    assert (stats["failed"], stats["sent"]) == (2, 0)
    row = db.session.get(CampaignRecipient, claimed[0])
    assert row.status == "interrupted" and "twice" in row.error
    assert db.session.get(Campaign, ready.id).status == "sent"


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL (SKIP LOCKED)")
def test_two_runners_racing_send_each_mail_once(app, api, backend, workspace, smtp_server,
                                                make_connection, make_contact, make_list,
                                                make_campaign):
    if backend != "postgresql":
        pytest.skip("two writers at once: PostgreSQL")
    make_connection(workspace, smtp_server)
    people = [make_contact(workspace, f"r{i:02}@example.com") for i in range(30)]
    campaign = make_campaign(workspace, [make_list(workspace, "All", members=people)])
    api.post(f"/campaigns/{campaign.id}/send")
    flask_app, barrier = app, threading.Barrier(2)

    def runner():
        with flask_app.app_context():
            barrier.wait(timeout=10)
            for _ in range(20):
                sending.send_due()
            db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert received(smtp_server) == sorted(p.email for p in people)


def test_a_5xx_bounces_the_contact_and_a_4xx_is_retried(api, ready, smtp_server, workspace):
    smtp_server.refuse["ann@example.com"] = "550 5.1.1 No such user"
    smtp_server.refuse["bob@example.com"] = "451 4.3.0 Try again later"
    api.post(f"/campaigns/{ready.id}/send")
    now = utcnow()
    sending.run_until_idle(now=now)
    ann = db.session.scalar(select(Contact).where(Contact.email == "ann@example.com"))
    assert ann.status == "bounced"
    event = db.session.scalar(select(ContactEvent).where(ContactEvent.contact_id == ann.id,
                                                         ContactEvent.action == "updated"))
    assert event.changes["status"] == {"from": "active", "to": "bounced"}
    assert "550" in event.source
    stats = api.get(f"/campaigns/{ready.id}").json["stats"]
    assert (stats["bounced"], stats["queued"], stats["sent"]) == (1, 1, 0)
    del smtp_server.refuse["bob@example.com"]
    sending.run_until_idle(now=now + timedelta(seconds=sending.RETRY_SCHEDULE[0] + 1))
    assert received(smtp_server) == ["bob@example.com"]
    assert api.get(f"/campaigns/{ready.id}").json["status"] == "sent"


def test_a_contact_deleted_while_its_mail_bounced_is_counted_without_an_error(
        api, ready, smtp_server, workspace, monkeypatch, caplog):
    from sureapp.contacts.services import delete_contact
    from sureapp.sending import transport

    smtp_server.refuse["ann@example.com"] = "550 5.1.1 No such user"
    real_send = transport.send

    def send_while_deleted(workspace_id, to, *args, **kwargs):
        outcome = real_send(workspace_id, to, *args, **kwargs)
        if to == "ann@example.com":  # deleted in another request while the mail was out
            delete_contact(workspace, db.session.scalar(select(Contact.id)
                                                        .where(Contact.email == to)))
            db.session.commit()
        return outcome

    monkeypatch.setattr(transport, "send", send_while_deleted)
    api.post(f"/campaigns/{ready.id}/send")
    sending.run_until_idle()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    stats = api.get(f"/campaigns/{ready.id}").json["stats"]
    assert (stats["bounced"], stats["sent"], stats["queued"]) == (1, 1, 0)


def test_a_refused_login_pauses_the_campaign_with_the_reason(api, ready, smtp_server):
    from sureapp.models import SmtpConnection
    from sureapp.sending.transport import encrypt_password

    connection = db.session.scalar(select(SmtpConnection))
    connection.password_encrypted = encrypt_password("wrong")
    db.session.commit()
    api.post(f"/campaigns/{ready.id}/send")
    sending.run_until_idle()
    shown = api.get(f"/campaigns/{ready.id}").json
    assert shown["status"] == "paused" and "login" in shown["status_reason"]
    assert shown["stats"]["sent"] == 0


def test_pause_resume_and_cancel(api, ready, smtp_server):
    api.post(f"/campaigns/{ready.id}/send")
    assert api.post(f"/campaigns/{ready.id}/pause").json["status"] == "paused"
    sending.run_until_idle()
    assert smtp_server.messages == []
    assert_problem(api.post(f"/campaigns/{ready.id}/pause"), 409)
    assert api.post(f"/campaigns/{ready.id}/resume").json["status"] == "sending"
    assert api.post(f"/campaigns/{ready.id}/cancel").json["status"] == "cancelled"
    sending.run_until_idle()
    assert smtp_server.messages == []
    assert api.get(f"/campaigns/{ready.id}").json["stats"]["skipped"] == 2
    assert_problem(api.post(f"/campaigns/{ready.id}/resume"), 409)


def test_a_contact_who_unsubscribed_meanwhile_is_skipped(api, ready, smtp_server, audience):
    api.post(f"/campaigns/{ready.id}/send")
    bob = audience["active"][1]
    api.patch(f"/contacts/{bob.id}", json={"status": "unsubscribed"})
    sending.run_until_idle()
    assert received(smtp_server) == ["ann@example.com"]
    assert api.get(f"/campaigns/{ready.id}").json["stats"]["skipped"] == 1


def test_a_started_campaign_keeps_its_content(api, ready):
    api.post(f"/campaigns/{ready.id}/send")
    problem = assert_problem(api.patch(f"/campaigns/{ready.id}", json={"subject": "New"}), 409)
    assert "only its name" in problem["detail"]
    assert api.patch(f"/campaigns/{ready.id}", json={"name": "Renamed"}).status_code == 200
    assert_problem(api.delete(f"/campaigns/{ready.id}"), 409)


def test_deleting_a_sent_campaign_removes_its_counts_not_the_contacts_status(api, ready,
                                                                              smtp_server):
    smtp_server.refuse["ann@example.com"] = "550 No such user"
    api.post(f"/campaigns/{ready.id}/send")
    sending.run_until_idle()
    assert api.delete(f"/campaigns/{ready.id}").status_code == 204
    assert db.session.scalar(select(func.count()).select_from(CampaignRecipient)) == 0
    assert db.session.scalar(select(Contact.status).where(
        Contact.email == "ann@example.com")) == "bounced"


def test_another_workspaces_campaign_is_404(api_as, make_key, other_workspace, ready):
    other = api_as(make_key(other_workspace)[1])
    for action in ("send", "pause", "resume", "cancel"):
        assert_problem(other.post(f"/campaigns/{ready.id}/{action}"), 404)
    assert db.session.get(Campaign, ready.id).status == "draft"


def test_sending_needs_the_write_ability(api_as, make_key, workspace, ready):
    for abilities in (("read",), ("campaigns:read", "campaigns:delete"), ("contacts:write",)):
        problem = assert_problem(api_as(make_key(workspace, abilities)[1])
                                 .post(f"/campaigns/{ready.id}/send"), 403)
        assert problem["required_scope"] == "campaigns:write"
    assert api_as(make_key(workspace, ("campaigns:write",))[1]).post(
        f"/campaigns/{ready.id}/send").status_code == 202
