"""Restricted keys on the JSON API, tested as an attacker holding one: every operation needs
its own scope, a 403 names it, and a refused request writes nothing."""
import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.keys.abilities import ABILITIES, ALL_SCOPES
from sureapp.models import Contact, ContactList, Tag

from tests.api.conftest import assert_problem
from .test_authenticate import KEYED_OPERATIONS, concrete_path

SCOPED = [op for op in KEYED_OPERATIONS if op.scope is not None]


def _call(api, op):
    return api.request(op.method, concrete_path(op.rule),
                       json={} if op.body is not None else None)


def _counts():
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Contact, ContactList, Tag)}


@pytest.fixture
def contacts_reader(make_key, workspace):
    return make_key(workspace, ("contacts:read",))[1]


@pytest.mark.parametrize("op", SCOPED, ids=lambda op: f"{op.method} {op.rule}")
def test_every_operation_needs_exactly_its_scope(api_as, make_key, workspace, op):
    _, exact = make_key(workspace, (op.scope,), name="exact")
    response = _call(api_as(exact), op)
    assert response.status_code not in (401, 403), response.get_json()
    assert response.status_code < 500
    # Every other scope there is, and the two other whole-workspace abilities: still refused.
    everything_else = [s for s in ALL_SCOPES if s != op.scope]
    everything_else += [a for a in ABILITIES if a != op.ability]
    _, almost = make_key(workspace, everything_else, name="almost")
    body = assert_problem(_call(api_as(almost), op), 403)
    assert body["required_ability"] == op.ability
    assert body["required_scope"] == op.scope
    assert f"'{op.scope}' scope" in body["detail"]


def test_a_contacts_read_key_reads_contacts_and_nothing_else(api, api_as, contacts_reader):
    contact = api.post("/contacts", json={"email": "ada@example.com"}).get_json()
    a_list = api.post("/lists", json={"name": "Customers"}).get_json()
    reader = api_as(contacts_reader)
    assert reader.get(f"/contacts/{contact['id']}").get_json()["email"] == "ada@example.com"
    assert [c["id"] for c in reader.get("/contacts").get_json()["data"]] == [contact["id"]]
    before = _counts()

    refused = [
        (reader.get("/lists"), "lists:read"),
        (reader.get(f"/lists/{a_list['id']}"), "lists:read"),
        (reader.get("/tags"), "tags:read"),
        (reader.get("/reports/summary"), "reports:read"),
        (reader.get("/campaigns"), "campaigns:read"),
        (reader.post("/contacts", json={"email": "eve@example.com"}), "contacts:write"),
        (reader.patch(f"/contacts/{contact['id']}", json={"first_name": "Eve"}), "contacts:write"),
        (reader.post("/contacts/bulk", json={"contacts": [{"email": "x@example.com"}]}),
         "contacts:write"),
        (reader.delete(f"/contacts/{contact['id']}"), "contacts:delete"),
        (reader.post(f"/lists/{a_list['id']}/contacts", json={"contact_ids": [contact["id"]]}),
         "lists:write"),
    ]
    for response, scope in refused:
        body = assert_problem(response, 403)
        assert body["required_scope"] == scope, body
        assert body["required_ability"] == scope.split(":")[1]
    assert _counts() == before
    assert api.get(f"/contacts/{contact['id']}").get_json()["first_name"] == ""


def test_the_403_detail_says_what_is_missing_in_words(api_as, contacts_reader):
    body = assert_problem(api_as(contacts_reader).post("/contacts", json={"email": "a@b.co"}), 403)
    assert body["detail"] == ("This key may not create or change contacts: the request needs the "
                              "'contacts:write' scope (or the 'write' ability on all resources).")


def test_the_scope_is_checked_before_the_body(api_as, contacts_reader):
    """A key without the scope learns that, not how to fix a body it may not send anyway."""
    response = api_as(contacts_reader).post("/contacts", json={"bogus": True})
    assert assert_problem(response, 403)["required_scope"] == "contacts:write"


def test_a_mixed_key_holds_both_kinds(api, api_as, make_key, workspace):
    _, mixed = make_key(workspace, ("read", "contacts:write"))
    client = api_as(mixed)
    assert client.get("/lists").status_code == 200
    assert client.post("/contacts", json={"email": "ada@example.com"}).status_code == 201
    assert assert_problem(client.post("/lists", json={"name": "L"}), 403)["required_scope"] == \
        "lists:write"


def test_a_restricted_key_still_sees_only_its_workspace(api_as, make_key, workspace,
                                                        other_workspace):
    _, theirs = make_key(other_workspace)
    their_contact = api_as(theirs).post("/contacts", json={"email": "x@example.com"}).get_json()
    _, mine = make_key(workspace, ("contacts:read", "contacts:write", "contacts:delete"))
    client = api_as(mine)
    assert_problem(client.get(f"/contacts/{their_contact['id']}"), 404)
    assert_problem(client.patch(f"/contacts/{their_contact['id']}", json={"first_name": "E"}),
                   404)
    assert_problem(client.delete(f"/contacts/{their_contact['id']}"), 404)
    assert api_as(theirs).get(f"/contacts/{their_contact['id']}").get_json()["first_name"] == ""


def test_me_describes_a_restricted_key(api_as, make_key, workspace):
    _, plaintext = make_key(workspace, ("lists:write", "contacts:read"),
                            allowed_ips="127.0.0.1, 2001:db8::/32")
    body = api_as(plaintext).get("/me").get_json()
    assert body["abilities"] == ["contacts:read", "lists:write"]
    assert body["allowed_ips"] == ["127.0.0.1", "2001:db8::/32"]


def test_a_narrowed_key_loses_the_scope_on_its_next_request(api_as, make_key, workspace):
    from sureapp.keys import services

    key, plaintext = make_key(workspace, ("contacts:read", "lists:read"))
    client = api_as(plaintext)
    assert client.get("/lists").status_code == 200
    services.update_key(key, key.name, ["contacts:read"], None, True)
    db.session.commit()
    assert assert_problem(client.get("/lists"), 403)["required_scope"] == "lists:read"


def test_a_scope_refusal_is_logged_on_the_key_with_reason_scope(api_as, make_key, workspace,
                                                                  app):
    from sureapp.models import ApiRequestLog
    from sureapp.usage.recorder import get_recorder

    key, plaintext = make_key(workspace, ("contacts:read",))
    client = api_as(plaintext)
    assert client.get("/contacts").status_code == 200
    assert client.get("/lists").status_code == 403
    get_recorder(app).flush()
    rows = db.session.scalars(select(ApiRequestLog).where(ApiRequestLog.api_key_id == key.id)
                              .order_by(ApiRequestLog.id)).all()
    assert [(r.path, r.status, r.reason) for r in rows] == [
        ("/api/v1/contacts", 200, None), ("/api/v1/lists", 403, "scope")]
