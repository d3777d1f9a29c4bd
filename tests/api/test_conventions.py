"""The conventions every /api route keeps (issue #15), checked route by route over the operation
registry, so an operation added later is covered the day it is declared:
- every keyed POST/PUT/PATCH/DELETE honours Idempotency-Key (replay, 422 for another request);
- every GET answers with a strong ETag and 304 to If-None-Match;
- every response carries X-Request-Id, and a problem repeats it as request_id;
- every path answers a CORS preflight from a listed origin with its methods.
"""
import uuid

import pytest

from sureapp.api.idempotency import HEADER, REPLAYED_HEADER
from sureapp.operations import OPERATIONS

ORIGIN = "https://app.example.com"
KEYED_WRITES = [op for op in OPERATIONS if op.ability is not None and op.method != "GET"]
GETS = [op for op in OPERATIONS if op.method == "GET"]
# The POST bodies that create what a path id names, through the API itself.
SEEDS = {
    "list_id": ("/lists", {"name": "Seed list"}),
    "tag_id": ("/tags", {"name": "Seed tag"}),
    "campaign_id": ("/campaigns", {"name": "Seed campaign", "subject": "Hello"}),
    "automation_id": ("/automations", {"name": "Seed automation", "trigger": "contact_created"}),
    "webhook_id": ("/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    "contact_id": ("/contacts", {"email": "seed@example.com"}),
}


@pytest.fixture
def app_config():
    return {"API_CORS_ORIGINS": ORIGIN, "WEBHOOK_ALLOW_PRIVATE_URLS": True}


def _id(op) -> str:
    return f"{op.method} {op.path}"


def existing_path(api, op) -> str:
    """op's path with every id naming a resource of the key's workspace."""
    ids = {}
    for name in op.path_params:
        if name == "delivery_id":
            response = api.post(f"/webhooks/{ids['webhook_id']}/test")
        else:
            assert name in SEEDS, f"add a seed for {name} to SEEDS"
            response = api.post(*SEEDS[name])
        assert response.status_code in (201, 202), response.get_data(as_text=True)
        ids[name] = response.get_json()["id"]
    return op.path.format(**ids)


def random_path(op) -> str:
    return op.path.format(**{name: uuid.uuid4() for name in op.path_params})


def assert_request_id(response):
    request_id = response.headers.get("X-Request-Id")
    assert request_id, response.headers
    if response.mimetype == "application/problem+json":
        assert response.get_json()["request_id"] == request_id


@pytest.mark.parametrize("op", KEYED_WRITES, ids=_id)
def test_every_write_replays_its_first_answer_for_the_same_idempotency_key(api, op):
    path = random_path(op)  # a 404 is a first answer like any other, and changes nothing
    body = {} if op.body is not None else None
    key = {HEADER: f"conventions-{op.name}"}
    first = api.request(op.method, path, json=body, headers=key)
    again = api.request(op.method, path, json=body, headers=key)
    assert_request_id(first)
    assert again.headers.get(REPLAYED_HEADER) == "true", again.get_data(as_text=True)
    assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
    other = api.request(op.method, random_path(op) if op.path_params else path,
                        json={"other": True} if op.body is not None else None, headers=key)
    if op.path_params or op.body is not None:
        assert other.status_code == 422, other.get_data(as_text=True)
        assert_request_id(other)


@pytest.mark.parametrize("op", GETS, ids=_id)
def test_every_get_has_a_strong_etag_and_answers_304_to_it(api, op):
    path = existing_path(api, op)
    first = api.get(path)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert_request_id(first)
    etag = first.headers.get("ETag", "")
    assert etag.startswith('"') and etag.endswith('"'), first.headers  # strong: no W/
    unchanged = api.get(path, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == etag
    assert_request_id(unchanged)


@pytest.mark.parametrize("op", OPERATIONS, ids=_id)
def test_every_path_answers_a_cors_preflight_with_its_methods(client, op):
    response = client.open(f"/api/v1{random_path(op)}", method="OPTIONS", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": op.method,
        "Access-Control-Request-Headers": "x-api-key, content-type, idempotency-key"})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert op.method in methods
    assert_request_id(response)


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.ability is not None], ids=_id)
def test_every_keyed_refusal_is_a_problem_with_the_request_id(client, op):
    response = client.open(f"/api/v1{random_path(op)}", method=op.method)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert_request_id(response)
