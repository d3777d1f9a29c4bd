"""What one authenticated read costs in round trips (issue 11): two SQL statements (the key with
its workspace; the contact with its list and tag ids), no write, no transaction, and one
rate-limit storage operation — counted, not timed."""
import os
import uuid

import pytest

from sureapp.keyauth.budget import MemoryCounters

from tests.conftest import driver_statements

from .conftest import assert_problem

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def statements(app):
    """(first word of the SQL, autocommit?) for every statement the driver sends meanwhile
    (tests/conftest.driver_statements: the hot reads bypass SQLAlchemy's engine events)."""
    with driver_statements() as seen:
        yield seen


@pytest.fixture
def contact_id(api):
    lst = api.post("/lists", json={"name": "Customers"}).get_json()
    tag = api.post("/tags", json={"name": "VIP"}).get_json()
    contact = api.post("/contacts", json={"email": "ada@example.com", "list_ids": [lst["id"]],
                                          "tag_ids": [tag["id"]]}).get_json()
    return contact["id"], lst["id"], tag["id"]


def test_an_authenticated_contact_read_is_two_statements_without_a_transaction(
        api, contact_id, statements, backend):
    contact, list_id, tag_id = contact_id
    api.get(f"/contacts/{contact}")  # warm: compiled-statement caches, pool
    statements.clear()

    response = api.get(f"/contacts/{contact}")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["list_ids"], body["tag_ids"]) == ([list_id], [tag_id])
    assert [verb for verb, _ in statements] == ["SELECT", "SELECT"], statements
    if backend == "postgresql":  # autocommit: no BEGIN before, no ROLLBACK after
        assert all(autocommit for _, autocommit in statements), statements


def test_a_contact_without_memberships_reads_in_the_same_two_statements(api, statements):
    contact = api.post("/contacts", json={"email": "solo@example.com"}).get_json()["id"]
    statements.clear()
    body = api.get(f"/contacts/{contact}").get_json()
    assert (body["email"], body["list_ids"], body["tag_ids"]) == ("solo@example.com", [], [])
    assert len(statements) == 2


def test_a_contact_of_another_workspace_is_404_in_two_statements(api_as, make_key,
                                                                  other_workspace, api,
                                                                  statements):
    theirs = api_as(make_key(other_workspace)[1]).post(
        "/contacts", json={"email": "theirs@example.com"}).get_json()["id"]
    statements.clear()
    assert_problem(api.get(f"/contacts/{theirs}"), 404)
    assert len(statements) == 2


@pytest.fixture
def memory_charges(monkeypatch):
    """The budget names charged in memory storage while the test runs."""
    names = []
    original = MemoryCounters.charge

    def counting(self, name, units, limit, window):
        names.append((name.split(":budget:")[1].split(":")[0], units))
        return original(self, name, units, limit, window)

    monkeypatch.setattr(MemoryCounters, "charge", counting)
    return names


def test_a_keyed_request_is_one_budget_operation_and_never_touches_the_failure_budget(
        api, memory_charges):
    for _ in range(3):
        assert api.get("/me").status_code == 200
    assert memory_charges == [("key", 1)] * 3


def test_a_failed_authentication_is_one_operation_on_the_failure_budget(client, memory_charges):
    response = client.get("/api/v1/me", headers={"X-API-Key": "sure" + "x" * 56})
    assert_problem(response, 401)
    assert memory_charges == [("auth-failure", 1)]


@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "5 per minute"}])
def test_units_are_charged_whole_or_not_at_all(app, api, app_config):
    from flask import g

    from sureapp import keyauth, keyed_app
    from sureapp.problems import ApiProblem

    key_id = api.get("/me").get_json()["id"]  # 1 unit spent, 4 left
    with keyed_app(app).test_request_context("/mcp"):
        key = _context_for(key_id)  # the charge reads only the key's id
        keyauth.charge(key, units=3)
        assert g.budget.remaining == 1
        with pytest.raises(ApiProblem) as refused:
            keyauth.charge(key, units=2)
        assert refused.value.status == 429 and "(2 asked at once, 1 left)" in refused.value.detail
    # The refused charge took nothing: the last unit is still there.
    assert api.get("/me").headers["X-RateLimit-Remaining"] == "0"


def _context_for(key_id):
    from sureapp.keyauth import KeyContext, WorkspaceRef

    return KeyContext(uuid.UUID(key_id), "k", "api", ("read",), "active", None, False, None, "",
                      WorkspaceRef(uuid.uuid4(), uuid.uuid4(), "w", "UTC", None))


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set")
@pytest.mark.parametrize("app_config", [{"RATELIMIT_STORAGE_URI": REDIS_URL or "",
                                         "RATELIMIT_KEY_PREFIX": f"rt-{uuid.uuid4().hex}"}])
