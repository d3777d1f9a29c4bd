"""The authorization code flow with PKCE through the test client: discovery from a 401, the
consent screen, the code exchange, the token as an `mcp` API key, refresh rotation and reuse,
revocation — and the refusals a hostile or broken client meets."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.models import ApiKey, ApiKeyEvent, OAuthCode, OAuthGrant, Role
from sureapp.oauth import grants
from sureapp.timeutil import utcnow

from tests.conftest import PASSWORD

from .conftest import RESOURCE, codes_issued, new_pkce, redirect_query


def key_of(token: str) -> ApiKey:
    db.session.expire_all()
    return db.session.scalar(select(ApiKey).where(ApiKey.key_hash == keystring.digest(token)))


def test_a_401_from_mcp_leads_to_both_metadata_documents(client):
    response = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"'
            in challenge)
    assert 'scope="read write delete"' in challenge

    resource = client.get("/.well-known/oauth-protected-resource/mcp")
    assert resource.status_code == 200 and resource.headers["Access-Control-Allow-Origin"] == "*"
    assert resource.json["resource"] == RESOURCE
    assert resource.json["authorization_servers"] == ["http://localhost"]
    assert resource.json["bearer_methods_supported"] == ["header"]
    assert {"read", "write", "delete", "contacts:read"} <= set(resource.json["scopes_supported"])
    assert client.get("/.well-known/oauth-protected-resource").json == resource.json

    server = client.get("/.well-known/oauth-authorization-server").json
    assert server["issuer"] == "http://localhost"
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["authorization_endpoint"] == "http://localhost/oauth/authorize"
    assert server["token_endpoint"] == "http://localhost/oauth/token"
    assert server["registration_endpoint"] == "http://localhost/oauth/register"
    assert server["revocation_endpoint"] == "http://localhost/oauth/revoke"
    assert server["client_id_metadata_document_supported"] is True


def test_a_wrong_key_on_mcp_gets_the_same_challenge(client):
    response = client.post("/mcp", json={}, headers={"Accept": "application/json",
                                                     "Authorization": "Bearer " + "x" * 60})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "resource_metadata=" in response.headers["WWW-Authenticate"]


def test_metadata_is_built_on_public_url_not_on_a_forged_host(app, client):
    app.config["PUBLIC_URL"] = "https://sure.example.com"
    app.config["TRUSTED_HOSTS"] = None  # let the forged Host reach the view
    document = client.get("/.well-known/oauth-authorization-server",
                          headers={"Host": "evil.example"}).json
    assert document["issuer"] == "https://sure.example.com"
    assert document["token_endpoint"] == "https://sure.example.com/oauth/token"
    challenge = client.post("/mcp", json={}, headers={"Host": "evil.example",
                                                      "Accept": "application/json"})
    assert ('resource_metadata="https://sure.example.com/.well-known/oauth-protected-resource/'
            'mcp"') in challenge.headers["WWW-Authenticate"]


def test_without_a_trustworthy_address_metadata_says_to_set_public_url(app, client):
    response = client.get("/.well-known/oauth-authorization-server",
                          headers={"Host": "sure.internal"})
    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"
    assert "PUBLIC_URL" in response.json["error_description"]


def test_full_flow_issues_an_mcp_key_that_works_on_mcp_only(people, oauth, login):
    workspace, users = people
    login(users["manager"])
    registered, tokens = oauth.connect(workspace, abilities=("read", "write"))
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == "read write"
    key = key_of(tokens["access_token"])
    assert keystring.is_well_formed(tokens["access_token"])
    assert key.key_type == "mcp" and key.workspace_id == workspace.id
    assert key.name == "Claude" and key.abilities == "read,write"
    assert timedelta(minutes=59) < key.expires_at - utcnow() <= timedelta(hours=1)
    assert key.oauth_grant.client.client_id == registered["client_id"]
    assert key.created_by_id == users["manager"].id

    listed = oauth.mcp(tokens["access_token"])
    assert listed.status_code == 200
    names = {t["name"] for t in listed.json["result"]["tools"]}
    assert "create_contact" in names and "delete_contact" not in names
    api = oauth.client.get("/api/v1/me", headers={"Authorization":
                                                  f"Bearer {tokens['access_token']}"})
    assert api.status_code == 401  # an mcp key: /mcp only


def test_consent_page_shows_client_redirect_host_and_managed_workspaces(people, oauth, login,
                                                                          make_workspace):
    workspace, users = people
    other = make_workspace(workspace.organization, name="Not mine")
    login(users["manager"])
    registered = oauth.register(client_name="Claude <b>desktop</b>")
    _, challenge = new_pkce()
    page = oauth.client.get(oauth.authorize_query(registered["client_id"], challenge))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Claude &lt;b&gt;desktop&lt;/b&gt;" in html and "<b>desktop" not in html
    assert "127.0.0.1:8765" in html
    assert str(workspace.id) in html and str(other.id) not in html  # a Manager of Main only
    assert "form-action 'self' http://127.0.0.1:8765" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


def test_signed_out_the_authorize_request_goes_to_login_and_comes_back(people, oauth):
    workspace, users = people
    url = oauth.new_request()
    response = oauth.client.get(url)
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    logged_in = oauth.client.post(login_url, data={"email": users["manager"].email,
                                                   "password": PASSWORD})
    assert logged_in.status_code == 302
    back = urlsplit(logged_in.headers["Location"])
    assert back.path == "/oauth/authorize"
    assert parse_qs(back.query) == parse_qs(urlsplit(url).query)
    page = oauth.client.get(logged_in.headers["Location"])
    assert page.status_code == 200 and 'value="allow"' in page.get_data(as_text=True)


def test_deny_redirects_with_access_denied_and_state(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    response = oauth.client.post(oauth.new_request(),
                                 data={"decision": "deny", "workspace_id": str(workspace.id)})
    assert response.status_code == 303
    query = redirect_query(response)
    assert query["error"] == "access_denied" and query["state"] == "xyz-state"
    assert query["iss"] == "http://localhost"
    assert codes_issued() == 0


def test_a_member_cannot_consent(people, oauth, login):
    workspace, users = people
    login(users["member"])
    url = oauth.new_request()
    page = oauth.client.get(url).get_data(as_text=True)
    assert "You do not manage any workspace" in page and 'value="allow"' not in page
    response = oauth.allow(url, workspace)
    assert response.status_code == 403
    assert "Only Managers and above" in response.get_data(as_text=True)
    assert codes_issued() == 0


def test_a_workspace_of_another_organization_cannot_be_chosen(people, oauth, login, make_user,
                                                             make_org):
    workspace, users = people
    _, foreign = make_org(make_user(email="stranger@example.com"), name="Other")
    login(users["manager"])
    response = oauth.allow(oauth.new_request(), foreign)
    assert response.status_code == 403
    assert codes_issued() == 0


def test_abilities_cannot_be_widened_beyond_the_request(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    url = oauth.new_request(scope="contacts:read")
    response = oauth.allow(url, workspace, abilities=("read", "delete"))
    assert response.status_code == 422
    assert "Choose among the abilities the client asked for" in response.get_data(as_text=True)


def test_the_user_may_narrow_the_abilities(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    _, tokens = oauth.connect(workspace, abilities=("read",))
    assert tokens["scope"] == "read"
    assert key_of(tokens["access_token"]).abilities == "read"


@pytest.mark.parametrize("case, overrides, error", [
    ("no PKCE", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ("plain PKCE", {"code_challenge_method": "plain"}, "invalid_request"),
    ("short challenge", {"code_challenge": "abc"}, "invalid_request"),
    ("token flow", {"response_type": "token"}, "unsupported_response_type"),
    ("foreign resource", {"resource": "https://evil.example/mcp"}, "invalid_target"),
    ("unknown scope", {"scope": "admin"}, "invalid_scope"),
])
def test_bad_authorization_requests_are_redirected_with_the_error(people, oauth, login, case,
                                                                  overrides, error):
    workspace, users = people
    login(users["owner"])
    response = oauth.client.get(oauth.new_request(**overrides))
    assert response.status_code == 303, case
    query = redirect_query(response)
    assert query["error"] == error and query["state"] == "xyz-state"
    assert query["error_description"]


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/callback",
    "http://127.0.0.1:8765/other",
    "http://127.0.0.1:8765/callback/../x",
    "http://localhost:8765/callback",  # another loopback name than the one registered
])
def test_a_foreign_redirect_uri_gets_our_error_page_and_nothing_is_sent(people, oauth, login,
                                                                        redirect_uri):
    workspace, users = people
    login(users["owner"])
    url = oauth.new_request(redirect_uri=redirect_uri)
    for response in (oauth.client.get(url), oauth.allow(url, workspace)):
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "not one the client registered" in response.get_data(as_text=True)
    assert codes_issued() == 0


def test_a_loopback_redirect_may_use_another_port(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    other_port = "http://127.0.0.1:50123/callback"
    response = oauth.allow(oauth.new_request(redirect_uri=other_port), workspace)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(other_port + "?")


def test_unknown_client_gets_our_error_page(people, oauth, login):
    _, users = people
    login(users["owner"])
    response = oauth.client.get(oauth.authorize_query("mcp_nobody", new_pkce()[1]))
    assert response.status_code == 400 and "Location" not in response.headers


def test_wrong_verifier_is_refused_and_uses_the_code_up(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered = oauth.register()
    code, verifier = oauth.code_for(registered["client_id"], workspace)
    wrong = oauth.exchange(registered["client_id"], code, new_pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json["error"] == "invalid_grant"
    assert "code_verifier" in wrong.json["error_description"]
    again = oauth.exchange(registered["client_id"], code, verifier)
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 0


def test_a_code_used_twice_revokes_what_it_issued(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered = oauth.register()
    code, verifier = oauth.code_for(registered["client_id"], workspace)
    first = oauth.exchange(registered["client_id"], code, verifier)
    assert first.status_code == 200
    assert oauth.mcp(first.json["access_token"]).status_code == 200
    second = oauth.exchange(registered["client_id"], code, verifier)
    assert second.status_code == 400 and second.json["error"] == "invalid_grant"
    assert "already used" in second.json["error_description"]
    assert key_of(first.json["access_token"]).status == "revoked"
    assert oauth.mcp(first.json["access_token"]).status_code == 401
    refreshed = oauth.refresh(registered["client_id"], first.json["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json["error"] == "invalid_grant"


def test_an_expired_code_is_refused(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered = oauth.register()
    code, verifier = oauth.code_for(registered["client_id"], workspace)
    db.session.execute(OAuthCode.__table__.update().values(expires_at=utcnow() - timedelta(1)))
    db.session.commit()
    response = oauth.exchange(registered["client_id"], code, verifier)
    assert response.json["error"] == "invalid_grant" and "expired" in response.json[
        "error_description"]


def test_another_client_cannot_redeem_the_code(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered, thief = oauth.register(), oauth.register(client_name="Thief")
    code, verifier = oauth.code_for(registered["client_id"], workspace)
    response = oauth.exchange(thief["client_id"], code, verifier)
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_code_exchange_needs_the_same_redirect_uri_and_resource(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered = oauth.register()
    code, verifier = oauth.code_for(registered["client_id"], workspace)
    response = oauth.exchange(registered["client_id"], code, verifier,
                              redirect_uri="http://127.0.0.1:9/callback")
    assert response.json["error"] == "invalid_grant"
    code, verifier = oauth.code_for(registered["client_id"], workspace)
    response = oauth.exchange(registered["client_id"], code, verifier,
                              resource="https://evil.example/mcp")
    assert response.json["error"] == "invalid_target"


def test_refresh_rotates_and_the_old_access_token_stops(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered, tokens = oauth.connect(workspace)
    key_id = key_of(tokens["access_token"]).id
    refreshed = oauth.refresh(registered["client_id"], tokens["refresh_token"],
                              resource=RESOURCE)
    assert refreshed.status_code == 200, refreshed.json
    new = refreshed.json
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    assert key_of(new["access_token"]).id == key_id  # the same connection, one row
    assert oauth.mcp(tokens["access_token"]).status_code == 401
    assert oauth.mcp(new["access_token"]).status_code == 200
    actions = db.session.scalars(select(ApiKeyEvent.action).where(
        ApiKeyEvent.api_key_id == key_id)).all()
    assert sorted(actions) == ["created", "regenerated"]


def test_refresh_token_reuse_revokes_the_whole_grant(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered, tokens = oauth.connect(workspace)
    rotated = oauth.refresh(registered["client_id"], tokens["refresh_token"]).json
    replayed = oauth.refresh(registered["client_id"], tokens["refresh_token"])
    assert replayed.status_code == 400 and replayed.json["error"] == "invalid_grant"
    assert "already used" in replayed.json["error_description"]
    assert oauth.mcp(rotated["access_token"]).status_code == 401
    after = oauth.refresh(registered["client_id"], rotated["refresh_token"])
    assert after.json["error"] == "invalid_grant"
    grant = db.session.scalar(select(OAuthGrant))
    assert grant.revoked_reason == "refresh_token_reused"


def test_refresh_cannot_widen_the_scope(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered, tokens = oauth.connect(workspace, abilities=("read",))
    response = oauth.refresh(registered["client_id"], tokens["refresh_token"], scope="read write")
    assert response.json["error"] == "invalid_scope"


def test_revoking_the_key_on_the_keys_page_ends_the_connection(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered, tokens = oauth.connect(workspace)
    key = key_of(tokens["access_token"])
    response = oauth.client.post(f"/w/{workspace.id}/settings/api-keys/{key.id}/revoke",
                                 data={"version": key.version})
    assert response.status_code == 302
    assert key_of(tokens["access_token"]).status == "revoked"
    assert oauth.mcp(tokens["access_token"]).status_code == 401
    refreshed = oauth.refresh(registered["client_id"], tokens["refresh_token"])
    assert refreshed.json["error"] == "invalid_grant"
    assert "API Keys page" in refreshed.json["error_description"]


def test_a_demoted_consenter_ends_the_connection_at_the_next_refresh(people, oauth, login):
    from sureapp.tenancy import services as tenancy

    workspace, users = people
    login(users["manager"])
    registered, tokens = oauth.connect(workspace)
    tenancy.grant_role(workspace, users["manager"], Role.MEMBER)
    db.session.commit()
    response = oauth.refresh(registered["client_id"], tokens["refresh_token"])
    assert response.json["error"] == "invalid_grant"
    assert key_of(tokens["access_token"]).status == "revoked"


def test_an_expired_access_token_is_refused_and_refresh_renews_it(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered, tokens = oauth.connect(workspace)
    key = key_of(tokens["access_token"])
    key.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = oauth.mcp(tokens["access_token"])
    assert expired.status_code == 401 and "resource_metadata=" in expired.headers[
        "WWW-Authenticate"]
    new = oauth.refresh(registered["client_id"], tokens["refresh_token"]).json
    assert oauth.mcp(new["access_token"]).status_code == 200


def test_a_token_of_workspace_a_cannot_reach_workspace_b(people, oauth, login, make_user,
                                                         make_org, make_contact):
    workspace, users = people
    _, other = make_org(make_user(email="b-owner@example.com"), name="B Org",
                        workspace_name="B")
    theirs = make_contact(other, email="secret@b.example.com")
    login(users["owner"])
    _, tokens = oauth.connect(workspace)
    got = oauth.mcp(tokens["access_token"], "tools/call",
                    {"name": "get_contact", "arguments": {"contact_id": str(theirs.id)}})
    assert got.status_code == 200
    assert got.json["result"]["isError"] is True
    assert "secret@b.example.com" not in got.get_data(as_text=True)
    searched = oauth.mcp(tokens["access_token"], "tools/call",
                         {"name": "search_contacts", "arguments": {"query": "secret"}})
    assert "secret@b.example.com" not in searched.get_data(as_text=True)


def test_revocation_endpoint_ends_the_grant_and_ignores_unknown_tokens(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    registered, tokens = oauth.connect(workspace)
    other, _ = oauth.connect(workspace)
    unknown = oauth.client.post("/oauth/revoke", data={"client_id": registered["client_id"],
                                                       "token": "nonsense"})
    assert unknown.status_code == 200
    by_other = oauth.client.post("/oauth/revoke", data={"client_id": other["client_id"],
                                                        "token": tokens["access_token"]})
    assert by_other.status_code == 200
    assert oauth.mcp(tokens["access_token"]).status_code == 200  # another client's: untouched
    ended = oauth.client.post("/oauth/revoke", data={"client_id": registered["client_id"],
                                                     "token": tokens["refresh_token"]})
    assert ended.status_code == 200
    assert oauth.mcp(tokens["access_token"]).status_code == 401
    assert oauth.refresh(registered["client_id"], tokens["refresh_token"]).json[
        "error"] == "invalid_grant"


def test_deleting_the_key_deletes_the_grant(people, oauth, login):
    from sureapp.keys import services as key_services

    workspace, users = people
    login(users["owner"])
    registered, tokens = oauth.connect(workspace)
    key_services.delete_key(key_of(tokens["access_token"]))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OAuthGrant)) == 0
    assert oauth.refresh(registered["client_id"], tokens["refresh_token"]).json[
        "error"] == "invalid_grant"


@pytest.mark.parametrize("form, error, status", [
    ({"grant_type": "password", "client_id": None}, "unsupported_grant_type", 400),
    ({"grant_type": "authorization_code", "client_id": None}, "invalid_request", 400),
    ({"grant_type": "authorization_code", "client_id": "mcp_nobody"}, "invalid_client", 401),
    ({"grant_type": "refresh_token", "client_id": None, "refresh_token": "x"}, "invalid_grant",
     400),
    ({"grant_type": "authorization_code", "client_id": None, "client_secret": "s"},
     "invalid_client", 401),
])
def test_token_endpoint_errors_are_rfc6749_json(oauth, form, error, status):
    registered = oauth.register()
    form = {k: (registered["client_id"] if v is None else v) for k, v in form.items()}
    response = oauth.token(**form)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.json["error"] == error and response.json["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


def test_token_endpoint_wants_a_form_body(oauth):
    response = oauth.client.post("/oauth/token", json={"grant_type": "authorization_code"})
    assert response.status_code == 400 and response.json["error"] == "invalid_request"


def test_housekeeping_purges_spent_codes_and_idle_clients(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    kept, _ = oauth.connect(workspace)
    idle = oauth.register(client_name="Never used")
    code, _ = oauth.code_for(kept["client_id"], workspace)
    later = utcnow() + timedelta(days=3)
    assert grants.purge(later) >= 2  # the two codes and the idle client
    db.session.commit()
    from sureapp.models import OAuthClient
    ids = set(db.session.scalars(select(OAuthClient.client_id)))
    assert kept["client_id"] in ids and idle["client_id"] not in ids
    assert codes_issued() == 0


def test_the_keys_table_shows_the_connection_as_an_mcp_key_via_oauth(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    oauth.connect(workspace)
    html = oauth.client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    assert "via OAuth: Claude" in html and ">MCP<" in html
    key = db.session.scalar(select(ApiKey))
    page = oauth.client.get(f"/w/{workspace.id}/settings/api-keys/{key.id}")
    assert "via OAuth: Claude" in page.get_data(as_text=True)
    # A key made by hand says nothing of the sort.
    from sureapp.keys import services as key_services
    key_services.create_key(workspace, "Hand-made", ["read"], key_type="mcp")
    db.session.commit()
    html = oauth.client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    assert html.count("via OAuth:") == 1


def test_a_connection_key_gets_no_expiry_reminders_nor_the_banner(app, people, oauth, login,
                                                                  make_key, smtp_server):
    from sureapp.keys import reminders

    workspace, users = people
    app.config["SMTP_URL"] = smtp_server.url()
    login(users["owner"])
    oauth.connect(workspace)
    hand_made, _ = make_key(workspace, name="Expiring by hand",
                            expires_at=utcnow() + timedelta(hours=5))
    assert [k.id for k in reminders.expiring_keys(workspace)] == [hand_made.id]
    assert reminders.send_due_reminders() == 1  # the hand-made key's, not the connection's


def test_allowing_outside_sudo_mode_asks_for_the_password_first(app, people, oauth, login):
    from sqlalchemy import update

    from sureapp.models import UserSession

    workspace, users = people
    login(users["owner"])
    url = oauth.new_request()
    db.session.execute(update(UserSession).values(password_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    response = oauth.allow(url, workspace)
    assert response.status_code == 401 and response.headers["X-Sudo-Required"] == "password"
    assert "form-action 'self' http://127.0.0.1:8765" in response.headers[
        "Content-Security-Policy"]  # the replayed post may lead on to the client
    assert codes_issued() == 0
