"""Several gunicorn workers behave as one app: a per-key limit is shared through Redis, and a
revoke is seen by every worker on its very next request (SPEC §5 scale-out)."""
from sureapp.extensions import db
from sureapp.keys.services import create_key, revoke_key

LIMIT = 6


def _key(make_user, make_org, abilities=("read",)):
    owner = make_user()
    _, workspace = make_org(owner)
    key, plaintext = create_key(workspace, "Integration", list(abilities), actor_label="test")
    db.session.commit()
    return key, {"X-API-Key": plaintext}


def test_per_key_limit_admits_exactly_n_requests_across_workers(
        gunicorn_app, fan_out, redis_url, make_user, make_org):
    _, headers = _key(make_user, make_org)
    with gunicorn_app(RATELIMIT_STORAGE_URI=redis_url,
                      API_RATE_LIMIT=f"{LIMIT} per minute") as server:
        answers = fan_out(f"{server.url}/api/v1/me", headers, total=4 * LIMIT)

    statuses = [status for status, _ in answers]
    workers = {pid for _, pid in answers}
    assert len(workers) == 2, f"only one worker answered ({workers}); the test proves nothing"
    # With per-worker (memory) counters each worker would admit LIMIT: up to 2 × LIMIT in total.
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 3 * LIMIT, statuses


def test_limit_is_per_key_not_per_server(gunicorn_app, fan_out, redis_url, make_user, make_org):
    _, first = _key(make_user, make_org)
    _, second = _key(make_user, make_org)
    with gunicorn_app(RATELIMIT_STORAGE_URI=redis_url,
                      API_RATE_LIMIT=f"{LIMIT} per minute") as server:
        spent = fan_out(f"{server.url}/api/v1/me", first, total=LIMIT + 2)
        fresh = fan_out(f"{server.url}/api/v1/me", second, total=LIMIT)

    assert [s for s, _ in spent].count(429) == 2
    assert {s for s, _ in fresh} == {200}, "one key's spent budget must not block another key"


def test_revoked_key_is_refused_by_every_worker_on_the_next_request(
        gunicorn_app, fan_out, make_user, make_org):
    key, headers = _key(make_user, make_org)
    with gunicorn_app() as server:
        url = f"{server.url}/api/v1/me"
        before = fan_out(url, headers, total=24)
        assert {status for status, _ in before} == {200}
        assert len({pid for _, pid in before}) == 2, "both workers must have used the key"

        revoke_key(key, actor_label="test")
        db.session.commit()
        after = fan_out(url, headers, total=24)

    assert {status for status, _ in after} == {401}, after
    assert len({pid for _, pid in after}) == 2, "both workers must have refused the key"