def test_on_redis_a_keyed_request_is_one_round_trip(app, api, app_config, monkeypatch):
    from redis.connection import AbstractConnection

    api.get("/me")  # the first call connects (and may load the script)
    commands = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, *args, **options):
        packed = b"".join(command) if isinstance(command, list) else command
        commands.append(packed.split(b"\r\n")[2])  # *N, $len, the command's name
        return original(self, command, *args, **options)

    # What is written to the socket: a command redis-py or sureapp sends by any path counts.
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    response = api.get("/me")
    assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"]
    assert commands == [b"EVALSHA"]


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set")
def test_the_redis_budget_socket_blocks_with_kernel_timeouts(app):
    """No poll before each send and receive (Python's timeout mode): the socket blocks, and
    REDIS_TIMEOUT_SECONDS is its SO_RCVTIMEO/SO_SNDTIMEO."""
    import socket
    import struct

    from sureapp.keyauth.budget import REDIS_TIMEOUT_SECONDS, RedisCounters

    sock = RedisCounters(REDIS_URL)._connection()._sock
    try:
        assert sock.gettimeout() is None
        for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
            seconds, micros = struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, option, 16))
            assert seconds + micros / 1e6 == REDIS_TIMEOUT_SECONDS
    finally:
        sock.close()


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set")
def test_a_redis_charge_reloads_a_script_redis_has_forgotten(app):
    """After a Redis restart (scripts gone) the EVALSHA is refused with NOSCRIPT: one EVAL
    charges and loads the script again; the counter is the same one."""
    from sureapp.keyauth.budget import RedisCounters

    counters = RedisCounters(REDIS_URL)
    name = f"rt-{uuid.uuid4().hex}:budget:key:k:3/60s"
    counters._sha = b"0" * 40  # a script this Redis has never loaded
    try:
        assert counters.charge(name, 1, 3, 60)[::2] == (1, True)
        assert counters.charge(name, 2, 3, 60)[::2] == (3, True)
        assert counters.charge(name, 1, 3, 60)[::2] == (3, False)  # refused whole
    finally:
        import redis

        redis.Redis.from_url(REDIS_URL).delete(name)


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set")
def test_a_redis_charge_after_a_dropped_connection_reconnects(app):
    from sureapp.keyauth.budget import RedisCounters

    counters = RedisCounters(REDIS_URL)
    name = f"rt-{uuid.uuid4().hex}:budget:key:k:5/60s"
    try:
        assert counters.charge(name, 1, 5, 60)[0] == 1
        counters._connection()._sock.close()  # the server or network dropped it
        with pytest.raises(Exception):
            counters.charge(name, 1, 5, 60)  # this one fails (the caller fails open) …
        assert counters.charge(name, 1, 5, 60)[0] == 2  # … the next reconnects
    finally:
        import redis

        redis.Redis.from_url(REDIS_URL).delete(name)


@pytest.fixture
def pool_use(app):
    """Checkouts from this app's pool meanwhile, and the most connections out at once (a
    connection detached for a thread's prepared reads is no longer the pool's)."""
    from sqlalchemy import event

    from sureapp.extensions import db

    seen = {"checkouts": 0, "out": 0, "most_out": 0}

    def checkout(*_):
        seen["checkouts"] += 1
        seen["out"] += 1
        seen["most_out"] = max(seen["most_out"], seen["out"])

    def checkin(*_):
        seen["out"] -= 1

    for name, listener in (("checkout", checkout), ("checkin", checkin), ("detach", checkin)):
        event.listen(db.engine, name, listener)
    yield seen
    for name, listener in (("checkout", checkout), ("checkin", checkin), ("detach", checkin)):
        event.remove(db.engine, name, listener)


def test_an_authenticated_read_takes_no_connection_from_the_pool(api, contact_id, pool_use,
                                                                 statements):
    """Both prepared reads run on the connection the thread keeps (prepared.py): no checkout,
    no return, no reset."""
    contact = contact_id[0]
    api.get(f"/contacts/{contact}")  # warm
    pool_use.update(checkouts=0, most_out=0)
    statements.clear()

    assert api.get(f"/contacts/{contact}").status_code == 200

    assert len(statements) == 2
    assert pool_use["checkouts"] == 0 and pool_use["out"] == 0


def test_a_read_that_fails_leaves_nothing_checked_out(api, pool_use):
    assert_problem(api.get(f"/contacts/{uuid.uuid4()}"), 404)
    assert pool_use["out"] == 0


def test_a_write_takes_one_pooled_connection_for_its_transaction(api, pool_use):
    """The key lookup runs on the thread's kept connection, the write's Session on one pooled
    connection: a request never holds two of the pool's."""
    response = api.post("/contacts", json={"email": "writer@example.com"})

    assert response.status_code == 201
    assert pool_use["checkouts"] >= 1 and pool_use["most_out"] == 1
    assert pool_use["out"] == 0


def test_a_kept_connection_the_database_dropped_is_replaced_and_the_read_retried(
        api, contact_id, backend):
    """A restart or an idle timeout kills the kept connection: the next read fails on it once,
    is retried on a fresh one and answers 200 (no pre-ping on the hot path)."""
    from sureapp import prepared
    from sureapp.extensions import db

    contact = contact_id[0]
    assert api.get(f"/contacts/{contact}").status_code == 200
    kept = prepared._per_thread.kept[db.engine]
    if backend == "sqlite":
        kept.dbapi.close()  # what sqlite3 reports is "closed database", a disconnect to SQLAlchemy
    else:
        kept.dbapi.pgconn.finish()  # the socket is gone under psycopg's feet

    response = api.get(f"/contacts/{contact}")

    assert response.status_code == 200 and response.get_json()["id"] == contact
    assert prepared._per_thread.kept[db.engine] is not kept


def test_a_stalled_redis_fails_the_charge_within_the_timeout(app):
    """A Redis that accepts and never answers: the blocking socket's kernel timeout ends the
    charge (the caller then serves uncounted), the connection is dropped, not read later."""
    import socket
    import threading
    import time

    from sureapp.keyauth.budget import REDIS_TIMEOUT_SECONDS, RedisCounters

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    counters = RedisCounters(f"redis://127.0.0.1:{server.getsockname()[1]}/0")
    try:
        started = time.monotonic()
        with pytest.raises(Exception):
            counters.charge("stalled:budget:key:k:5/60s", 1, 5, 60)
        waited = time.monotonic() - started
        assert REDIS_TIMEOUT_SECONDS * 0.8 <= waited < REDIS_TIMEOUT_SECONDS * 4
        assert counters._local.held[1]._sock is None  # dropped: the next charge reconnects
    finally:
        server.close()
        for connection, _ in accepted:
            connection.close()
