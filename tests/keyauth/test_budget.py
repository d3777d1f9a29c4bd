"""Per-key budgets (separate per key), per-IP failed-auth budget, headers, Redis sharing."""
import os
import time
import uuid

import pytest

from sureapp import create_app
from sureapp.extensions import db

from .conftest import ApiClient, assert_problem


@pytest.fixture
def app_config():
    return {"API_RATE_LIMIT": "3 per minute", "API_AUTH_FAILURE_LIMIT": "2 per minute"}


def test_headers_on_every_keyed_response(api):
    remaining = []
    for _ in range(3):
        response = api.get("/me")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        reset = int(response.headers["X-RateLimit-Reset"])
        assert time.time() - 1 <= reset <= time.time() + 61
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]


ONCE = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Cache-Control",
        "Pragma", "X-Request-Id")


def test_each_keyed_header_is_sent_once_on_success_refusal_and_limit(api, api_as, client):
    """keyauth.finish appends its headers rather than setting them one by one: none may be
    doubled, not even on the 429 whose problem carries the rate-limit headers already."""
    answers = [api.get("/me"), api.get(f"/contacts/{uuid.uuid4()}"),
               api_as("sk_" + "x" * 57).get("/me"), api.get("/me"), api.get("/me")]
    assert [r.status_code for r in answers] == [200, 404, 401, 200, 429]
    for response in answers:
        for name in ONCE:
            assert len(response.headers.getlist(name)) == 1, (response.status_code, name)
    assert len(answers[0].headers.getlist("ETag")) == 1
    assert answers[-1].headers["Cache-Control"] == "no-store"
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"


def test_the_budget_spans_routes_and_error_responses(api):
    assert api.get("/me").status_code == 200
    assert api.get(f"/contacts/{uuid.uuid4()}").status_code == 404  # counted, with headers
    response = api.post("/contacts", json={"bogus": 1})
    assert response.status_code == 422
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert_problem(api.get("/me"), 429)


def test_over_the_limit_is_a_429_problem_with_retry_after(api):
    for _ in range(3):
        api.get("/me")
    response = api.get("/me")
    body = assert_problem(response, 429)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60 and body["retry_after"] == retry_after
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Limit"] == "3"


def test_two_keys_never_share_a_budget(api_as, make_key, workspace):
    first, second = make_key(workspace)[1], make_key(workspace)[1]
    for _ in range(3):
        assert api_as(first).get("/me").status_code == 200
    assert_problem(api_as(first).get("/me"), 429)
    response = api_as(second, "bearer").get("/me")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "2"


def test_a_403_still_counts(api_as, make_key, workspace):
    _, read_only = make_key(workspace, abilities=("read",))
    client = api_as(read_only)
    for _ in range(3):
        response = client.delete(f"/contacts/{uuid.uuid4()}")
        assert response.status_code == 403 and "X-RateLimit-Remaining" in response.headers
    assert_problem(client.get("/me"), 429)


def test_failed_authentication_is_limited_per_client_ip(client, full_key):
    bad = ApiClient(client, "not-a-key")
    for _ in range(2):
        response = bad.get("/me")
        assert_problem(response, 401)
        assert response.headers["X-RateLimit-Limit"] == "2"
    response = bad.get("/me")
    body = assert_problem(response, 429)
    assert "failed authentication" in body["detail"]
    assert int(response.headers["Retry-After"]) >= 1
    # A valid key from the same address is still served (behind NAT one broken client must
    # not lock out every integration), and is charged to its own budget, not the failures'…
    good = ApiClient(client, full_key).get("/me")
    assert good.status_code == 200
    assert good.headers["X-RateLimit-Limit"] == "3"
    # …while failing requests from that address stay refused.
    assert_problem(bad.get("/me"), 429)


def test_successful_requests_do_not_use_the_failure_budget(api):
    for _ in range(3):
        response = api.get("/me")
        assert response.headers["X-RateLimit-Limit"] == "3"


def test_openapi_document_is_not_keyed(client):
    for _ in range(5):
        assert client.get("/api/v1/openapi.json").status_code == 200


def test_login_is_still_rate_limited_by_its_own_rules(client):
    """The API's use of the limiter leaves the app's decorated limits (login) working."""
    statuses = [client.post("/login", data={"email": "x@example.com", "password": "wrong"},
                            environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code
                for _ in range(15)]
    assert 429 in statuses


REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set")
def test_two_app_instances_share_one_budget_through_redis(backend, database_urls, workspace,
                                                          make_key):
    import redis

    prefix = f"test-{uuid.uuid4().hex[:10]}"
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_urls[backend],
              "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix,
              "API_RATE_LIMIT": "4 per minute"}
    _, plaintext = make_key(workspace)
    db.session.commit()
    first, second = create_app(config), create_app(config)
    headers = {"X-API-Key": plaintext}
    try:
        statuses = []
        for app in (first, second, first, second, first):
            with app.app_context():
                statuses.append(app.test_client().get("/api/v1/me", headers=headers).status_code)
        assert statuses == [200, 200, 200, 200, 429]
        stored = redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*")
        assert stored, "the counters live in Redis"
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for name in client.keys(f"*{prefix}*"):
            client.delete(name)
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()
