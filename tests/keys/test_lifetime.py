"""The organization's key-lifetime policy (issue 18 part 3): one rule (keys/lifetime.py) that
the create and edit panels, a crafted form post, the CLI and the settings page cannot get past."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.keys import lifetime, services
from sureapp.keys.lifetime import LifetimePolicy
from sureapp.models import ApiKey, KeyPolicyEvent, Organization
from sureapp.timeutil import utcnow

NOW = datetime(2026, 12, 2, 12, 0)


# ---- the rule -------------------------------------------------------------------------------

@pytest.mark.parametrize("policy, expires_at, refused", [
    (LifetimePolicy(), None, False),
    (LifetimePolicy(require_expiry=True), None, True),
    (LifetimePolicy(require_expiry=True), NOW + timedelta(days=3650), False),
    (LifetimePolicy(30), None, True),  # a maximum implies an expiry
    (LifetimePolicy(30), NOW + timedelta(days=30), False),
    (LifetimePolicy(30), NOW + timedelta(days=30, seconds=1), True),
])
def test_the_rule(policy, expires_at, refused):
    assert (policy.refusal(expires_at, NOW) is not None) is refused
    assert policy.exceeds(expires_at, NOW) is refused


@pytest.mark.parametrize("policy, presets, default", [
    (LifetimePolicy(), ["never", "7d", "30d", "60d", "90d", "custom"], "never"),
    (LifetimePolicy(require_expiry=True), ["7d", "30d", "60d", "90d", "custom"], "30d"),
    (LifetimePolicy(60), ["7d", "30d", "60d", "custom"], "30d"),
    (LifetimePolicy(45), ["7d", "30d", "45d", "custom"], "30d"),
    (LifetimePolicy(5), ["5d", "custom"], "5d"),
])
def test_presets_are_capped_by_the_policy(policy, presets, default):
    assert [value for value, _ in policy.presets()] == presets
    assert policy.default_preset() == default
    with pytest.raises(ValueError):
        policy.preset_expiry("never", NOW)
    if "90d" not in presets:
        with pytest.raises(ValueError):  # a preset not offered is refused, not honoured
            policy.preset_expiry("90d", NOW)


@pytest.mark.parametrize("days", [0, -1, lifetime.MAX_LIFETIME_DAYS_LIMIT + 1])
def test_set_policy_refuses_a_maximum_out_of_range(app, make_user, make_org, days):
    org, _ = make_org(make_user())
    with pytest.raises(services.ValidationFailed) as caught:
        lifetime.set_policy(org, days, False)
    assert "max_lifetime_days" in caught.value.errors


# ---- the panels and crafted posts -----------------------------------------------------------

@pytest.fixture
def setup(workspace_with_roles, login):
    workspace, users = workspace_with_roles
    org = workspace.organization
    org.key_max_lifetime_days = 30
    db.session.commit()
    login(users["manager"])
    return workspace, users


def _create(client, workspace, **data):
    data = {"name": "Zapier", "abilities": ["read"], **data}
    return client.post(f"/w/{workspace.id}/settings/api-keys", data=data)


def _keys():
    db.session.expire_all()
    return db.session.scalars(select(ApiKey)).all()


def test_the_create_panel_offers_only_what_the_policy_allows(client, setup):
    workspace, _ = setup
    html = client.get(f"/w/{workspace.id}/settings/api-keys/new").get_data(as_text=True)
    for offered in ("7d", "30d", "custom"):
        assert f'id="expiry-{offered}"' in html
    for refused in ("never", "60d", "90d"):
        assert f'id="expiry-{refused}"' not in html
    assert 'value="30d" id="expiry-30d"\n        checked' in html
    assert "Keys must expire within 30 days of being set." in html


def test_a_preset_sets_the_expiry_from_now(client, setup):
    workspace, _ = setup
    before = utcnow()
    assert _create(client, workspace, expiry="7d").status_code == 303  # to the show-once page
    [key] = _keys()
    assert before + timedelta(days=7) <= key.expires_at <= utcnow() + timedelta(days=7)


@pytest.mark.parametrize("data, message", [
    ({"expiry": "never"}, "requires every key to expire within 30 days"),
    ({"expiry": "90d"}, "Choose one of the offered expiry options."),  # not offered
    ({"expiry": "3650d"}, "Choose one of the offered expiry options."),
    ({"expiry": "custom", "expires_at": "2099-01-01T00:00"}, "at most 30 days"),
    ({"expiry": "custom"}, "requires every key to expire"),  # empty custom date
    ({}, "requires every key to expire"),  # a post that skips the choice
    ({"expires_at": "2099-01-01T00:00"}, "at most 30 days"),
])
def test_a_crafted_create_post_cannot_get_past_the_policy(client, setup, data, message):
    workspace, _ = setup
    response = _create(client, workspace, **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _keys() == []


def test_a_custom_date_within_the_maximum_is_accepted(client, setup):
    workspace, _ = setup
    soon = (utcnow() + timedelta(days=29)).strftime("%Y-%m-%dT%H:%M")
    assert _create(client, workspace, expiry="custom", expires_at=soon).status_code == 303  # to the show-once page
    assert len(_keys()) == 1


def _edit(client, workspace, key, **data):
    data = {"name": key.name, "abilities": key.ability_list, "active": "y",
            "version": str(key.version), **data}
    return client.post(f"/w/{workspace.id}/settings/api-keys/{key.id}", data=data)


@pytest.mark.parametrize("data", [
    {"expiry": "never"}, {"expiry": "custom", "expires_at": ""},
    {"expiry": "custom", "expires_at": "2099-01-01T00:00"}, {"expiry": "60d"},
])
def test_the_edit_panel_cannot_move_an_expiry_past_the_policy(client, setup, make_key, data):
    workspace, _ = setup
    key, _ = make_key(workspace, expires_at=utcnow() + timedelta(days=10))
    expires_at = key.expires_at
    response = _edit(client, workspace, key, **data)
    assert response.status_code == 422
    [stored] = _keys()
    assert stored.expires_at == expires_at and stored.version == key.version


def test_a_key_from_before_the_policy_is_flagged_and_can_still_be_renamed(
        client, setup, make_key, keys_url):
    workspace, _ = setup
    org = workspace.organization
    org.key_max_lifetime_days = None
    db.session.commit()
    legacy, _ = make_key(workspace, name="Legacy")  # never expires
    compliant, _ = make_key(workspace, name="Fine", expires_at=utcnow() + timedelta(days=5))
    org.key_max_lifetime_days = 30
    db.session.commit()
    html = client.get(keys_url(workspace)).get_data(as_text=True)
    assert html.count(">Beyond policy</span>") == 1
    row = re.search(rf'id="key-row-{legacy.id}".*?</tr>', html, re.S).group(0)
    assert ">Beyond policy</span>" in row
    assert ">Beyond policy</span>" in client.get(keys_url(workspace, f"/{legacy.id}")).get_data(as_text=True)
    # Opening its edit panel and saving a new name keeps its (unchanged) expiry: allowed.
    edit = client.get(keys_url(workspace, f"/{legacy.id}/edit")).get_data(as_text=True)
    assert 'id="expiry-never"' not in edit  # the policy still offers no "Never"
    response = _edit(client, workspace, legacy, name="Legacy (to replace)", expiry="custom",
                     expires_at="")
    assert response.status_code == 302
    assert db.session.get(ApiKey, legacy.id).name == "Legacy (to replace)"


def test_regenerate_keeps_the_expiry(app, setup, make_key):
    workspace, _ = setup
    key, _ = make_key(workspace, expires_at=utcnow() + timedelta(days=20))
    expires_at = key.expires_at
    services.regenerate_key(key, None, actor_label="test")
    db.session.commit()
    assert db.session.get(ApiKey, key.id).expires_at == expires_at


def test_the_service_refuses_what_the_panel_refuses(app, setup):
    workspace, _ = setup
    with pytest.raises(services.ValidationFailed) as caught:
        services.create_key(workspace, "Direct", ["read"], None)
    assert "expires_at" in caught.value.errors
    with pytest.raises(services.ValidationFailed):
        services.create_key(workspace, "Direct", ["read"], utcnow() + timedelta(days=31))


# ---- the CLI --------------------------------------------------------------------------------

def _cli(runner, *args):
    return runner.invoke(args=list(args))


def test_set_key_policy_and_create_key_refuses_what_it_refuses(runner, make_user, make_org):
    make_org(make_user(), name="Acme", workspace_name="Main")
    result = _cli(runner, "set-key-policy", "--org", "Acme", "--max-lifetime-days", "14")
    assert result.exit_code == 0, result.output
    assert "Keys must expire within 14 days" in result.output
    org = db.session.scalar(select(Organization))
    assert (org.key_max_lifetime_days, org.key_require_expiry) == (14, False)

    base = ["create-key", "--org", "Acme", "--workspace", "Main", "--name", "Bot",
            "--abilities", "read"]
    refused = _cli(runner, *base)
    assert refused.exit_code == 1 and "--expires-at: Your organization requires" in refused.output
    late = (utcnow() + timedelta(days=15)).isoformat()
    assert "at most 14 days" in _cli(runner, *base, "--expires-at", late).output
    assert _keys() == []
    ok = (utcnow() + timedelta(days=13)).isoformat()
    assert _cli(runner, *base, "--expires-at", ok).exit_code == 0
    assert len(_keys()) == 1

    # Only what is given changes; 0 removes the maximum.
    assert _cli(runner, "set-key-policy", "--org", "Acme", "--require-expiry").exit_code == 0
    db.session.expire_all()
    assert (org.key_max_lifetime_days, org.key_require_expiry) == (14, True)
    assert _cli(runner, "set-key-policy", "--org", "Acme", "--max-lifetime-days", "0",
                "--no-require-expiry").exit_code == 0
    db.session.expire_all()
    assert (org.key_max_lifetime_days, org.key_require_expiry) == (None, False)


@pytest.mark.parametrize("args, message", [
    (["--org", "Nope", "--max-lifetime-days", "5"], "No organization named 'Nope'"),
    (["--org", "Acme", "--max-lifetime-days", "-3"], "from 1 to 3650"),
    (["--org", "Acme", "--max-lifetime-days", "99999"], "from 1 to 3650"),
    (["--org", "Acme", "--max-lifetime-days", "ten"], "is not a valid integer"),
])
def test_set_key_policy_bad_input(runner, make_user, make_org, args, message):
    make_org(make_user(), name="Acme")
    result = _cli(runner, "set-key-policy", *args)
    assert result.exit_code != 0 and message in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Organization.key_max_lifetime_days)) is None


# ---- the settings page ----------------------------------------------------------------------

def _policy_url(workspace):
    return f"/w/{workspace.id}/settings/key-policy"


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_org_admins_set_the_policy(client, login, workspace_with_roles, role):
    workspace, users = workspace_with_roles
    login(users[role])
    assert "API key policy" in client.get(_policy_url(workspace)).get_data(as_text=True)
    response = client.post(_policy_url(workspace), data={"max_lifetime_days": "90",
                                                         "require_expiry": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    org = workspace.organization
    assert (org.key_max_lifetime_days, org.key_require_expiry) == (90, True)


@pytest.mark.parametrize("role", ["manager", "member"])
def test_lower_roles_can_neither_see_nor_post_the_policy(client, login, workspace_with_roles, role):
    workspace, users = workspace_with_roles
    login(users[role])
    assert client.get(_policy_url(workspace)).status_code == 403
    assert client.post(_policy_url(workspace), data={"max_lifetime_days": ""}).status_code == 403
    assert "key-policy" not in client.get(f"/w/{workspace.id}/settings/").get_data(as_text=True)
    db.session.expire_all()
    assert workspace.organization.key_max_lifetime_days is None


def test_an_admin_of_another_org_gets_404(client, login, workspace_with_roles, make_user, make_org):
    workspace, _ = workspace_with_roles
    stranger = make_user(email="stranger@example.com")
    make_org(stranger, name="Other")
    login(stranger)
    assert client.post(_policy_url(workspace), data={"max_lifetime_days": "1"}).status_code == 404
    db.session.expire_all()
    assert workspace.organization.key_max_lifetime_days is None


@pytest.mark.parametrize("value, message", [
    ("0", "from 1 to 3650"), ("4000", "from 1 to 3650"), ("abc", "Not a valid integer value."),
])
def test_bad_policy_input_is_shown_inline_and_saves_nothing(client, login, workspace_with_roles,
                                                            value, message):
    workspace, users = workspace_with_roles
    login(users["admin"])
    response = client.post(_policy_url(workspace), data={"max_lifetime_days": value,
                                                         "require_expiry": "y"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    org = workspace.organization
    assert (org.key_max_lifetime_days, org.key_require_expiry) == (None, False)


def test_the_page_counts_keys_beyond_a_new_policy(client, login, workspace_with_roles, make_key):
    workspace, users = workspace_with_roles
    make_key(workspace)  # no expiry
    make_key(workspace, expires_at=utcnow() + timedelta(days=3))
    login(users["admin"])
    client.post(_policy_url(workspace), data={"max_lifetime_days": "7"})
    html = client.get(_policy_url(workspace)).get_data(as_text=True)
    assert "1 existing key is beyond this policy" in html


# ---- the audit trail ------------------------------------------------------------------------

def _policy_events():
    db.session.expire_all()
    return list(db.session.scalars(select(KeyPolicyEvent).order_by(KeyPolicyEvent.created_at)))


def test_every_policy_change_is_audited_with_who_and_what_and_shown_on_the_page(
        client, login, workspace_with_roles, runner):
    workspace, users = workspace_with_roles
    login(users["admin"])
    assert "No changes recorded yet." in client.get(_policy_url(workspace)).get_data(as_text=True)
    client.post(_policy_url(workspace), data={"max_lifetime_days": "90", "require_expiry": "y"})
    client.post(_policy_url(workspace), data={"max_lifetime_days": "90", "require_expiry": "y"})
    client.post(_policy_url(workspace), data={"max_lifetime_days": "0"})  # refused: no event
    events = _policy_events()
    assert len(events) == 1  # saving the same policy again changed nothing, and says so
    assert events[0].actor_id == users["admin"].id and events[0].org_id == workspace.org_id
    assert events[0].changes == {"key_max_lifetime_days": {"from": None, "to": 90},
                                 "key_require_expiry": {"from": False, "to": True}}

    org = workspace.organization
    assert _cli(runner, "set-key-policy", "--org", org.name, "--max-lifetime-days", "0",
                "--no-require-expiry").exit_code == 0
    events = _policy_events()
    assert len(events) == 2 and events[1].actor_id is None and events[1].actor_label == "CLI"

    page = client.get(_policy_url(workspace)).get_data(as_text=True)
    assert "Maximum lifetime: 90 days → No maximum" in page and "Expiry: Required → Not required" in page
    assert "Maximum lifetime: No maximum → 90 days" in page and "Expiry: Not required → Required" in page
    assert users["admin"].email in page and ">CLI<" in page
    assert page.index("90 days → No maximum") < page.index("No maximum → 90 days")  # newest first


def test_another_orgs_policy_changes_are_not_shown(client, login, workspace_with_roles, make_user,
                                                  make_org):
    workspace, users = workspace_with_roles
    stranger = make_user(email="stranger@example.com")
    other_org, _ = make_org(stranger, name="Other")
    lifetime.set_policy(other_org, 7, True, actor=stranger)
    db.session.commit()
    login(users["owner"])
    page = client.get(_policy_url(workspace)).get_data(as_text=True)
    assert "No changes recorded yet." in page and "stranger@example.com" not in page
