"""JSON-RPC batches as an attacker sends them (security review, finding 1): a batch is one HTTP
request doing many things, so its size is capped before any message runs."""
import json
import uuid

import pytest

from sureapp.extensions import db
from sureapp.mcp import protocol
from sureapp.mcp.protocol import MAX_BATCH
from sureapp.models import ApiRequestLog, ContactList

BATCH_VERSION = "2025-03-26"  # the one revision with batches


@pytest.fixture
def writer(make_key, workspace):
    return make_key(workspace, ("read", "write"))[1]


def create_list_calls(count: int, first: int = 0) -> list[dict]:
    return [{"jsonrpc": "2.0", "id": n, "method": "tools/call",
             "params": {"name": "create_list", "arguments": {"name": f"List {n}"}}}
            for n in range(first, first + count)]


def lists_in_db() -> int:
    db.session.expire_all()
    return db.session.query(ContactList).count()


@pytest.fixture
def messages_handled(monkeypatch):
    """How many messages the dispatcher started on (none, for a body refused as a whole)."""
    seen = []
    original = protocol.Dispatcher._handle_message

    def counting(self, message, version):
        seen.append(message)
        return original(self, message, version)

    monkeypatch.setattr(protocol.Dispatcher, "_handle_message", counting)
    return seen


def test_the_3000_call_reproduction_is_refused_and_creates_nothing(rpc, writer, messages_handled):
    response = rpc(create_list_calls(3000), key=writer, version=BATCH_VERSION)
    assert response.status_code == 400
    body = response.get_json()
    assert body["id"] is None and body["error"]["code"] == -32600
    assert body["error"]["message"] == (f"A JSON-RPC batch may hold at most {MAX_BATCH} messages; "
                                        "this one has 3000. Send the messages in several requests.")
    assert body["error"]["data"] == {"maxBatch": MAX_BATCH, "received": 3000}
    assert messages_handled == []
    assert lists_in_db() == 0


def test_the_worker_killing_batch_is_refused_before_any_message_runs(rpc, writer,
                                                                     messages_handled):
    """The 1.4 MB body of 14,000 calls that held a gunicorn worker past its timeout."""
    body = json.dumps(create_list_calls(14_000)).encode()
    assert len(body) > 1_300_000
    response = rpc(body, key=writer, version=BATCH_VERSION)
    assert response.status_code == 400
    assert response.get_json()["error"]["data"]["received"] == 14_000
    assert messages_handled == []
    assert lists_in_db() == 0


def test_a_batch_at_the_cap_is_answered_in_full(rpc, writer):
    response = rpc(create_list_calls(MAX_BATCH), key=writer, version=BATCH_VERSION)
    assert response.status_code == 200
    answers = response.get_json()
    assert [a["id"] for a in answers] == list(range(MAX_BATCH))
    assert not any(a["result"]["isError"] for a in answers)
    assert lists_in_db() == MAX_BATCH


def test_one_past_the_cap_is_refused_whole(rpc, writer):
    response = rpc(create_list_calls(MAX_BATCH + 1), key=writer, version=BATCH_VERSION)
    assert response.get_json()["error"]["data"]["received"] == MAX_BATCH + 1
    assert lists_in_db() == 0


# ---- the per-key budget: one unit per message ------------------------------------------------

PING = {"jsonrpc": "2.0", "id": "p", "method": "ping"}


def remaining(response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


class TestBudget:
    @pytest.fixture
    def app_config(self):
        return {"API_RATE_LIMIT": "10 per minute", "RATELIMIT_KEY_PREFIX": f"t{uuid.uuid4().hex}"}

    def test_each_message_of_a_batch_costs_one_unit(self, rpc, writer):
        response = rpc(create_list_calls(4), key=writer, version=BATCH_VERSION)
        assert response.status_code == 200
        assert remaining(response) == 6
        assert lists_in_db() == 4

    def test_a_batch_beyond_the_remaining_budget_is_refused_whole(self, rpc, client, writer):
        assert remaining(rpc(create_list_calls(4), key=writer, version=BATCH_VERSION)) == 6
        refused = rpc(create_list_calls(7, first=4), key=writer, version=BATCH_VERSION)
        assert refused.status_code == 429
        error = refused.get_json()["error"]
        assert "7 asked at once, 6 left" in error["message"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert lists_in_db() == 4  # nothing of the refused batch ran
        # Refused whole means charged nothing: the six units left still buy six calls.
        exact = rpc(create_list_calls(6, first=4), key=writer, version=BATCH_VERSION)
        assert exact.status_code == 200 and remaining(exact) == 0
        assert not any(answer["result"]["isError"] for answer in exact.get_json())
        assert lists_in_db() == 10
        assert rpc(PING, key=writer).status_code == 429
        # One budget with the API: it is spent there too.
        assert client.get("/api/v1/me", headers={"X-API-Key": writer}).status_code == 429

    def test_a_refused_oversized_batch_costs_one_request(self, rpc, writer):
        response = rpc(create_list_calls(3000), key=writer, version=BATCH_VERSION)
        assert response.status_code == 400
        assert remaining(response) == 9


def test_every_message_of_a_batch_is_a_request_log_row(rpc, make_key, workspace, flush_usage):
    key, plaintext = make_key(workspace, ("read", "write"))
    batch = [*create_list_calls(2), PING, {"jsonrpc": "2.0", "method": "notifications/initialized"}]
    assert rpc(batch, key=plaintext, version=BATCH_VERSION).status_code == 200
    flush_usage()
    rows = db.session.query(ApiRequestLog).filter_by(api_key_id=key.id).all()
    assert sorted((r.method, r.path, r.status) for r in rows) == [
        ("POST", "/mcp notifications/initialized", 200), ("POST", "/mcp ping", 200),
        ("POST", "/mcp tools/call create_list", 200), ("POST", "/mcp tools/call create_list", 200)]
