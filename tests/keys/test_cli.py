"""`flask create-key` and `flask purge-keys` (SPEC §5)."""
from datetime import timedelta

import pytest

from sureapp.extensions import db
from sureapp.keys import keystring, services
from sureapp.models import ApiKey
from sureapp.timeutil import utcnow


@pytest.fixture
def workspace(make_user, make_org):
    _, workspace = make_org(make_user(), name="Acme", workspace_name="Main")
    return workspace


def create_key(runner, *args):
    return runner.invoke(args=["create-key", "--org", "Acme", "--workspace", "Main", *args])


def test_create_key_prints_the_key_alone_on_its_last_line(runner, workspace):
    result = create_key(runner, "--name", "Deploy bot", "--abilities", "read,write,delete",
                        "--expires-at", "2099-12-31T17:00:00+01:00", "--type", "mcp")
    assert result.exit_code == 0, result.output
    plaintext = result.output.rstrip("\n").splitlines()[-1]
    assert keystring.is_well_formed(plaintext)
    key = db.session.query(ApiKey).one()
    assert key.key_hash == keystring.digest(plaintext)
    assert (key.name, key.abilities, key.key_type) == ("Deploy bot", "read,write,delete", "mcp")
    assert key.expires_at.isoformat() == "2099-12-31T16:00:00"  # stored in UTC
    assert services.key_events(key)[0].actor_label == "CLI"


def test_create_key_defaults_to_an_api_key_without_expiry(runner, workspace):
    result = create_key(runner, "--name", "Zapier", "--abilities", "read")
    assert result.exit_code == 0, result.output
    key = db.session.query(ApiKey).one()
    assert (key.key_type, key.expires_at) == ("api", None)


def test_create_key_restricted_to_scopes_and_addresses(runner, workspace):
    result = create_key(runner, "--name", "Form plugin", "--abilities", "lists:write,contacts:read",
                        "--allowed-ips", "2001:db8::/32, 203.0.113.0/24")
    assert result.exit_code == 0, result.output
    key = db.session.query(ApiKey).one()
    assert key.abilities == "contacts:read,lists:write"
    assert key.allowed_ips == "203.0.113.0/24,2001:db8::/32"
    assert "usable from 203.0.113.0/24,2001:db8::/32" in result.output


def test_a_naive_expiry_is_utc(runner, workspace):
    assert create_key(runner, "--name", "Z", "--abilities", "read",
                      "--expires-at", "2099-01-01T00:00:00").exit_code == 0
    assert db.session.query(ApiKey).one().expires_at.isoformat() == "2099-01-01T00:00:00"


@pytest.mark.parametrize("args, message", [
    (["--org", "Nope", "--workspace", "Main"], "No organization named 'Nope' (or with that id)."),
    (["--org", "Acme", "--workspace", "Nope"],
     "No workspace named 'Nope' (or with that id) in 'Acme'."),
])
def test_unknown_org_or_workspace(runner, workspace, args, message):
    result = runner.invoke(args=["create-key", *args, "--name", "Z", "--abilities", "read"])
    assert result.exit_code != 0 and message in result.output
    assert db.session.query(ApiKey).count() == 0


@pytest.mark.parametrize("args, message", [
    (["--name", "Z", "--abilities", "read,admin"], "Unknown ability 'admin'"),
    (["--name", "Z", "--abilities", ","], "Choose at least one ability."),
    (["--name", "", "--abilities", "read"], "Enter a name."),
    (["--name", "bad\udcffname", "--abilities", "read"], "Use visible characters only"),
    (["--name", "x" * 256, "--abilities", "read"], "Use at most 255 characters"),
    (["--name", "Z", "--abilities", "read", "--expires-at", "2001-01-01T00:00:00Z"],
     "Choose a time in the future."),
    (["--name", "Z", "--abilities", "read", "--expires-at", "next tuesday"],
     "is not an ISO 8601 date/time"),
    (["--name", "Z", "--abilities", "read", "--type", "root"], "'root' is not one of"),
    (["--name", "Z", "--abilities", "contacts:admin"], "Unknown ability 'admin' in 'contacts:admin'"),
    (["--name", "Z", "--abilities", "people:read"], "Unknown resource 'people'"),
    (["--name", "Z", "--abilities", "read", "--allowed-ips", "203.0.113.7/24"],
     "--allowed-ips: '203.0.113.7/24' is not the start of its range"),
    (["--name", "Z", "--abilities", "read", "--allowed-ips", "10.0.0.300"],
     "is not an IPv4/IPv6 address or CIDR range"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(runner, workspace, args, message):
    result = create_key(runner, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert db.session.query(ApiKey).count() == 0


def test_two_orgs_with_the_same_name_are_ambiguous(runner, workspace, make_user, make_org):
    make_org(make_user(), name="Acme", workspace_name="Main")
    result = create_key(runner, "--name", "Z", "--abilities", "read")
    assert result.exit_code == 1
    assert "2 organizations are named 'Acme'; pass the organization id instead." in result.output
    assert db.session.query(ApiKey).count() == 0


def test_org_and_workspace_can_be_given_by_id(runner, workspace, make_user, make_org):
    make_org(make_user(), name="Acme", workspace_name="Main")  # the name alone is now ambiguous
    result = runner.invoke(args=["create-key", "--org", str(workspace.org_id),
                                 "--workspace", str(workspace.id), "--name", "Z",
                                 "--abilities", "read"])
    assert result.exit_code == 0, result.output
    assert db.session.query(ApiKey).one().workspace_id == workspace.id


def test_purge_keys_prints_how_many(runner, workspace):
    now = utcnow()
    for name, days in (("Old", 45), ("Older", 30), ("Recent", 5)):
        key, _ = services.create_key(workspace, name, ["read"])
        services.revoke_key(key)
        key.revoked_at = now - timedelta(days=days, minutes=1)
    services.create_key(workspace, "Active", ["read"])
    db.session.commit()
    result = runner.invoke(args=["purge-keys"])
    assert result.exit_code == 0
    assert result.output.strip() == "Purged 2 API keys revoked 30 or more days ago."
    assert {k.name for k in db.session.query(ApiKey)} == {"Recent", "Active"}
    assert runner.invoke(args=["purge-keys"]).output.strip() == \
        "Purged 0 API keys revoked 30 or more days ago."
    assert runner.invoke(args=["purge-keys", "--days", "1"]).output.strip() == \
        "Purged 1 API key revoked 1 or more days ago."


def test_purge_honours_the_configured_age(app, runner, workspace):
    app.config["PURGE_REVOKED_AFTER_DAYS"] = 7
    key, _ = services.create_key(workspace, "Week old", ["read"])
    services.revoke_key(key)
    key.revoked_at = utcnow() - timedelta(days=8)
    db.session.commit()
    assert "Purged 1 API key revoked 7 or more" in runner.invoke(args=["purge-keys"]).output
