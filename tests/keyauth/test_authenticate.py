"""The guard: every key state → 401 over both header styles, the ability matrix, fail closed."""
import uuid
from datetime import timedelta

import pytest
from flask import Blueprint
from sqlalchemy import event

import sureapp.api.routes  # noqa: F401  (declares every operation)
from sureapp import keyed_app
from sureapp.api.operations import assert_every_view_declared
from sureapp.operations import OPERATIONS
from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.models import ApiKey
from sureapp.timeutil import utcnow

from .conftest import assert_problem

STYLES = ["x-api-key", "bearer"]


def concrete_path(rule: str) -> str:
    """A Flask rule with every <uuid:…> replaced by a random id (a 404 still proves access)."""
    parts = []
    for part in rule.split("/"):
        parts.append(str(uuid.uuid4()) if part.startswith("<") else part)
    return "/".join(parts)


KEYED_OPERATIONS = [op for op in OPERATIONS if op.ability is not None]


# ---- key states ---------------------------------------------------------------------------

@pytest.mark.parametrize("style", STYLES)
def test_valid_key_works_with_either_header(api_as, full_key, workspace, style):
    response = api_as(full_key, style).get("/me")
    assert response.status_code == 200
    assert response.get_json()["workspace"]["id"] == str(workspace.id)


def _revoked(key):
    key.status, key.revoked_at = "revoked", utcnow()


def _expired(key):
    key.expires_at = utcnow() - timedelta(seconds=1)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("state,mutate,detail", [
    ("revoked", _revoked, "revoked"),
    ("expired", _expired, "expired"),
])
def test_unusable_key_states_are_401(api_as, make_key, workspace, style, state, mutate, detail):
    key, plaintext = make_key(workspace)
    assert api_as(plaintext, style).get("/me").status_code == 200
    mutate(key)
    db.session.commit()
    body = assert_problem(api_as(plaintext, style).get("/me"), 401)
    assert detail in body["detail"]


@pytest.mark.parametrize("style", STYLES)
def test_regenerated_old_string_is_401_and_new_string_works(api_as, make_key, workspace, style):
    key, old = make_key(workspace)
    new = keystring.generate()
    key.previous_key_hash, key.previous_key_expires_at = key.key_hash, None
    key.key_hash = keystring.digest(new)
    db.session.commit()
    body = assert_problem(api_as(old, style).get("/me"), 401)
    assert "regenerated" in body["detail"]
    assert api_as(new, style).get("/me").status_code == 200


@pytest.mark.parametrize("style", STYLES)
def test_grace_period_old_string_works_until_its_expiry(api_as, make_key, workspace, style):
    key, old = make_key(workspace)
    new = keystring.generate()
    key.previous_key_hash = key.key_hash
    key.previous_key_expires_at = utcnow() + timedelta(hours=1)
    key.key_hash = keystring.digest(new)
    db.session.commit()
    assert api_as(old, style).get("/me").status_code == 200
    assert api_as(new, style).get("/me").status_code == 200
    key.previous_key_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_problem(api_as(old, style).get("/me"), 401)
    assert api_as(new, style).get("/me").status_code == 200


@pytest.mark.parametrize("style", STYLES)
def test_grace_period_does_not_outlive_a_revoke(api_as, make_key, workspace, style):
    key, old = make_key(workspace)
    key.previous_key_hash = key.key_hash
    key.previous_key_expires_at = utcnow() + timedelta(hours=1)
    key.key_hash = keystring.digest(keystring.generate())
    _revoked(key)
    db.session.commit()
    assert_problem(api_as(old, style).get("/me"), 401)


@pytest.mark.parametrize("style", STYLES)
def test_deleted_key_is_401(api_as, make_key, workspace, style):
    key, plaintext = make_key(workspace)
    db.session.delete(key)
    db.session.commit()
    assert_problem(api_as(plaintext, style).get("/me"), 401)


@pytest.mark.parametrize("style", STYLES)
def test_key_of_a_deleted_workspace_is_401(api_as, make_key, other_workspace, style):
    _, plaintext = make_key(other_workspace)
    db.session.delete(other_workspace)
    db.session.commit()
    assert_problem(api_as(plaintext, style).get("/me"), 401)


@pytest.mark.parametrize("style", STYLES)
def test_mcp_key_is_refused_on_the_api(api_as, make_key, workspace, style):
    _, plaintext = make_key(workspace, key_type="mcp")
    body = assert_problem(api_as(plaintext, style).get("/me"), 401)
    assert "mcp" in body["detail"]


@pytest.mark.parametrize("style", STYLES)
def test_suremails_key_works_on_the_api(api_as, make_key, workspace, style):
    _, plaintext = make_key(workspace, key_type="suremails")
    assert api_as(plaintext, style).get("/me").get_json()["type"] == "suremails"


@pytest.fixture
def key_queries(app):
    """Every key lookup (by digest) made while the test runs."""
    seen = []

    def listen(conn, cursor, statement, params, context, executemany):
        if "key_hash" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(db.engine, "before_cursor_execute", listen)


def _checksum_broken(plaintext: str) -> str:
    i = 10
    swapped = "a" if plaintext[i] != "a" else "b"
    return plaintext[:i] + swapped + plaintext[i + 1:]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("candidate", [
    "nope",
    "sure" + "A" * 56,  # right length and prefix, wrong checksum
    "x" * 60,
    "sure" + "A" * 55 + "!",
    "ü" * 60,
])
def test_malformed_keys_are_401_without_a_database_lookup(api_as, workspace, key_queries, style,
                                                           candidate):
    body = assert_problem(api_as(candidate, style).get("/me"), 401)
    assert "malformed" in body["detail"]
    assert key_queries == []


