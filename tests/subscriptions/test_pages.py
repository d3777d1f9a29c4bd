"""The public pages: unsubscribe (button and RFC 8058 one-click), preferences, confirm. No
login, no session, no CSRF token: the signed link is the authority, and only it."""
import uuid

import pytest
import requests
from sqlalchemy import select

from sureapp.contacts import services as contact_services
from sureapp.extensions import db
from sureapp.models import Contact, ContactEvent, WebhookEvent
from sureapp.subscriptions import links


@pytest.fixture
def endpoint(workspace, app):
    """A webhook endpoint receiving everything, so events land in the outbox."""
    from sureapp.webhooks import services
    from sureapp.webhooks.schemas import WebhookCreate

    services.create_endpoint(workspace, WebhookCreate(url="http://127.0.0.1:9/all", events=["*"]))
    db.session.commit()


def status_of(contact) -> str:
    db.session.expire_all()
    return db.session.get(Contact, contact.id).status


def events(event_type):
    return list(db.session.scalars(select(WebhookEvent).where(WebhookEvent.type == event_type)))


def test_opening_an_unsubscribe_link_changes_nothing(client, link, workspace, contact):
    for url in (link(links.unsubscribe_url, workspace.id, contact.id),
                link(links.one_click_url, workspace.id, contact.id)):
        for method in (client.get, client.head):
            response = method(url)
            assert response.status_code == 200
    page = client.get(link(links.unsubscribe_url, workspace.id, contact.id))
    assert b"ana@example.com" in page.data and b">Unsubscribe</button>" in page.data
    assert status_of(contact) == "active"


def test_the_pages_set_no_cookie_and_leak_no_token(client, link, workspace, contact):
    for url in (link(links.unsubscribe_url, workspace.id, contact.id),
                link(links.preferences_url, workspace.id, contact.id),
                link(links.confirm_url, workspace.id, contact.id, None)):
        response = client.get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert b"csrf" not in response.data.lower()


def test_the_button_unsubscribes_once(client, link, workspace, contact, endpoint):
    url = link(links.unsubscribe_url, workspace.id, contact.id)
    response = client.post(url)
    assert response.status_code == 200 and b"You are unsubscribed" in response.data
    assert status_of(contact) == "unsubscribed"
    (event,) = events("contact.unsubscribed")
    assert event.data["email"] == "ana@example.com" and event.data["status"] == "unsubscribed"
    again = client.post(url)
    assert again.status_code == 200 and b"already unsubscribed" in again.data
    assert len(events("contact.unsubscribed")) == 1
    (entry,) = db.session.scalars(select(ContactEvent).where(
        ContactEvent.contact_id == contact.id, ContactEvent.action == "updated"))
    assert entry.changes == {"status": {"from": "active", "to": "unsubscribed"}}
    assert entry.source == "Unsubscribe link"


def test_one_click_post_over_real_http(app, live_server, workspace, contact, endpoint):
    """What Gmail or Apple Mail send (RFC 8058 §3.2): a POST with the one-click body, no
    cookies; the answer is 200 at once, never a redirect to a confirmation step."""
    app.config["PUBLIC_URL"] = live_server
    with app.app_context():
        url = links.one_click_url(workspace.id, contact.id)
    assert url.startswith(live_server)
    response = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10,
                             allow_redirects=False)
    assert response.status_code == 200
    assert response.text == "You are unsubscribed.\n"
    assert "Set-Cookie" not in response.headers
    assert status_of(contact) == "unsubscribed"
    assert len(events("contact.unsubscribed")) == 1
    # multipart/form-data is allowed too, and a repeat is a harmless 200.
    again = requests.post(url, files={"List-Unsubscribe": (None, "One-Click")}, timeout=10,
                          allow_redirects=False)
    assert again.status_code == 200 and len(events("contact.unsubscribed")) == 1


def test_a_link_naming_another_workspace_changes_nothing(client, link, workspace, other_workspace,
                                                         contact):
    """Even a correctly signed token must name the contact's own workspace."""
    for builder in (links.unsubscribe_url, links.one_click_url):
        url = link(builder, other_workspace.id, contact.id)
        assert client.post(url).status_code == 404
    url = link(links.preferences_url, other_workspace.id, contact.id)
    assert client.post(url, data={"action": "unsubscribe_all"}).status_code == 404
    assert status_of(contact) == "active"


def test_a_deleted_contacts_link_is_a_clear_404(client, link, workspace, contact):
    url = link(links.unsubscribe_url, workspace.id, contact.id)
    contact_services.delete_contact(workspace, contact.id)
    db.session.commit()
    response = client.get(url)
    assert response.status_code == 404 and b"no longer leads to a subscription" in response.data


