"""Double opt-in: contacts from the API (and MCP, the same operations) joining such a list are
pending until they confirm by mail; managers in the UI vouch; no mail, no pretending."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp.contacts import services as contact_services
from sureapp.contacts.schemas import ContactCreate
from sureapp.errors import DomainError
from sureapp.extensions import db
from sureapp.models import ConfirmationRequest, Contact, ContactEvent
from sureapp.subscriptions import confirmations
from sureapp.timeutil import utcnow
from tests.api.conftest import ApiClient, assert_problem

LINK = re.compile(r"https?://\S+/confirm/\S+")


@pytest.fixture
def api(client, workspace, make_key):
    _, plaintext = make_key(workspace)
    return ApiClient(client, plaintext)


@pytest.fixture
def news(workspace, make_list):
    item = make_list(workspace, "Weekly News")
    item.double_opt_in = True
    db.session.commit()
    return item


@pytest.fixture
def mail(app, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url(login=False)
    app.config["PUBLIC_URL"] = "http://127.0.0.1:9"  # links are only read here, never fetched
    return smtp_server


def contact_by_email(email):
    db.session.expire_all()
    return db.session.scalar(select(Contact).where(Contact.email == email))


def confirm_link(message) -> str:
    return LINK.search(message.get_content()).group(0)


def test_an_api_contact_is_pending_until_it_confirms(api, client, workspace, news, mail):
    response = api.post("/contacts", json={"email": "ana@example.com", "first_name": "Ana",
                                           "list_ids": [str(news.id)]})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "pending"
    assert confirmations.mail_due() > 0
    (message,) = mail.to("ana@example.com")
    assert "Weekly News" in message.get_content() and "Acme News" in message["Subject"]
    url = confirm_link(message)
    path = url.split("127.0.0.1:9", 1)[1]
    assert client.get(path).status_code == 200
    assert contact_by_email("ana@example.com").status == "pending"  # opening is not consent
    assert b"Thank you, you are subscribed" in client.post(path).data
    contact = contact_by_email("ana@example.com")
    assert contact.status == "active"
    request = db.session.get(ConfirmationRequest, contact.id)
    assert request.confirmed_at is not None and request.mails_sent == 1
    (entry,) = db.session.scalars(select(ContactEvent).where(
        ContactEvent.contact_id == contact.id, ContactEvent.action == "updated"))
    assert entry.changes == {"status": {"from": "pending", "to": "active"}}
    assert entry.source == "Double opt-in confirmation"
    confirmations.mail_due()
    assert len(mail.messages) == 1  # confirmed: never mailed again


def test_without_mail_the_api_is_told_and_nothing_is_saved(api, workspace, news):
    body = assert_problem(api.post("/contacts", json={"email": "ana@example.com",
                                                      "list_ids": [str(news.id)]}), 409)
    assert "double opt-in" in body["detail"] and "cannot send mail" in body["detail"]
    assert contact_by_email("ana@example.com") is None


def test_bulk_refuses_only_the_rows_that_need_a_mail(api, workspace, news, make_contact):
    existing = make_contact(workspace, "old@example.com")
    response = api.post("/contacts/bulk", json={"contacts": [
        {"email": "new@example.com", "list_ids": [str(news.id)]},
        {"email": "plain@example.com"},
        {"email": "old@example.com", "list_ids": [str(news.id)]},
    ]})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["failed", "created", "updated"]
    assert "double opt-in" in results[0]["errors"]["list_ids"][0]
    assert contact_by_email("new@example.com") is None
    assert contact_by_email("old@example.com").status == "active"  # existing: kept as it was


def test_bulk_new_contacts_are_pending_and_each_is_mailed(api, workspace, news, mail):
    response = api.post("/contacts/bulk", json={"contacts": [
        {"email": f"p{i}@example.com", "list_ids": [str(news.id)]} for i in range(3)]})
    assert [r["status"] for r in response.get_json()["results"]] == ["created"] * 3
    assert {contact_by_email(f"p{i}@example.com").status for i in range(3)} == {"pending"}
    confirmations.mail_due()
    assert sorted(r[0] for r in mail.recipients) == ["p0@example.com", "p1@example.com",
                                                    "p2@example.com"]


def test_confirmations_over_the_smtp_url_rate_wait_their_turn_without_failing(
        app, api, workspace, news, mail):
    app.config["SMTP_RATE_PER_MINUTE"] = 2
    api.post("/contacts/bulk", json={"contacts": [
        {"email": f"r{i}@example.com", "list_ids": [str(news.id)]} for i in range(3)]})
    now = utcnow()
    confirmations.mail_due(now=now)
    assert len(mail.messages) == 2
    waiting = db.session.scalar(select(ConfirmationRequest).where(
        ConfirmationRequest.mail_due_at.is_not(None)))
    assert (waiting.failures, waiting.last_error) == (0, "")  # not a failure: its turn comes
    assert waiting.mail_due_at <= now + timedelta(seconds=60)
    confirmations.mail_due(now=now + timedelta(seconds=61))
    assert len(mail.messages) == 3


def test_a_manager_adding_by_hand_vouches_for_consent(workspace, news, mail):
    contact = contact_services.create_contact(workspace, ContactCreate(
        email="met@example.com", list_ids=[news.id]), "UI: owner@example.com",
        confirmed_consent=True)
    db.session.commit()
    assert contact.status == "active"
    assert db.session.scalar(select(func.count()).select_from(ConfirmationRequest)) == 0


def test_an_existing_contact_joining_keeps_its_status(api, workspace, news, make_contact, mail):
    contact = make_contact(workspace, "old@example.com")
    response = api.patch(f"/contacts/{contact.id}", json={"list_ids": [str(news.id)]})
    assert response.status_code == 200 and response.get_json()["status"] == "active"


def test_other_statuses_sent_by_the_client_are_kept(api, news, mail):
    response = api.post("/contacts", json={"email": "u@example.com", "status": "unsubscribed",
                                           "list_ids": [str(news.id)]})
    assert response.get_json()["status"] == "unsubscribed"
    assert db.session.scalar(select(func.count()).select_from(ConfirmationRequest)) == 0


def test_a_failed_mail_is_retried_and_shown(api, workspace, news, mail):
    api.post("/contacts", json={"email": "ana@example.com", "list_ids": [str(news.id)]})
    mail.stop()  # the server went away
    assert confirmations.mail_due() > 0
    contact = contact_by_email("ana@example.com")
    state = confirmations.state_of(contact)
    assert state.request.failures == 1 and "could not be sent" in state.summary
    assert state.request.mail_due_at > utcnow()


def test_resending_is_rate_limited_per_contact(api, workspace, news, mail):
    api.post("/contacts", json={"email": "ana@example.com", "list_ids": [str(news.id)]})
    confirmations.mail_due()
    contact = contact_by_email("ana@example.com")
    with pytest.raises(confirmations.ResendTooSoon, match="another can be sent in 10 minutes"):
        confirmations.resend(contact)
    later = utcnow() + confirmations.RESEND_INTERVAL + timedelta(seconds=1)
    confirmations.resend(contact, now=later)
    db.session.commit()
    confirmations.mail_due(now=later)
    assert len(mail.to("ana@example.com")) == 2


def test_an_expired_link_offers_a_new_one_once(app, monkeypatch, api, client, workspace, news, mail):
    from itsdangerous import TimestampSigner

    api.post("/contacts", json={"email": "ana@example.com", "list_ids": [str(news.id)]})
    confirmations.mail_due()
    contact = contact_by_email("ana@example.com")
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: real(self) - 8 * 86400)
    from sureapp.subscriptions import links
    token = links.make_token(links.CONFIRM, workspace.id, contact.id, news.id)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 410 and b"Send me a new confirmation link" in page.data
    assert client.post(f"/confirm/{token}").status_code == 410  # expired: no consent from it
    # Just mailed: the contact must wait.
    assert client.post(f"/confirm/{token}/resend").status_code == 429
    db.session.get(ConfirmationRequest, contact.id).last_mailed_at -= timedelta(minutes=11)
    db.session.commit()
    assert b"Check your inbox" in client.post(f"/confirm/{token}/resend").data
    confirmations.mail_due()
    assert len(mail.to("ana@example.com")) == 2
    # A forged token is no way to mail anyone.
    assert client.post(f"/confirm/{token[:-2]}xx/resend").status_code == 400


def test_the_contact_page_tells_the_manager(client, login, workspace, news, api, mail):
    from sureapp.models import User

    api.post("/contacts", json={"email": "ana@example.com", "list_ids": [str(news.id)]})
    contact = contact_by_email("ana@example.com")
    login(db.session.scalar(select(User).where(User.email == "owner@example.com")))
    page = client.get(f"/w/{workspace.id}/contacts/{contact.id}")
    assert b"The confirmation mail is about to be sent." in page.data
    app_mail_off = client.application.config
    app_mail_off["SMTP_URL"] = ""
    page = client.get(f"/w/{workspace.id}/contacts/{contact.id}")
    assert b"cannot be sent: this workspace has no way to send mail" in page.data


def test_the_list_settings_through_the_api(api):
    created = api.post("/lists", json={"name": "Beta", "double_opt_in": True,
                                       "show_on_preferences": True})
    assert created.status_code == 201
    body = created.get_json()
    assert body["double_opt_in"] is True and body["show_on_preferences"] is True
    patched = api.patch(f"/lists/{body['id']}", json={"double_opt_in": False}).get_json()
    assert patched["double_opt_in"] is False and patched["show_on_preferences"] is True
    assert_problem(api.patch(f"/lists/{body['id']}", json={"double_opt_in": "sometimes"}), 422)
    assert "double_opt_in" not in api.post("/tags", json={"name": "VIP"}).get_json()


def test_the_list_settings_in_the_ui(client, login, workspace):
    from sureapp.models import ContactList, User

    login(db.session.scalar(select(User).where(User.email == "owner@example.com")))
    form = client.get(f"/w/{workspace.id}/lists/new")
    assert b"Show on the preferences page" in form.data and b"Double opt-in" in form.data
    assert b"This workspace cannot send mail yet" in form.data
    response = client.post(f"/w/{workspace.id}/lists/new", data={
        "name": "Beta", "description": "", "double_opt_in": "y", "show_on_preferences": "y"})
    assert response.status_code == 303
    item = db.session.scalar(select(ContactList).where(ContactList.name == "Beta"))
    assert item.double_opt_in and item.show_on_preferences
    client.post(f"/w/{workspace.id}/lists/{item.id}/edit", data={"name": "Beta"})
    db.session.expire_all()
    assert not db.session.get(ContactList, item.id).double_opt_in  # unticked: off


def test_no_new_link_is_promised_when_no_mail_can_go_out(app, client, api, workspace, news, mail):
    from sureapp.subscriptions import links

    api.post("/contacts", json={"email": "ana@example.com", "list_ids": [str(news.id)]})
    contact = contact_by_email("ana@example.com")
    app.config["SMTP_URL"] = ""
    token = links.make_token(links.CONFIRM, workspace.id, contact.id, news.id)
    page = client.post(f"/confirm/{token}/resend")
    assert page.status_code == 409 and b"cannot send mail" in page.data
    with pytest.raises(DomainError, match="cannot send mail"):
        confirmations.resend(contact)


def test_the_api_can_mail_the_confirmation_again(api, workspace, other_workspace, news, mail,
                                                 make_contact, make_key, client):
    contact = api.post("/contacts", json={"email": "ana@example.com",
                                          "list_ids": [str(news.id)]}).get_json()
    url = f"/contacts/{contact['id']}/confirmation"
    # Queued, not mailed yet: a second request changes nothing and is accepted alike.
    assert api.post(url).status_code == 202
    confirmations.mail_due()
    body = assert_problem(api.post(url), 409)
    assert "another can be sent in 10 minutes" in body["detail"]
    active = make_contact(workspace, "active@example.com")
    assert "not waiting for a confirmation" in assert_problem(
        api.post(f"/contacts/{active.id}/confirmation"), 409)["detail"]
    _, other_key = make_key(other_workspace)
    assert_problem(ApiClient(client, other_key).post(url), 404)  # another workspace's contact
    _, read_only = make_key(workspace, ("read",))
    assert_problem(ApiClient(client, read_only).post(url), 403)
    assert len(mail.to("ana@example.com")) == 1


def test_requests_that_cannot_be_mailed_yet_never_make_the_sender_spin(app, api, news, mail):
    for i in range(3):
        api.post("/contacts", json={"email": f"p{i}@example.com", "list_ids": [str(news.id)]})
    app.config["SMTP_URL"] = ""  # sending went away: the requests stay due
    assert confirmations.mail_due() == confirmations.UNSENDABLE_RECHECK_SECONDS
    app.config["SMTP_URL"] = mail.url(login=False)
    assert confirmations.mail_due() == confirmations.IDLE_SECONDS  # all sent, nothing due
    assert len(mail.messages) == 3
