"""Settings → Sending and the campaign pages, as a browser without JavaScript uses them: roles,
sudo mode, the write-only password, the test mail, and Send with its recipient count."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp.campaigns import sending
from sureapp.extensions import db
from sureapp.models import Campaign, Role, SmtpConnection, UserSession
from sureapp.timeutil import utcnow
from tests.conftest import SMTP_PASSWORD, SMTP_USERNAME, forget_request_user


def url(workspace, suffix=""):
    return f"/w/{workspace.id}/settings/sending{suffix}"


def connection_form(server, **overrides):
    return {"name": "Relay", "host": "127.0.0.1", "port": str(server.port), "tls_mode": "none",
            "username": SMTP_USERNAME, "password": SMTP_PASSWORD,
            "from_addresses": "news@example.com\n@example.com", "mails_per_minute": "30"} | overrides


def password_entered(minutes_ago: float) -> None:
    db.session.execute(UserSession.__table__.update().values(
        password_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()
    forget_request_user()


def test_members_get_403_and_no_entry(client, login, workspace, make_user, add_member):
    member = add_member(workspace, make_user(email="member@example.com"), Role.MEMBER)
    login(member)
    assert client.get(url(workspace)).status_code == 403
    assert client.post(url(workspace), data={}).status_code == 403
    assert "Sending" not in client.get(f"/w/{workspace.id}/settings/general").get_data(
        as_text=True).split("<main")[0]


def test_add_edit_and_delete_a_connection(client, as_manager, workspace, smtp_server):
    assert client.get(url(workspace, "/new")).status_code == 200
    response = client.post(url(workspace), data=connection_form(smtp_server))
    assert response.status_code == 303
    connection = db.session.scalar(select(SmtpConnection))
    assert (connection.host, connection.port, connection.from_addresses) == (
        "127.0.0.1", smtp_server.port, ["news@example.com", "@example.com"])
    stored = connection.password_encrypted
    assert SMTP_PASSWORD not in stored
    page = client.get(url(workspace)).get_data(as_text=True)
    assert "Relay" in page and SMTP_PASSWORD not in page and stored not in page
    edit = client.get(url(workspace, f"/{connection.id}/edit")).get_data(as_text=True)
    assert SMTP_PASSWORD not in edit and stored not in edit and "Leave this empty to keep it" in edit
    # A blank password keeps the stored one.
    assert client.post(url(workspace, f"/{connection.id}"),
                       data=connection_form(smtp_server, password="", name="Renamed")
                       ).status_code == 303
    db.session.refresh(connection)
    assert (connection.name, connection.password_encrypted) == ("Renamed", stored)
    assert client.post(url(workspace, f"/{connection.id}/delete"), data={}).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(SmtpConnection)) == 0


@pytest.mark.parametrize("app_config", [{"SMTP_ALLOW_PRIVATE_HOSTS": False,
                                         "PUBLIC_URL": "http://localhost"}])
def test_private_hosts_and_bad_input_are_inline_errors(client, as_manager, workspace,
                                                      smtp_server):
    response = client.post(url(workspace), data=connection_form(
        smtp_server, from_addresses="not an address", mails_per_minute="0"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in page
    response = client.post(url(workspace), data=connection_form(smtp_server))
    assert response.status_code == 422
    assert "not a public internet address" in response.get_data(as_text=True)
    assert SMTP_PASSWORD not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SmtpConnection)) == 0


def test_outside_sudo_the_prompt_never_carries_the_password(client, as_manager, workspace,
                                                           smtp_server):
    password_entered(minutes_ago=60)
    assert client.get(url(workspace, "/new")).status_code == 401  # asked before typing it
    response = client.post(url(workspace), data=connection_form(smtp_server))
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert SMTP_PASSWORD not in page and 'name="password_withheld"' in page
    assert db.session.scalar(select(func.count()).select_from(SmtpConnection)) == 0
    password_entered(minutes_ago=0)
    replayed = connection_form(smtp_server, password="") | {"password_withheld": "1"}
    response = client.post(url(workspace), data=replayed)
    assert response.status_code == 422
    assert "Type the password again" in response.get_data(as_text=True)


def test_send_test_mail_to_the_signed_in_user(client, as_manager, workspace, smtp_server,
                                              make_connection):
    connection = make_connection(workspace, smtp_server)
    response = client.post(url(workspace, f"/{connection.id}/test"), data={},
                           follow_redirects=True)
    assert "Sent a test mail to manager@example.com" in response.get_data(as_text=True)
    [mail] = smtp_server.to("manager@example.com")
    assert mail["From"] == "news@example.com"
    smtp_server.stop()
    response = client.post(url(workspace, f"/{connection.id}/test"), data={},
                           follow_redirects=True)
    assert "The test mail was not sent" in response.get_data(as_text=True)


def test_another_workspaces_connection_is_404(client, as_manager, workspace, other_workspace,
                                              smtp_server, make_connection):
    theirs = make_connection(other_workspace, smtp_server)
    for path in (f"/{theirs.id}/edit", f"/{theirs.id}/delete"):
        assert client.get(url(workspace, path)).status_code == 404
    assert client.post(url(workspace, f"/{theirs.id}"),
                       data=connection_form(smtp_server)).status_code == 404
    assert client.post(url(workspace, f"/{theirs.id}/delete"), data={}).status_code == 404
    assert client.post(url(workspace, f"/{theirs.id}/test"), data={}).status_code == 404
    assert smtp_server.messages == []
    assert db.session.get(SmtpConnection, theirs.id) is not None


def test_the_api_lists_connections_without_a_password(api, workspace, smtp_server,
                                                      make_connection):
    make_connection(workspace, smtp_server)
    body = api.get("/campaigns/smtp-connections").get_json()
    [item] = body["data"]
    assert item["has_password"] is True and "password" not in item
    assert SMTP_PASSWORD not in str(body) and "password_encrypted" not in str(body)


# ---- campaign pages -----------------------------------------------------------------------------

def test_send_states_the_recipient_count_and_sends(client, as_manager, workspace, smtp_server,
                                                   make_connection, make_contact, make_list,
                                                   make_campaign):
    make_connection(workspace, smtp_server)
    people = [make_contact(workspace, f"p{i}@example.com") for i in range(3)]
    quiet = make_contact(workspace, "gone@example.com", status="unsubscribed")
    campaign = make_campaign(workspace, [make_list(workspace, "All", members=[*people, quiet])])
    base = f"/w/{workspace.id}/campaigns/{campaign.id}"
    assert "Send…" in client.get(base).get_data(as_text=True)
    confirm = client.get(f"{base}/send").get_data(as_text=True)
    assert "3 contacts will get this campaign" in confirm
    assert client.post(f"{base}/send", data={}).status_code == 303
    sending.run_until_idle()
    assert len(smtp_server.messages) == 3
    page = client.get(base).get_data(as_text=True)
    assert "Sent" in page and "Send…" not in page


def test_without_smtp_the_page_says_so_and_send_is_refused(app, client, as_manager, workspace,
                                                          make_contact, make_list,
                                                          make_campaign):
    app.config["SMTP_URL"] = ""
    campaign = make_campaign(workspace, [make_list(workspace, "All",
                                                   members=[make_contact(workspace)])])
    base = f"/w/{workspace.id}/campaigns/{campaign.id}"
    page = client.get(base).get_data(as_text=True)
    assert "cannot send mail yet" in page and "Send…" not in page
    response = client.post(f"{base}/send", data={})
    assert response.status_code == 422
    assert "No SMTP server is set up" in response.get_data(as_text=True)
    assert db.session.get(Campaign, campaign.id).status == "draft"


def test_members_see_campaigns_but_cannot_send(client, login, workspace, make_user, add_member,
                                               smtp_server, make_connection, make_contact,
                                               make_list, make_campaign):
    make_connection(workspace, smtp_server)
    campaign = make_campaign(workspace, [make_list(workspace, "All",
                                                   members=[make_contact(workspace)])])
    login(add_member(workspace, make_user(email="member@example.com"), Role.MEMBER))
    base = f"/w/{workspace.id}/campaigns/{campaign.id}"
    assert client.get(f"/w/{workspace.id}/campaigns").status_code == 200
    assert "Send…" not in client.get(base).get_data(as_text=True)
    for action in ("send", "pause", "resume", "cancel"):
        assert client.get(f"{base}/{action}").status_code == 403
        assert client.post(f"{base}/{action}", data={}).status_code == 403
    assert db.session.get(Campaign, campaign.id).status == "draft"


def test_another_workspaces_campaign_page_is_404(client, as_manager, workspace, other_workspace,
                                                 make_campaign):
    theirs = make_campaign(other_workspace, [])
    base = f"/w/{workspace.id}/campaigns/{theirs.id}"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/send", data={}).status_code == 404
