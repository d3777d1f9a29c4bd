"""The send_email step against a real SMTP server on 127.0.0.1: it sends after its wait (time
injected) with merge tags, spintax and the RFC 8058 headers; it never mails a contact who may
not be mailed; without SMTP it fails visibly; a transient failure is retried, a 5xx bounces the
contact; a mail whose runner died mid-send is never sent twice."""
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from sureapp.automations import runs
from sureapp.extensions import db
from sureapp.models import AutomationRun, Contact

from tests.conftest import free_port

from .conftest import runs_of

WELCOME = {"type": "send_email", "subject": "{Hi|Hello} {{ first_name | default: \"there\" }}",
           "body": "Welcome aboard, {{ first_name }}.\nYour preferences: {{ preferences_url }}"}


@pytest.fixture
def app_config():
    return {"PUBLIC_URL": "https://sure.example.com", "TRUSTED_HOSTS": None}


@pytest.fixture
def smtp(app, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url()
    return smtp_server


def automation(api, steps):
    response = api.post("/automations", json={"name": "Welcome", "trigger": "contact_created",
                                              "status": "active", "steps": steps})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_welcome_mail_goes_out_after_its_wait(api, smtp, clock, run_due, client):
    flow = automation(api, [{"type": "wait", "amount": 1, "unit": "days"}, WELCOME])
    contact = api.post("/contacts", json={"email": "ana@example.com", "first_name": "Ana"}).get_json()
    run_due()
    assert smtp.messages == []
    clock.advance(hours=23, minutes=59)
    run_due()
    assert smtp.messages == []
    clock.advance(minutes=1)
    run_due()
    (mail,) = smtp.to("ana@example.com")
    assert mail["Subject"] in ("Hi Ana", "Hello Ana")
    body = mail.get_content()
    assert "Welcome aboard, Ana." in body and "https://sure.example.com/" in body
    assert "Unsubscribe: https://sure.example.com/" in body  # added: the body did not place it
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = mail["List-Unsubscribe"].strip("<>")
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step, run.sending_step) == ("completed", 2, None)
    # The one-click link in the header really unsubscribes (RFC 8058: a POST).
    parts = urlsplit(one_click)
    response = client.post(parts.path + (f"?{parts.query}" if parts.query else ""),
                           data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Contact, run.contact_id).status == "unsubscribed"
    assert contact["id"] == str(run.contact_id)


def test_the_same_contact_reads_the_same_spintax_on_every_retry(api, smtp, run_due):
    from sureapp.automations.mailing import message_for

    automation(api, [WELCOME])
    api.post("/contacts", json={"email": "same@example.com", "first_name": "Sam"})
    run = db.session.query(AutomationRun).one()
    contact = db.session.get(Contact, run.contact_id)
    assert len({message_for(run, 0, WELCOME, contact)[0] for _ in range(5)}) == 1


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "invalid", "pending"])
def test_a_contact_who_may_not_be_mailed_never_is(api, smtp, clock, run_due, status):
    """Checked when the mail is due, not at enrolment: the contact changed during the wait."""
    flow = automation(api, [{"type": "wait", "amount": 1, "unit": "minutes"}, WELCOME])
    contact = api.post("/contacts", json={"email": "no@example.com"}).get_json()
    run_due()
    api.patch(f"/contacts/{contact['id']}", json={"status": status})
    clock.advance(minutes=2)
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step, run.last_error) == ("exited", 1,
                                                     f"Not mailed: the contact is {status}.")
    assert smtp.messages == []
    assert api.get(f"/automations/{flow['id']}").get_json()["progress"]["steps"][1]["exited"] == 1


def test_without_smtp_the_step_fails_visibly(api, app, run_due):
    app.config["SMTP_URL"] = ""
    flow = automation(api, [WELCOME])
    api.post("/contacts", json={"email": "nosmtp@example.com"})
    run_due()
    (run,) = runs_of(flow["id"])
    assert run.state == "failed" and "No SMTP server is set up" in run.last_error
    runs_page = api.get(f"/automations/{flow['id']}/runs").get_json()["data"]
    assert runs_page[0]["state"] == "failed" and "Settings → Sending" in runs_page[0]["last_error"]


