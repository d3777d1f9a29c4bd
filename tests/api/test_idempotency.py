"""Idempotency-Key (api/idempotency.py): replay of the same request, 422 for another request
under the same key, 409 while the first runs (also across two gunicorn workers), a 5xx
releases the key, expiry, per-API-key scope, and nothing readable stored."""
import hashlib
import json
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sureapp.api import idempotency
from sureapp.extensions import db
from sureapp.models import Contact, IdempotentRequest
from sureapp.timeutil import utcnow

from .conftest import assert_problem

ANA = {"email": "ana@example.com", "first_name": "Ana"}


def _contacts() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Contact))


def _with_key(key, **extra):
    return {"Idempotency-Key": key, **extra}


def test_a_retry_is_replayed_and_changes_nothing(api):
    first = api.post("/contacts", json=ANA, headers=_with_key("abc-123"))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = api.post("/contacts", json=ANA, headers=_with_key("abc-123"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.mimetype == "application/json"
    # The replay is a request of its own: its own id and rate-limit headers.
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert int(again.headers["X-RateLimit-Remaining"]) < int(first.headers["X-RateLimit-Remaining"])
    assert _contacts() == 1


def test_the_same_json_in_another_spelling_is_the_same_request(api):
    api.post("/contacts", json=ANA, headers=_with_key("k1"))
    respelled = json.dumps({"first_name": "Ana", "email": "ana@example.com"}, indent=2)
    again = api.request("POST", "/contacts", data=respelled, content_type="application/json",
                        headers=_with_key("k1"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"


def test_a_quoted_structured_field_key_is_the_same_key(api):
    api.post("/contacts", json=ANA, headers=_with_key("k-quoted"))
    again = api.post("/contacts", json=ANA, headers=_with_key('"k-quoted"'))
    assert again.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("other", [
    ("POST", "/contacts", {**ANA, "first_name": "Bia"}),  # another body
    ("POST", "/lists", {"name": "Ana"}),  # another path
])
def test_the_same_key_for_another_request_is_422_and_changes_nothing(api, other):
    api.post("/contacts", json=ANA, headers=_with_key("once"))
    method, path, body = other
    response = api.request(method, path, json=body, headers=_with_key("once"))
    problem = assert_problem(response, 422)
    assert "different request" in problem["detail"]
    assert _contacts() == 1
    assert api.get("/lists").get_json()["data"] == []


def test_every_write_method_replays(api, make_contact, workspace):
    contact = make_contact(workspace, email="bo@example.com")
    path = f"/contacts/{contact.id}"
    for method, body in (("PATCH", {"first_name": "Bo"}), ("PUT", {"email": "bo@example.com"})):
        key = f"{method}-1"
        first = api.request(method, path, json=body, headers=_with_key(key))
        assert first.status_code == 200
        again = api.request(method, path, json=body, headers=_with_key(key))
        assert again.headers["Idempotent-Replayed"] == "true" and again.data == first.data
    gone = api.delete(path, headers=_with_key("del-1"))
    assert gone.status_code == 204
    replay = api.delete(path, headers=_with_key("del-1"))
    assert replay.status_code == 204 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == b""
    # Without the key, the second DELETE is what it is: the contact is gone.
    assert_problem(api.delete(path), 404)


def test_an_error_answer_is_stored_and_replayed_too(api):
    """The first response is the answer, whatever it was (a 4xx included)."""
    bad = {"email": "not-an-email"}
    first = assert_problem(api.post("/contacts", json=bad, headers=_with_key("bad-1")), 422)
    again = api.post("/contacts", json=bad, headers=_with_key("bad-1"))
    assert again.headers["Idempotent-Replayed"] == "true" and again.status_code == 422
    assert again.get_json()["errors"] == first["errors"]


def test_a_request_still_running_is_409_then_replayed_when_done(api, app, full_key):
    body = json.dumps(ANA).encode()
    key_id = _key_id(full_key)
    fp = idempotency.fingerprint("POST", "/api/v1/contacts", b"", body)
    digest = hashlib.sha256(b"busy").hexdigest()
    row = idempotency._claim(key_id, digest, fp, utcnow())  # another worker is running it
    assert row is not None
    response = api.request("POST", "/contacts", data=body, content_type="application/json",
                           headers=_with_key("busy"))
    problem = assert_problem(response, 409)
    assert response.headers["Retry-After"] == "1" and "still being processed" in problem["detail"]
    assert _contacts() == 0


def test_a_claim_whose_worker_died_is_taken_over(api, full_key):
    body = json.dumps(ANA).encode()
    fp = idempotency.fingerprint("POST", "/api/v1/contacts", b"", body)
    digest = hashlib.sha256(b"dead").hexdigest()
    long_ago = utcnow() - idempotency.ABANDONED_AFTER - timedelta(seconds=1)
    assert idempotency._claim(_key_id(full_key), digest, fp, long_ago) is not None
    response = api.request("POST", "/contacts", data=body, content_type="application/json",
                           headers=_with_key("dead"))
    assert response.status_code == 201 and _contacts() == 1
    assert api.post("/contacts", json=ANA, headers=_with_key("dead")).headers[
        "Idempotent-Replayed"] == "true"


def test_a_server_error_releases_the_key(api, monkeypatch):
    from sureapp.contacts import services

    real = services.create_contact
    monkeypatch.setattr(services, "create_contact",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bug")))
    assert_problem(api.post("/contacts", json=ANA, headers=_with_key("r1")), 500)
    monkeypatch.setattr(services, "create_contact", real)
    retry = api.post("/contacts", json=ANA, headers=_with_key("r1"))
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert _contacts() == 1


def test_keys_are_per_api_key(api, api_as, make_key, other_workspace, workspace):
    api.post("/contacts", json=ANA, headers=_with_key("shared"))
    mine_too = api_as(make_key(workspace)[1]).post("/contacts", json={**ANA, "email": "b@example.com"},
                                                   headers=_with_key("shared"))
    assert mine_too.status_code == 201 and "Idempotent-Replayed" not in mine_too.headers
    theirs = api_as(make_key(other_workspace)[1]).post("/contacts", json=ANA,
                                                       headers=_with_key("shared"))
    # An attacker reusing a victim's Idempotency-Key never sees the victim's response.
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != api.get("/contacts").get_json()["data"][0]["id"]


def test_an_expired_key_runs_again(api):
    api.post("/lists", json={"name": "A"}, headers=_with_key("old"))
    db.session.execute(update(IdempotentRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    again = api.post("/lists", json={"name": "A"}, headers=_with_key("old"))
    assert again.status_code == 409 and "Idempotent-Replayed" not in again.headers  # ran: duplicate


def test_expired_rows_are_purged(api, monkeypatch):
    api.post("/lists", json={"name": "A"}, headers=_with_key("p1"))
    db.session.execute(update(IdempotentRequest).values(expires_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    monkeypatch.setattr(idempotency, "_last_purge", 0.0)
    api.post("/lists", json={"name": "B"}, headers=_with_key("p2"))
    db.session.rollback()
    digests = set(db.session.scalars(select(IdempotentRequest.key_digest)))
    assert digests == {hashlib.sha256(b"p2").hexdigest()}


@pytest.mark.parametrize("bad", ["", " ", "has space", "x" * 256, "tab\tkey", "ünï"])
def test_a_malformed_key_is_400_and_runs_nothing(api, bad):
    response = api.post("/contacts", json=ANA, headers={"Idempotency-Key": bad.encode().decode("latin-1")})
    problem = assert_problem(response, 400)
    assert "Idempotency-Key" in problem["errors"]
    assert _contacts() == 0


def test_reads_ignore_the_header_and_refusals_claim_nothing(api, api_as, make_key, workspace):
    assert api.get("/contacts", headers=_with_key("has space")).status_code == 200
    reader = api_as(make_key(workspace, ("read",))[1])
    assert_problem(reader.post("/contacts", json=ANA, headers=_with_key("r-only")), 403)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0
    # The refused key's Idempotency-Key is still free for a request that may run.
    assert api.post("/contacts", json=ANA, headers=_with_key("r-only")).status_code == 201


def test_nothing_readable_is_stored(api):
    created = api.post("/contacts", json=ANA, headers=_with_key("secret-key-value"))
    assert created.status_code == 201
    db.session.rollback()
    row = db.session.scalars(select(IdempotentRequest)).one()
    assert row.key_digest == hashlib.sha256(b"secret-key-value").hexdigest()
    assert b"ana@example.com" not in row.body and b"Ana" not in row.body
    assert "secret-key-value" not in json.dumps(row.headers)
    assert row.state == "done" and row.status == 201


def _key_id(plaintext):
    from sureapp.keys import keystring
    from sureapp.models import ApiKey

    return db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash == keystring.digest(plaintext)))


# ---- two gunicorn workers at once -----------------------------------------------------------

@pytest.mark.live
def test_simultaneous_retries_on_two_workers_run_once(app, full_key, tmp_path):
    from bench.client import request
    from bench.servers import gunicorn
    from tests.security.test_live_concurrency import server_env

    rows = [{"email": f"p{i}@example.com"} for i in range(1000)]  # the most a bulk takes: slow enough to overlap
    body = json.dumps({"contacts": rows}).encode()
    env = server_env(app.config["SQLALCHEMY_DATABASE_URI"],
                     SECRET_KEY=app.config["SECRET_KEY"])
    seen_in_progress = False
    with gunicorn("app:app", env, tmp_path / "gunicorn.log", workers=2) as server:
        for attempt in range(6):  # on a fast idle machine one round may not overlap
            key = str(uuid.uuid4())
            start = threading.Barrier(6)
            answers = []

            def send():
                start.wait()
                answers.append(request("POST", f"{server.url}/api/v1/contacts/bulk", {
                    "X-API-Key": full_key, "Content-Type": "application/json",
                    "Idempotency-Key": key}, body, timeout=30))

            threads = [threading.Thread(target=send) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            ran = [a for a in answers if a[0] == 200 and not a[1].get("Idempotent-Replayed")]
            replayed = [a for a in answers if a[1].get("Idempotent-Replayed") == "true"]
            busy = [a for a in answers if a[0] == 409]
            assert len(answers) == 6 and len(ran) == 1, [(a[0], a[2][:80]) for a in answers]
            assert all(a[2] == ran[0][2] and a[0] == 200 for a in replayed)
            assert all(json.loads(a[2])["title"] == "Request in progress" for a in busy)
            assert len(ran) + len(replayed) + len(busy) == 6
            summary = json.loads(ran[0][2])["summary"]
            assert summary["created"] == (1000 if attempt == 0 else 0)
            seen_in_progress = seen_in_progress or bool(busy)
            if seen_in_progress:
                break
    assert seen_in_progress, "no request overlapped the first one"
    assert _contacts() == 1000
