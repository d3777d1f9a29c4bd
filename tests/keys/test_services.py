"""Lifecycle rules in sureapp.keys.services, the functions the UI and the CLI both call."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from sureapp.errors import NotFound, ValidationFailed
from sureapp.extensions import db
from sureapp.keys import keystring, services, state
from sureapp.models import ApiKey, ApiKeyEvent, ApiRequestLog
from sureapp.timeutil import utcnow


@pytest.fixture
def workspace(make_user, make_org):
    _, workspace = make_org(make_user(), timezone="America/New_York")
    return workspace


def events(key):
    return [e.action for e in services.key_events(key)][::-1]


def add_log(key, at, status=200):
    db.session.add(ApiRequestLog(api_key_id=key.id, workspace_id=key.workspace_id, created_at=at,
                                 method="GET", path="/api/v1/me", status=status,
                                 client_ip="127.0.0.1", user_agent="pytest"))


@pytest.mark.parametrize("name, abilities, expires_in, key_type, field", [
    ("", ["read"], None, "api", "name"),
    ("   ", ["read"], None, "api", "name"),
    ("tab\tname", ["read"], None, "api", "name"),
    ("nul\x00", ["read"], None, "api", "name"),
    ("x" * 256, ["read"], None, "api", "name"),
    ("ok", [], None, "api", "abilities"),
    ("ok", ["read", "admin"], None, "api", "abilities"),
    ("ok", ["read"], timedelta(seconds=-1), "api", "expires_at"),
    ("ok", ["read"], None, "root", "key_type"),
])
def test_create_rejects_bad_input_and_writes_nothing(workspace, name, abilities, expires_in,
                                                     key_type, field):
    expires_at = utcnow() + expires_in if expires_in is not None else None
    with pytest.raises(ValidationFailed) as caught:
        services.create_key(workspace, name, abilities, expires_at, key_type)
    assert field in caught.value.errors
    db.session.rollback()
    assert db.session.query(ApiKey).count() == 0


def test_create_normalizes_and_audits(workspace):
    key, plaintext = services.create_key(workspace, "  Zapier  ", ["DELETE", "read", "read"],
                                         key_type="mcp", actor_label="CLI")
    db.session.commit()
    assert key.name == "Zapier" and key.abilities == "read,delete" and key.key_type == "mcp"
    assert key.key_hash == keystring.digest(plaintext)
    assert (key.key_first4, key.key_last4) == (plaintext[:4], plaintext[-4:])
    event = services.key_events(key)[0]
    assert event.action == "created" and event.actor_label == "CLI"


def test_update_records_only_what_changed(workspace):
    key, plaintext = services.create_key(workspace, "Zapier", ["read"])
    expiry = utcnow().replace(microsecond=0) + timedelta(days=3)
    changes = services.update_key(key, "Zapier prod", ["read", "write"], expiry, active=True)
    db.session.commit()
    assert set(changes) == {"name", "abilities", "expires_at"}
    assert changes["name"] == {"from": "Zapier", "to": "Zapier prod"}
    assert key.key_hash == keystring.digest(plaintext)  # the string never changes on edit
    assert services.update_key(key, "Zapier prod", ["write", "read"], expiry, True) == {}
    assert events(key) == ["created", "edited"]


def test_update_toggle_revokes_and_activates(workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    changes = services.update_key(key, "Zapier", ["read"], None, active=False)
    assert changes == {"status": {"from": "active", "to": "revoked"}}
    assert key.status == "revoked" and key.revoked_at is not None
    services.update_key(key, "Zapier", ["read"], None, active=True)
    assert key.status == "active" and key.revoked_at is None


def test_update_keeps_an_unchanged_past_expiry_but_rejects_a_new_one(workspace):
    key, _ = services.create_key(workspace, "Old", ["read"])
    key.expires_at = utcnow() - timedelta(days=1)
    assert services.update_key(key, "Renamed", ["read"], key.expires_at, True) == {
        "name": {"from": "Old", "to": "Renamed"}}
    with pytest.raises(ValidationFailed) as caught:
        services.update_key(key, "Renamed", ["read"], utcnow() - timedelta(hours=1), True)
    assert "expires_at" in caught.value.errors


def test_revoke_and_activate_are_idempotent_and_audited(workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    assert services.revoke_key(key) is True
    assert services.revoke_key(key) is False
    assert state.state_of(key, utcnow()) is state.KeyState.REVOKED
    assert services.activate_key(key) is True
    assert services.activate_key(key) is False
    assert events(key) == ["created", "revoked", "activated"]


def test_regenerate_without_grace_drops_the_old_string(workspace):
    key, old = services.create_key(workspace, "Zapier", ["read", "write"])
    new = services.regenerate_key(key)
    assert new != old and keystring.is_well_formed(new)
    assert key.key_hash == keystring.digest(new)
    assert key.previous_key_hash is None
    assert key.name == "Zapier" and key.abilities == "read,write"


def test_regenerate_with_grace_keeps_the_old_string_until_it_ends(workspace):
    key, old = services.create_key(workspace, "Zapier", ["read"])
    before = utcnow()
    services.regenerate_key(key, timedelta(hours=24))
    assert key.previous_key_hash == keystring.digest(old)
    assert timedelta(hours=24) <= key.previous_key_expires_at - before < timedelta(hours=24, minutes=1)
    assert state.key_grace_pending(key, utcnow())
    # A second regenerate replaces the pending old string: only one previous string at a time.
    middle_hash = key.key_hash
    services.regenerate_key(key, timedelta(hours=1))
    assert key.previous_key_hash == middle_hash
    assert services.end_grace(key) is True
    assert key.previous_key_hash is None and key.previous_key_expires_at is None
    assert services.end_grace(key) is False
    assert events(key) == ["created", "regenerated", "regenerated", "grace_ended"]


def test_revoking_ends_a_grace_period_and_a_revoked_key_gets_none(workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    services.regenerate_key(key, timedelta(days=7))
    services.revoke_key(key)
    assert key.previous_key_hash is None
    services.regenerate_key(key, timedelta(days=7))
    assert key.previous_key_hash is None and key.status == "revoked"


@pytest.mark.parametrize("choice, expected", [
    ("none", None), ("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)),
    ("7d", timedelta(days=7)),
])
def test_grace_period_choices(choice, expected):
    assert services.grace_period(choice) == expected


@pytest.mark.parametrize("choice", ["", "30d", "forever", None])
def test_unknown_grace_period_is_a_validation_error(choice):
    with pytest.raises(ValidationFailed):
        services.grace_period(choice)


def test_get_key_hides_other_workspaces_and_bad_ids(workspace, make_org, make_user):
    _, other = make_org(make_user(), name="Other")
    key, _ = services.create_key(other, "Theirs", ["read"])
    db.session.commit()
    for key_id in (key.id, str(key.id), "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            services.get_key(workspace, key_id)
    assert services.get_key(other, str(key.id)) is key


def test_delete_removes_key_events_and_request_log(workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    keep, _ = services.create_key(workspace, "Keep", ["read"])
    add_log(key, utcnow())
    add_log(keep, utcnow())
    db.session.commit()
    key_id = key.id
    services.delete_key(key)
    db.session.commit()
    assert db.session.get(ApiKey, key_id) is None
    assert db.session.query(ApiKeyEvent).filter_by(api_key_id=key_id).count() == 0
    assert db.session.query(ApiRequestLog).filter_by(api_key_id=key_id).count() == 0
    assert db.session.query(ApiRequestLog).filter_by(api_key_id=keep.id).count() == 1


def test_purge_deletes_only_keys_revoked_long_enough(workspace):
    now = utcnow()
    old, _ = services.create_key(workspace, "Old", ["read"])
    recent, _ = services.create_key(workspace, "Recent", ["read"])
    active, _ = services.create_key(workspace, "Active", ["read"])
    services.revoke_key(old)
    services.revoke_key(recent)
    old.revoked_at = now - timedelta(days=30, minutes=1)
    recent.revoked_at = now - timedelta(days=29, hours=23)
    add_log(old, now - timedelta(days=31))
    db.session.commit()
    old_id = old.id
    assert services.purge_revoked_keys(30, now) == 1
    db.session.commit()
    assert {k.name for k in db.session.query(ApiKey)} == {"Recent", "Active"}
    assert db.session.query(ApiRequestLog).filter_by(api_key_id=old_id).count() == 0
    assert db.session.query(ApiKeyEvent).filter_by(api_key_id=old_id).count() == 0


def test_requests_per_day_buckets_by_local_day_across_a_dst_change(workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    other, _ = services.create_key(workspace, "Other", ["read"])
    # New York leaves daylight saving time on 2026-11-01 at 06:00 UTC.
    add_log(key, datetime(2026, 10, 31, 12, 0))   # Oct 31 08:00 EDT
    add_log(key, datetime(2026, 11, 1, 3, 30))    # Oct 31 23:30 EDT
    add_log(key, datetime(2026, 11, 1, 4, 30))    # Nov 1 00:30 EDT
    add_log(key, datetime(2026, 11, 2, 4, 30))    # Nov 1 23:30 EST
    add_log(key, datetime(2026, 11, 2, 5, 30))    # Nov 2 00:30 EST
    add_log(key, datetime(2026, 10, 1, 12, 0))    # outside the 14 days
    add_log(other, datetime(2026, 11, 1, 12, 0))  # another key
    db.session.commit()
    per_day = dict(services.requests_per_day(key, workspace.timezone, 14,
                                             now=datetime(2026, 11, 5, 12, 0)))
    assert len(per_day) == 14
    assert min(per_day).isoformat() == "2026-10-23" and max(per_day).isoformat() == "2026-11-05"
    assert per_day[datetime(2026, 10, 31).date()] == 2
    assert per_day[datetime(2026, 11, 1).date()] == 2
    assert per_day[datetime(2026, 11, 2).date()] == 1
    assert sum(per_day.values()) == 5


def test_status_filters(workspace):
    now = utcnow()
    active, _ = services.create_key(workspace, "Active", ["read"])
    soon, _ = services.create_key(workspace, "Soon", ["read"], expires_at=now + timedelta(days=2))
    later, _ = services.create_key(workspace, "Later", ["read"], expires_at=now + timedelta(days=30))
    expired, _ = services.create_key(workspace, "Expired", ["read"])
    expired.expires_at = now - timedelta(minutes=1)
    revoked, _ = services.create_key(workspace, "Revoked", ["read"])
    services.revoke_key(revoked)
    db.session.commit()

    def names(**filters):
        return {k.name for k in db.session.scalars(services.keys_query(workspace, now=now, **filters))}

    assert names(status="active") == {"Active", "Soon", "Later"}
    assert names(status="expiring") == {"Soon"}
    assert names(status="expired") == {"Expired"}
    assert names(status="revoked") == {"Revoked"}
    assert names() == {"Active", "Soon", "Later", "Expired", "Revoked"}
    assert names(search="LAT") == {"Later"}


def test_search_treats_like_wildcards_literally(workspace):
    services.create_key(workspace, "100% sync", ["read"])
    services.create_key(workspace, "1000 sync", ["read"])
    services.create_key(workspace, "a_b", ["read"])
    services.create_key(workspace, "axb", ["read"])
    db.session.commit()

    def names(search):
        return {k.name for k in db.session.scalars(services.keys_query(workspace, search=search))}

    assert names("0%") == {"100% sync"}
    assert names("a_b") == {"a_b"}


def _plan(stmt) -> str:
    """The database's plan for `stmt` (PostgreSQL told to avoid a sequential scan, which it
    prefers on a table this small whatever the indexes)."""
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())
    return "\n".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def test_a_keys_table_page_is_read_in_index_order_without_a_sort(workspace, make_key):
    """ix_api_keys_workspace_created (workspace_id, created_at, id) is the table's keyset order,
    so the first page and a page after a cursor each read PER_PAGE + 1 index entries."""
    from sureapp.keys.routes import KEYS_ORDER, PER_PAGE
    from sureapp.pagination import AFTER

    last = [make_key(workspace, name=f"k{i}")[0] for i in range(3)][-1]
    query = services.keys_query(workspace)
    first = query.order_by(*KEYS_ORDER.order_by()).limit(PER_PAGE + 1)
    after = query.where(KEYS_ORDER.past(KEYS_ORDER.values_of(last), AFTER)) \
        .order_by(*KEYS_ORDER.order_by()).limit(PER_PAGE + 1)
    for stmt in (first, after):
        plan = _plan(stmt)
        assert "ix_api_keys_workspace_created" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    db.session.rollback()