@pytest.mark.parametrize("style", STYLES)
def test_checksum_failing_copy_of_a_real_key_is_401_without_lookup(api_as, full_key, key_queries,
                                                                    style):
    assert_problem(api_as(_checksum_broken(full_key), style).get("/me"), 401)
    assert key_queries == []


def test_unknown_well_formed_key_is_401(api_as, workspace):
    assert_problem(api_as(keystring.generate()).get("/me"), 401)


def test_missing_key_is_401_with_bearer_challenge(api_as, workspace):
    response = api_as(None).get("/me")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_both_headers_disagreeing_is_401(client, make_key, workspace):
    _, first = make_key(workspace)
    _, second = make_key(workspace)
    response = client.get("/api/v1/me", headers={"X-API-Key": first,
                                                 "Authorization": f"Bearer {second}"})
    body = assert_problem(response, 401)
    assert "different" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_both_headers_agreeing_is_fine(client, full_key):
    response = client.get("/api/v1/me", headers={"X-API-Key": full_key,
                                                 "Authorization": f"Bearer {full_key}"})
    assert response.status_code == 200


def test_other_authorization_schemes_are_401(client, full_key):
    response = client.get("/api/v1/me", headers={"Authorization": f"Basic {full_key}"})
    assert_problem(response, 401)


def test_every_401_carries_www_authenticate(api_as, make_key, workspace):
    key, plaintext = make_key(workspace)
    _revoked(key)
    db.session.commit()
    for candidate in (None, "short", keystring.generate(), plaintext):
        response = api_as(candidate).get("/me")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_revoke_takes_effect_on_the_very_next_request(api_as, make_key, workspace):
    key, plaintext = make_key(workspace)
    client = api_as(plaintext)
    assert client.get("/me").status_code == 200
    db.session.execute(db.update(ApiKey).where(ApiKey.id == key.id).values(status="revoked"))
    db.session.commit()
    assert_problem(client.get("/me"), 401)


def test_a_logged_in_user_without_a_key_is_still_401(client, login, owner, workspace):
    login(owner)
    assert_problem(client.get("/api/v1/contacts"), 401)


def test_api_responses_set_no_session_cookie(api, api_as, workspace):
    for response in (api.get("/me"), api.post("/contacts", json={"email": "a@example.com"}),
                     api_as(None).get("/me"), api.get("/nowhere")):
        assert "Set-Cookie" not in response.headers


# ---- the ability matrix -------------------------------------------------------------------

@pytest.fixture
def single_ability_keys(make_key, workspace):
    return {ability: make_key(workspace, abilities=(ability,))[1]
            for ability in ("read", "write", "delete")}


def _call(api, op):
    path = concrete_path(op.rule)
    return api.request(op.method, path, json={} if op.body is not None else None)


SCOPED_OPERATIONS = [op for op in KEYED_OPERATIONS if op.scope is not None]


@pytest.mark.parametrize("op", SCOPED_OPERATIONS, ids=lambda op: f"{op.method} {op.rule}")
def test_ability_matrix(api_as, single_ability_keys, make_key, workspace, op):
    for ability, plaintext in single_ability_keys.items():
        response = _call(api_as(plaintext), op)
        if ability == op.ability:
            assert response.status_code not in (401, 403), (ability, response.get_json())
            assert response.status_code < 500
        else:
            body = assert_problem(response, 403)
            assert f"'{op.ability}'" in body["detail"]
    # Every ability except the one needed: still refused.
    others = [a for a in ("read", "write", "delete") if a != op.ability]
    _, plaintext = make_key(workspace, abilities=others)
    body = assert_problem(_call(api_as(plaintext), op), 403)
    assert body["required_ability"] == op.ability
    assert body["required_scope"] == op.scope


def test_the_key_itself_is_readable_with_any_single_ability(api_as, single_ability_keys):
    for ability, plaintext in single_ability_keys.items():
        response = api_as(plaintext).get("/me")
        assert response.status_code == 200, ability
        assert response.get_json()["abilities"] == [ability]


def test_every_method_maps_to_the_spec_ability():
    expected = {"GET": "read", "POST": "write", "PUT": "write", "PATCH": "write",
                "DELETE": "delete"}
    for op in KEYED_OPERATIONS:
        assert op.ability == expected[op.method], op


def test_head_needs_read(api_as, single_ability_keys):
    assert api_as(single_ability_keys["read"]).request("HEAD", "/contacts").status_code == 200
    assert api_as(single_ability_keys["write"]).request("HEAD", "/contacts").status_code == 403


# ---- fail closed --------------------------------------------------------------------------

def test_startup_refuses_an_undeclared_api_view(app):
    app.add_url_rule("/api/v1/sneaky", endpoint="api.sneaky", view_func=lambda: "open")
    with pytest.raises(RuntimeError, match="api.sneaky"):
        assert_every_view_declared(app)


def test_an_undeclared_view_is_refused_at_request_time(app, full_key):
    # Simulate a view slipped in after start-up: the guard refuses it even with a full key.
    views = keyed_app(app).view_functions  # the app that serves /api
    views["api.show_me"].api_operation  # the declared one exists
    original = views["api.show_me"]
    views["api.show_me"] = lambda: {"leak": True}
    try:
        response = app.test_client().get("/api/v1/me", headers={"X-API-Key": full_key})
    finally:
        views["api.show_me"] = original
    assert_problem(response, 403)
