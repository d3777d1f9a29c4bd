"""The key-state rule: the Python rule and its SQL twin agree, and the auth decision."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.keys import state
from sureapp.keys.state import KeyState, Refusal, refusal, state_at, state_clause
from sureapp.models import ApiKey

NOW = datetime(2030, 6, 15, 12, 0, 0)
SOON = timedelta(days=7)
# Every boundary of the rule, and a step either side of it.

@pytest.fixture
def workspace(make_user, make_org):
    return make_org(make_user())[1]


EXPIRIES = [None] + [NOW + delta for delta in (
    -timedelta(days=30), -timedelta(seconds=1), timedelta(0), timedelta(seconds=1),
    timedelta(days=3), SOON - timedelta(seconds=1), SOON, SOON + timedelta(seconds=1),
    timedelta(days=365))]


def test_sql_twin_selects_exactly_the_keys_the_python_rule_puts_in_each_state(app, workspace):
    keys = []
    for n, (status, expires_at) in enumerate(
            (s, e) for s in ("active", "revoked") for e in EXPIRIES):
        keys.append(ApiKey(workspace_id=workspace.id, name=f"k{n}", abilities="read",
                           key_hash=f"{n:064d}", key_first4="abcd", key_last4="wxyz",
                           status=status, expires_at=expires_at))
    db.session.add_all(keys)
    db.session.commit()
    for soon in (SOON, timedelta(0), timedelta(days=1)):
        for now in (NOW, NOW + timedelta(days=3)):
            for key_state in KeyState:
                expected = {k.name for k in keys if state_at(k.status, k.expires_at, now, soon)
                            is key_state}
                selected = set(db.session.scalars(
                    select(ApiKey.name).where(state_clause(key_state, now, soon))))
                assert selected == expected, (key_state, soon, now)
    usable = {k.name for k in keys if state_at(k.status, k.expires_at, NOW, SOON).is_usable}
    assert set(db.session.scalars(select(ApiKey.name).where(
        state_clause(state.USABLE, NOW, SOON)))) == usable
    assert len(usable) == 7  # never expiring + 6 future expiries; revoked ones never


def test_state_boundaries():
    assert state_at("active", NOW, NOW) is KeyState.EXPIRED
    assert state_at("active", NOW + timedelta(seconds=1), NOW) is KeyState.EXPIRING_SOON
    assert state_at("active", NOW + SOON, NOW, SOON) is KeyState.EXPIRING_SOON
    assert state_at("active", NOW + SOON + timedelta(seconds=1), NOW, SOON) is KeyState.ACTIVE
    assert state_at("active", None, NOW) is KeyState.ACTIVE
    assert state_at("revoked", NOW - timedelta(days=1), NOW) is KeyState.REVOKED


@pytest.mark.parametrize("app_config", [{"KEY_EXPIRING_SOON_DAYS": 2}])
def test_expiring_soon_window_comes_from_config(app):
    assert state.expiring_soon_window() == timedelta(days=2)
    assert state_at("active", NOW + timedelta(days=3), NOW) is KeyState.ACTIVE
    assert state_at("active", NOW + timedelta(days=2), NOW) is KeyState.EXPIRING_SOON


def test_expiring_soon_window_defaults_to_seven_days(app):
    assert state.expiring_soon_window() == timedelta(days=7)


def _refusal(**overrides):
    values = dict(status="active", expires_at=None, key_type="api", surface="api", now=NOW)
    values.update(overrides)
    return refusal(**values)


def test_refusal_accepts_a_working_key_on_its_surfaces():
    assert _refusal() is None
    assert _refusal(surface="mcp") is None
    assert _refusal(key_type="mcp", surface="mcp") is None
    assert _refusal(key_type="suremails", surface="api") is None
    assert _refusal(expires_at=NOW + timedelta(seconds=1)) is None


@pytest.mark.parametrize("overrides, expected", [
    ({"status": "revoked"}, Refusal.REVOKED),
    ({"expires_at": NOW}, Refusal.EXPIRED),
    ({"status": "revoked", "expires_at": NOW - timedelta(days=1)}, Refusal.REVOKED),
    ({"key_type": "mcp", "surface": "api"}, Refusal.WRONG_TYPE),
    ({"key_type": "suremails", "surface": "mcp"}, Refusal.WRONG_TYPE),
    ({"key_type": "nonsense"}, Refusal.WRONG_TYPE),
    # The string a regenerate replaced: only during its grace period, and never once revoked.
    ({"via_previous": True, "previous_key_expires_at": None}, Refusal.REGENERATED),
    ({"via_previous": True, "previous_key_expires_at": NOW}, Refusal.REGENERATED),
    ({"via_previous": True, "previous_key_expires_at": NOW + timedelta(hours=1),
      "status": "revoked"}, Refusal.REVOKED),
])
def test_refusal_reasons(overrides, expected):
    assert _refusal(**overrides) is expected


def test_previous_string_works_during_its_grace_period():
    assert _refusal(via_previous=True, previous_key_expires_at=NOW + timedelta(seconds=1)) is None


def test_refusal_codes_are_stable_and_details_are_the_401_words():
    assert {r.code for r in Refusal} == {"regenerated", "revoked", "expired", "wrong_type",
                                         "scope", "ip"}
    assert Refusal.REVOKED.message("api", "api") == "This API key has been revoked."
    assert (Refusal.WRONG_TYPE.message("mcp", "api")
            == "A key of type 'mcp' cannot be used on the JSON API.")
    assert (Refusal.WRONG_TYPE.message("suremails", "mcp")
            == "A key of type 'suremails' cannot be used on the MCP endpoint.")
