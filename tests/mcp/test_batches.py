"""JSON-RPC batches as an attacker sends them (security review, finding 1): a batch is one HTTP
request doing many things, so its size is capped before any message runs."""
import json

import pytest

from sureapp.extensions import db
from sureapp.mcp import protocol
from sureapp.mcp.protocol import MAX_BATCH
from sureapp.models import ContactList

BATCH_VERSION = "2025-03-26"  # the one revision with batches


@pytest.fixture
def writer(make_key, workspace):
    return make_key(workspace, ("read", "write"))[1]


def create_list_calls(count: int) -> list[dict]:
    return [{"jsonrpc": "2.0", "id": n, "method": "tools/call",
             "params": {"name": "create_list", "arguments": {"name": f"List {n}"}}}
            for n in range(count)]


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
