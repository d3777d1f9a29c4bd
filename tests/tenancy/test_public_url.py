"""PUBLIC_URL (issue 13 finding 6): a forged Host header never reaches a link we show or mail.
Set: every external link is built from it and other hosts are refused. Unset: links use the
request's host only when it is loopback, and the Members page warns."""
import re

import pytest

from sureapp.config import public_url
from sureapp.extensions import db
from sureapp.links import host_name
from sureapp.models import Invitation

EVIL = {"Host": "evil.example"}
LINK = re.compile(r'id="invite-link" type="text" readonly value="([^"]+)"')


@pytest.fixture
def setup(workspace_with_roles, login):
    workspace, users = workspace_with_roles
    login(users["manager"])
    return workspace


def invite(client, workspace, headers=None, email="bob@example.com"):
    host = (headers or {}).get("Host")
    if host:  # a browser sends the session cookie to the host it was set for
        for cookie in list(client._cookies.values()):
            client.set_cookie(cookie.key, cookie.value, domain=host_name(host))
    # The POST redirects to the invitation's one-time page (once.py), which shows the link.
    return client.post(f"/w/{workspace.id}/settings/members/invitations",
                       data={"email": email, "role": "member"}, headers=headers or {},
                       follow_redirects=True)


class TestSet:
    @pytest.fixture
    def app_config(self):
        return {"PUBLIC_URL": "https://sureapp.example.com",
                "TRUSTED_HOSTS": ["sureapp.example.com", "localhost", "127.0.0.1"]}

    def test_the_shown_and_mailed_link_is_built_from_public_url(self, app, client, setup,
                                                                smtp_server):
        app.config["SMTP_URL"] = smtp_server.url()
        response = invite(client, setup)
        assert response.status_code == 200
        link = LINK.search(response.get_data(as_text=True)).group(1)
        assert link.startswith("https://sureapp.example.com/invitations/")
        [message] = smtp_server.to("bob@example.com")
        assert link in message.get_content()

    @pytest.mark.parametrize("host", ["evil.example", "sureapp.example.com.evil.example",
                                      "evil.example:443"])
    def test_requests_for_other_hosts_are_refused(self, app, client, setup, host):
        response = invite(client, setup, headers={"Host": host})
        assert response.status_code == 400
        assert db.session.query(Invitation).count() == 0
        assert client.get("/login", headers={"Host": host}).status_code == 400

    def test_its_own_host_and_loopback_are_served(self, client):
        assert client.get("/login", headers={"Host": "sureapp.example.com"}).status_code == 200
        assert client.get("/healthz", headers={"Host": "127.0.0.1:8000"}).status_code == 200


class TestUnset:
    def test_a_forged_host_never_appears_in_a_shown_or_mailed_link(self, app, client, setup,
                                                                   smtp_server):
        app.config["SMTP_URL"] = smtp_server.url()
        response = invite(client, setup, headers=EVIL)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "evil.example" not in html
        assert "no link can be shown or mailed" in html and "PUBLIC_URL" in html
        assert smtp_server.messages == []  # nothing to mail without a trustworthy address
        assert db.session.query(Invitation).count() == 1  # the invitation itself stands

    def test_resend_with_a_forged_host_shows_no_link_either(self, app, client, setup):
        invite(client, setup)
        invitation = db.session.query(Invitation).one()
        invite(client, setup, headers=EVIL, email="carol@example.com")  # the cookie, for evil
        response = client.post(
            f"/w/{setup.id}/settings/members/invitations/{invitation.id}/resend", headers=EVIL,
            follow_redirects=True)
        assert response.status_code == 200 and "evil.example" not in response.get_data(as_text=True)

    @pytest.mark.parametrize("host, base", [("localhost", "http://localhost"),
                                            ("127.0.0.1:5000", "http://127.0.0.1:5000"),
                                            ("[::1]:5000", "http://[::1]:5000")])
    def test_a_loopback_host_is_used_for_local_installs(self, client, setup, host, base):
        response = invite(client, setup, headers={"Host": host})
        link = LINK.search(response.get_data(as_text=True)).group(1)
        assert link.startswith(f"{base}/invitations/")

    def test_the_members_page_warns_the_admin(self, client, setup):
        html = client.get(f"/w/{setup.id}/settings/members/").get_data(as_text=True)
        assert "<code>PUBLIC_URL</code> is not set" in html

    def test_the_api_reference_never_shows_a_forged_host(self, client, setup):
        invite(client, setup, headers=EVIL)  # the cookie, for evil
        response = client.get(f"/w/{setup.id}/settings/api-reference", headers=EVIL)
        assert response.status_code == 200 and "evil.example" not in response.get_data(as_text=True)


@pytest.mark.parametrize("value, expected", [
    ("https://sureapp.example.com/", "https://sureapp.example.com"),
    ("http://Sureapp.Example.com:8080", "http://sureapp.example.com:8080"),
    ("", ""),
])
def test_public_url_is_normalised(value, expected):
    assert public_url(value) == expected


@pytest.mark.parametrize("value", ["sureapp.example.com", "ftp://sureapp.example.com",
                                   "https://sureapp.example.com/app", "https://:443",
                                   "https://user:pw@sureapp.example.com", "https://x.com:99999",
                                   "https://x.com?a=1"])
def test_a_malformed_public_url_stops_the_start_with_a_clear_message(value):
    with pytest.raises(ValueError, match="PUBLIC_URL must look like https://"):
        public_url(value)


def test_public_url_from_the_environment_sets_trusted_hosts(monkeypatch, tmp_path):
    from sureapp.config import Config

    monkeypatch.setenv("PUBLIC_URL", "https://SureApp.example.com:8443/")
    config = Config(str(tmp_path))
    assert config.PUBLIC_URL == "https://sureapp.example.com:8443"
    assert config.TRUSTED_HOSTS == ["sureapp.example.com", "localhost", "127.0.0.1"]
    monkeypatch.delenv("PUBLIC_URL")
    assert Config(str(tmp_path)).TRUSTED_HOSTS is None  # unset: every host is served