ROUTES = ["/unsubscribe/{}", "/unsubscribe/{}/one-click", "/preferences/{}", "/confirm/{}"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("token", ["x", "a.b.c", "%00", "%C3%A9", "A" * 400,
                                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.aw-2TA.e73MDWjDK"],
                         ids=["short", "dots", "nul", "unicode", "long", "forged"])
def test_garbage_tokens_are_a_400_page_never_a_500(client, route, token, contact):
    for method in (client.get, client.post):
        response = method(route.format(token), data={"action": "unsubscribe_all"})
        assert response.status_code == 400, (method, response.status_code)
        assert b"This link does not work" in response.data
    assert status_of(contact) == "active"


def test_a_token_for_another_purpose_unsubscribes_no_one(client, workspace, contact):
    confirm_token = links.make_token(links.CONFIRM, workspace.id, contact.id)
    assert client.post(f"/unsubscribe/{confirm_token}/one-click").status_code == 400
    assert status_of(contact) == "active"


# ---- preferences ----------------------------------------------------------------------------

@pytest.fixture
def lists(workspace, contact, make_list):
    news = make_list(workspace, "News", members=[contact])
    offers = make_list(workspace, "Offers")
    internal = make_list(workspace, "Churn risk", members=[contact])
    news.show_on_preferences = offers.show_on_preferences = True
    db.session.commit()
    return news, offers, internal


def memberships(contact) -> set[str]:
    db.session.expire_all()
    return {item.name for item in db.session.get(Contact, contact.id).lists}


def test_preferences_show_only_public_lists(client, link, workspace, contact, lists):
    page = client.get(link(links.preferences_url, workspace.id, contact.id))
    assert page.status_code == 200
    assert b"News" in page.data and b"Offers" in page.data
    assert b"Churn risk" not in page.data
    news, offers, _ = lists
    assert f'value="{news.id}" checked'.encode() in page.data
    assert f'value="{offers.id}" >'.encode() in page.data


def test_saving_preferences_changes_public_lists_only(client, link, workspace, contact, lists,
                                                      endpoint):
    news, offers, internal = lists
    url = link(links.preferences_url, workspace.id, contact.id)
    response = client.post(url, data={"action": "save", "list_ids": [str(offers.id),
                                                                     str(internal.id), "junk"]})
    assert response.status_code == 200 and b"Your preferences are saved." in response.data
    assert memberships(contact) == {"Offers", "Churn risk"}  # left News, joined Offers
    assert [e.data["list"]["name"] for e in events("list.contact_added")] == ["Offers"]
    assert [e.data["list"]["name"] for e in events("list.contact_removed")] == ["News"]
    # Leaving every public list is not an unsubscribe; a hidden list is never left either.
    client.post(url, data={"action": "save"})
    assert memberships(contact) == {"Churn risk"}
    assert status_of(contact) == "active"
    (entry, *_) = db.session.scalars(select(ContactEvent).where(
        ContactEvent.contact_id == contact.id, ContactEvent.action == "list_removed"))
    assert entry.source == "Preferences page"


def test_unsubscribe_from_all_and_subscribe_again(client, link, workspace, contact, lists, endpoint):
    url = link(links.preferences_url, workspace.id, contact.id)
    page = client.post(url, data={"action": "unsubscribe_all"})
    assert b"unsubscribed from all mail" in page.data and b"Subscribe again" in page.data
    assert status_of(contact) == "unsubscribed" and len(events("contact.unsubscribed")) == 1
    assert memberships(contact) == {"News", "Churn risk"}  # kept, for a later return
    page = client.post(url, data={"action": "resubscribe"})
    assert b"Welcome back" in page.data
    assert status_of(contact) == "active"


@pytest.mark.parametrize("status", ["bounced", "invalid", "pending"])
def test_a_link_never_reactivates_an_address_that_may_not_receive(client, link, workspace,
                                                                  make_contact, status):
    contact = make_contact(workspace, f"{status}@example.com", status=status)
    url = link(links.preferences_url, workspace.id, contact.id)
    assert client.post(url, data={"action": "resubscribe"}).status_code == 200
    assert status_of(contact) == status


def test_an_unknown_preferences_action_is_a_400_that_changes_nothing(client, link, workspace,
                                                                     contact):
    response = client.post(link(links.preferences_url, workspace.id, contact.id),
                           data={"action": "delete_everything"})
    assert response.status_code == 400 and b"Choose one of the buttons" in response.data
    assert status_of(contact) == "active"


# ---- confirm --------------------------------------------------------------------------------

def test_confirming_activates_a_pending_contact_only_on_the_button(client, link, workspace,
                                                                  make_contact, make_list):
    news = make_list(workspace, "News")
    contact = make_contact(workspace, "pending@example.com", status="pending")
    url = link(links.confirm_url, workspace.id, contact.id, news.id)
    page = client.get(url)
    assert page.status_code == 200 and b"Yes, subscribe me" in page.data and b"News" in page.data
    assert status_of(contact) == "pending"
    page = client.post(url)
    assert b"Thank you, you are subscribed" in page.data
    assert status_of(contact) == "active"
    assert b"already subscribed" in client.post(url).data


def test_a_confirmation_link_never_reactivates_an_unsubscribed_contact(client, link, workspace,
                                                                       make_contact):
    contact = make_contact(workspace, "gone@example.com", status="unsubscribed")
    page = client.post(link(links.confirm_url, workspace.id, contact.id, None))
    assert page.status_code == 200 and b"cannot be confirmed" in page.data
    assert status_of(contact) == "unsubscribed"
