"""With campaigns that really send: pending contacts get nothing until they confirm, and a
campaign mail's one-click link unsubscribes over real HTTP and counts on that campaign."""
import re

import pytest
import requests
from sqlalchemy import select

from sureapp.campaigns import sending
from sureapp.extensions import db
from sureapp.models import Contact
from sureapp.subscriptions import confirmations
from tests.api.conftest import ApiClient
from tests.sending.conftest import make_campaign, make_connection  # noqa: F401


@pytest.fixture
def app_config():
    return {"BACKGROUND_WORKER": False, "SMTP_ALLOW_PRIVATE_HOSTS": True}


@pytest.fixture
def api(client, workspace, make_key):
    _, plaintext = make_key(workspace)
    return ApiClient(client, plaintext)


def received(smtp_server) -> list[str]:
    return sorted(rcpt for rcpts in smtp_server.recipients for rcpt in rcpts)


def test_pending_contacts_receive_nothing_until_they_confirm(
        app, api, client, workspace, smtp_server, make_connection, make_campaign, make_list,
        make_contact):
    app.config["PUBLIC_URL"] = "http://localhost"
    make_connection(workspace, smtp_server)
    news = make_list(workspace, "News", members=[make_contact(workspace, "bob@example.com")])
    news.double_opt_in = True
    db.session.commit()
    api.post("/contacts", json={"email": "ana@example.com", "list_ids": [str(news.id)]})
    assert api.post(f"/campaigns/{make_campaign(workspace, [news]).id}/send").status_code == 202
    sending.run_until_idle()
    assert received(smtp_server) == ["bob@example.com"]  # Ana is pending: no campaign

    confirmations.mail_due()
    (confirmation,) = smtp_server.to("ana@example.com")
    path = re.search(r"http://localhost(/confirm/\S+)", confirmation.get_content()).group(1)
    assert client.post(path).status_code == 200
    smtp_server.messages.clear(), smtp_server.recipients.clear()
    second = make_campaign(workspace, [news], name="Second")
    assert api.post(f"/campaigns/{second.id}/send").status_code == 202
    sending.run_until_idle()
    assert received(smtp_server) == ["ana@example.com", "bob@example.com"]


def test_the_one_click_header_unsubscribes_and_counts_on_the_campaign(
        app, api, live_server, workspace, smtp_server, make_connection, make_campaign, make_list,
        make_contact):
    app.config["PUBLIC_URL"] = live_server
    make_connection(workspace, smtp_server)
    ann = make_contact(workspace, "ann@example.com")
    news = make_list(workspace, "News", members=[ann])
    campaign = make_campaign(workspace, [news])
    api.post(f"/campaigns/{campaign.id}/send")
    sending.run_until_idle()
    (mail,) = smtp_server.to("ann@example.com")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = mail["List-Unsubscribe"].strip("<>")
    assert target.startswith(live_server) and target.endswith("/one-click")
    response = requests.post(target, data={"List-Unsubscribe": "One-Click"}, timeout=10,
                             allow_redirects=False)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(Contact.status).where(Contact.id == ann.id)) == "unsubscribed"
    stats = api.get(f"/campaigns/{campaign.id}").get_json()["stats"]
    assert stats["unsubscribed"] == 1
    # The link in the body (a page with a button) names the same campaign; a second
    # unsubscribe is no second count.
    body_link = re.search(r'href="([^"]+/unsubscribe/[^"]+)"',
                          mail.get_body(("html",)).get_content()).group(1)
    assert requests.post(body_link, timeout=10).status_code == 200
    assert api.get(f"/campaigns/{campaign.id}").get_json()["stats"]["unsubscribed"] == 1
