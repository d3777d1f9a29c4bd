"""Account addresses may live at special-use domains (an intranet's corp.local); contacts may
not (they must be reachable by mail). Either way a bad address is explained in our words."""
import re

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Contact, Invitation, User
from sureapp.schema_types import normalize_account_email, normalize_email

LIBRARY_WORDS = ("@-sign", "special-use or reserved name", "It should have a period")


@pytest.mark.parametrize("address", ["ann@corp.local", "Ann@AD.Corp.LOCAL", "ann@lab.test",
                                     "ann@nas.home.arpa", "ann@hidden.onion"])
def test_special_use_domains_are_fine_for_accounts_and_refused_for_contacts(address):
    assert normalize_account_email(address) == address.lower()
    with pytest.raises(ValueError, match="is a reserved domain that cannot receive mail"):
        normalize_email(address)


@pytest.mark.parametrize("address, message", [
    ("nope", "An email address needs one @ with a name before it and a domain after it"),
    ("ann@", "An email address needs one @"),
    ("ann@localhost", "The part after the @ is not a valid domain, like example.com."),
    ("ann..b@example.com", "Periods cannot start or end an email address or come twice in a row."),
    ("ann@corp.local.", "Periods cannot"),
])
def test_bad_addresses_are_explained_in_our_words(address, message):
    for check in (normalize_account_email, normalize_email):
        with pytest.raises(ValueError) as caught:
            check(address)
        assert message in str(caught.value)
        assert not any(words in str(caught.value) for words in LIBRARY_WORDS)


def test_sign_up_and_log_in_with_a_local_domain(client):
    data = {"name": "Ann", "email": "ann@corp.local", "password": "s3cure pass",
            "confirm": "s3cure pass"}
    assert client.post("/signup", data=data).status_code == 302
    assert db.session.scalar(select(User.email)) == "ann@corp.local"
    client.post("/logout")
    response = client.post("/login", data={"email": "ann@corp.local", "password": "s3cure pass"})
    assert response.status_code == 302


def test_sign_up_error_is_ours(client):
    response = client.post("/signup", data={"email": "ann@@corp.com", "password": "s3cure pass",
                                            "confirm": "s3cure pass"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "not a valid domain" in html and "@-sign" not in html


def test_create_user_accepts_a_local_domain(runner):
    result = runner.invoke(args=["create-user", "ann@corp.local", "--password", "a long secret",
                                 "--org", "Corp", "--workspace", "Main"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.email)) == "ann@corp.local"
    bad = runner.invoke(args=["create-user", "ann@", "--password", "a long secret",
                              "--org", "Corp", "--workspace", "Main"])
    assert bad.exit_code != 0 and "An email address needs one @" in bad.output
    assert "@-sign" not in bad.output


def test_invitations_accept_a_local_domain(workspace_with_roles, client, login):
    workspace, users = workspace_with_roles
    login(users["manager"])
    response = client.post(f"/w/{workspace.id}/settings/members/invitations",
                           data={"email": "bob@corp.local", "role": "member"})
    assert response.status_code == 303
    assert db.session.scalar(select(Invitation.email)) == "bob@corp.local"


def test_contacts_keep_refusing_a_local_domain(workspace_with_roles, make_key, client):
    workspace, _ = workspace_with_roles
    _, key = make_key(workspace)
    response = client.post("/api/v1/contacts", json={"email": "bob@corp.local"},
                           headers={"X-API-Key": key})
    assert response.status_code == 422
    body = response.get_json()
    assert "corp.local is a reserved domain that cannot receive mail" in str(body)
    assert not re.search("@-sign|special-use", str(body))
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
