"""Key changes are compare-and-set: concurrent changes to one key equal some serial order.

The attack (issue 13, finding 4): a key leaks; one manager revokes it while another (or the same
one, in a second tab) regenerates it with a grace period. Both requests load the key, then both
write. Without a lock or a version the regenerate's write put the old string back as a grace
string on the revoked key, and activating the key later (the leak "handled" by the regenerate)
made the leaked string work again. Each test below makes both requests load the key first, then
lets them write at once, on SQLite and PostgreSQL.
"""
import threading
from datetime import timedelta

import pytest

from sureapp.extensions import db
from sureapp.keys import services
from sureapp.models import ApiKey, ApiKeyEvent
from sureapp.timeutil import utcnow

ROUNDS = 8
GRACE = timedelta(hours=1)


@pytest.fixture
def workspace(make_user, make_org):
    return make_org(make_user())[1]


def race(app, key_id, *actions):
    """Run each action(key) in its own thread and session, all loading the key before any
    writes; returns each action's result or the exception it raised."""
    loaded = threading.Barrier(len(actions), timeout=20)
    results = [None] * len(actions)

    def run(index, action):
        with app.app_context():
            try:
                key = db.session.get(ApiKey, key_id)
                loaded.wait()
                results[index] = action(key)
                db.session.commit()
            except Exception as exc:  # reported to the test, which asserts on it
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a key change hung (deadlock?)"
    db.session.expire_all()
    return results


def status_with(client, plaintext):
    return client.get("/api/v1/me", headers={"X-API-Key": plaintext}).status_code


def test_revoke_racing_regenerate_leaves_no_working_string(app, client, workspace):
    for _ in range(ROUNDS):
        key, old = services.create_key(workspace, "Leaked", ["read"])
        db.session.commit()
        seen = key.version
        revoked, regenerated = race(
            app, key.id,
            lambda k: services.revoke_key(k, actor_label="manager A"),
            lambda k: services.regenerate_key(k, GRACE, actor_label="manager B",
                                              expected_version=seen))
        assert revoked is True
        key = db.session.get(ApiKey, key.id)
        assert key.status == "revoked"
        assert key.previous_key_hash is None and key.previous_key_expires_at is None
        new = regenerated if isinstance(regenerated, str) else None
        if new is None:  # the revoke went first: the regenerate was refused, nothing changed
            assert isinstance(regenerated, services.KeyChanged)
        assert status_with(client, old) == 401
        if new:
            assert status_with(client, new) == 401
        # Activating the key again revives only its current string, never one a regenerate
        # replaced (the revoke ended that string's grace period, whichever ran first).
        services.activate_key(key)
        db.session.commit()
        if new:
            assert status_with(client, old) == 401 and status_with(client, new) == 200
        else:
            assert status_with(client, old) == 200  # never replaced: still the key's string


def test_two_changes_made_from_one_page_view_cannot_both_win(app, client, workspace):
    """Both managers saw version N: exactly one change applies, the other is told it lost."""
    outcomes = set()
    for _ in range(ROUNDS):
        key, old = services.create_key(workspace, "Shared", ["read"])
        db.session.commit()
        seen = key.version
        revoked, regenerated = race(
            app, key.id,
            lambda k: services.revoke_key(k, expected_version=seen),
            lambda k: services.regenerate_key(k, GRACE, expected_version=seen))
        lost = [r for r in (revoked, regenerated) if isinstance(r, services.KeyChanged)]
        assert len(lost) == 1, (revoked, regenerated)
        key = db.session.get(ApiKey, key.id)
        assert key.version == seen + 1
        events = [e.action for e in db.session.query(ApiKeyEvent).filter_by(api_key_id=key.id)]
        if revoked is True:
            outcomes.add("revoke won")
            assert key.status == "revoked" and key.previous_key_hash is None
            assert sorted(events) == ["created", "revoked"]
            assert status_with(client, old) == 401
        else:
            outcomes.add("regenerate won")
            assert key.status == "active" and sorted(events) == ["created", "regenerated"]
            assert status_with(client, regenerated) == 200
            assert status_with(client, old) == 200  # its grace period, as asked for
            # The revoke, retried after a reload, ends the grace string too.
            services.revoke_key(key, expected_version=key.version)
            db.session.commit()
            assert status_with(client, old) == 401 and status_with(client, regenerated) == 401
    assert outcomes  # at least one round ran to the end


def test_edit_made_before_a_revoke_cannot_reactivate_it(app, workspace):
    """An edit form opened while the key was active still says Active; saving it after someone
    revoked the key must not quietly activate it again."""
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    db.session.commit()
    seen = key.version
    results = race(app, key.id, lambda k: services.revoke_key(k, expected_version=seen))
    assert results == [True]
    key = db.session.get(ApiKey, key.id)
    with pytest.raises(services.KeyChanged):
        services.update_key(key, "Renamed", ["read"], None, True, expected_version=seen)
    db.session.rollback()
    key = db.session.get(ApiKey, key.id)
    assert (key.name, key.status) == ("Zapier", "revoked")


def test_every_change_checks_the_version(workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    services.regenerate_key(key, GRACE)
    db.session.commit()
    stale = key.version - 1
    changes = [
        lambda: services.update_key(key, "X", ["read"], None, True, expected_version=stale),
        lambda: services.revoke_key(key, expected_version=stale),
        lambda: services.activate_key(key, expected_version=stale),
        lambda: services.regenerate_key(key, None, expected_version=stale),
        lambda: services.end_grace(key, expected_version=stale),
        lambda: services.delete_key(key, expected_version=stale),
    ]
    before = (key.name, key.status, key.key_hash, key.previous_key_hash, key.version)
    for change in changes:
        with pytest.raises(services.KeyChanged):
            change()
        db.session.rollback()
        key = db.session.get(ApiKey, key.id)
        assert (key.name, key.status, key.key_hash, key.previous_key_hash, key.version) == before
    assert services.end_grace(key, expected_version=key.version) is True
    assert key.version == before[-1] + 1


def test_a_change_to_a_key_deleted_meanwhile_is_refused(app, workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read"])
    db.session.commit()
    key_id = key.id  # loaded, as a view loads it before acting
    assert race(app, key_id, lambda k: services.delete_key(k)) == [None]
    with pytest.raises(services.KeyChanged):
        services.revoke_key(key)
    db.session.rollback()
    assert db.session.get(ApiKey, key_id) is None


def test_purge_judges_a_key_after_a_concurrent_activate(app, workspace):
    key, _ = services.create_key(workspace, "Old", ["read"])
    services.revoke_key(key)
    key.revoked_at = utcnow() - timedelta(days=40)
    db.session.commit()
    key_id = key.id
    activated, purged = race(app, key_id, lambda k: services.activate_key(k),
                             lambda k: services.purge_revoked_keys(30))
    key = db.session.get(ApiKey, key_id)
    if activated is True and purged == 0:
        assert key is not None and key.status == "active"
    else:  # the purge went first: the activate found the key gone and changed nothing
        assert purged == 1 and isinstance(activated, services.KeyChanged) and key is None