def test_a_server_that_is_down_is_tried_again_later(api, app, smtp, clock, run_due):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    flow = automation(api, [WELCOME])
    api.post("/contacts", json={"email": "later@example.com"})
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.attempts, run.sending_step) == ("scheduled", 1, None)
    assert run.next_at == clock.now + timedelta(seconds=runs.SEND_RETRIES[0])
    assert "trying again" in run.last_error
    app.config["SMTP_URL"] = smtp.url()
    clock.advance(minutes=2)
    run_due()
    assert runs_of(flow["id"])[0].state == "completed"
    assert len(smtp.to("later@example.com")) == 1


def test_a_refused_address_bounces_the_contact(api, smtp, run_due):
    smtp.refuse["gone@example.com"] = "550 No such user"
    flow = automation(api, [WELCOME, {"type": "wait", "amount": 1, "unit": "days"}])
    api.post("/contacts", json={"email": "gone@example.com"})
    run_due()
    (run,) = runs_of(flow["id"])
    assert run.state == "exited" and "550" in run.last_error
    assert db.session.get(Contact, run.contact_id).status == "bounced"


def test_a_mail_whose_runner_died_mid_send_is_never_sent_again(api, smtp, clock, run_due):
    flow = automation(api, [WELCOME, {"type": "wait", "amount": 1, "unit": "hours"}])
    api.post("/contacts", json={"email": "once@example.com"})
    # A runner claimed the run and committed the marker, then died before recording the send.
    ((run_id, lease),) = runs.claim(now=clock.catch_up())
    db.session.execute(update(AutomationRun).where(AutomationRun.id == run_id)
                       .values(sending_step=0, attempts=1))
    db.session.commit()
    clock.advance(minutes=6)
    run_due()
    assert smtp.messages == []
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step, run.sending_step) == ("scheduled", 1, None)
    assert "not sent again" in run.last_error


def test_a_send_commits_the_steps_before_it(api, workspace, smtp, make_tag, clock, run_due):
    """add_tag, then send: the tag and the marker commit before the mail leaves, so a crash in
    the send never applies the tag twice."""
    vip = make_tag(workspace, "VIP")
    flow = automation(api, [{"type": "add_tag", "tag_id": str(vip.id)}, WELCOME])
    api.post("/contacts", json={"email": "both@example.com"})
    run_due()
    (run,) = runs_of(flow["id"])
    assert run.state == "completed" and len(smtp.messages) == 1


def test_a_burst_waits_for_the_smtp_url_rate_without_using_up_its_retries(api, app, smtp, clock,
                                                                          run_due):
    """SMTP_RATE_PER_MINUTE is not an attempt: a burst of enrolments all get their mail, a rate
    at a time, however many minutes it takes."""
    app.config["SMTP_RATE_PER_MINUTE"] = 2
    flow = automation(api, [WELCOME])
    for i in range(9):
        api.post("/contacts", json={"email": f"burst{i}@example.com"})
    run_due()
    assert len(smtp.messages) == 2
    for minute in range(1, 5):
        clock.advance(seconds=61)
        run_due()
        assert len(smtp.messages) == min(2 * (minute + 1), 9)
    assert {(r.state, r.attempts) for r in runs_of(flow["id"])} == {("completed", 0)}
    assert len({r for rcpts in smtp.recipients for r in rcpts}) == 9


@pytest.mark.parametrize("first", [WELCOME, "add_tag"])
def test_a_contact_deleted_mid_run_gets_nothing_and_fails_nothing(api, workspace, smtp, clock,
                                                                  make_tag, caplog, first):
    """Deleted after the runner claimed the run: the run goes with the contact, quietly."""
    step = first if first != "add_tag" else {"type": "add_tag",
                                             "tag_id": str(make_tag(workspace, "VIP").id)}
    flow = automation(api, [step, WELCOME])
    contact = api.post("/contacts", json={"email": "bye@example.com"}).get_json()
    ((run_id, lease),) = runs.claim(now=clock.catch_up())
    assert api.delete(f"/contacts/{contact['id']}").status_code == 204
    assert runs.advance(run_id, lease, clock.now) is None
    db.session.rollback()
    assert smtp.messages == [] and runs_of(flow["id"]) == []
    assert runs.advance_due(now=clock.now) == pytest.approx(runs.jobs.MAX_IDLE_SECONDS)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
