"""/api/v1/webhooks: endpoints, secrets shown once, the delivery log, test events, isolation."""
import uuid

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import WebhookEndpoint
from tests.api.conftest import assert_problem


def create(api, url, events=("*",), **fields):
    return api.post("/webhooks", json={"url": url, "events": list(events), **fields})


def test_create_returns_the_secret_once_and_stores_it_encrypted(api, receiver, app):
    response = create(api, receiver.url, ["contact.created", "contact.created", "tag.contact_added"],
                      description="CRM sync")
    assert response.status_code == 201
    body = response.get_json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 6 + 44
    assert body["events"] == ["contact.created", "tag.contact_added"]  # duplicates dropped
    assert body["enabled"] is True and body["description"] == "CRM sync"
    assert response.headers["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    shown = api.get(f"/webhooks/{body['id']}").get_json()
    assert "secret" not in shown and shown["url"] == receiver.url
    listed = api.get("/webhooks").get_json()
    assert [w["id"] for w in listed["data"]] == [body["id"]] and "secret" not in listed["data"][0]
    stored = db.session.get(WebhookEndpoint, uuid.UUID(body["id"]))
    assert body["secret"] not in stored.secret_encrypted
    assert body["secret"][6:] not in stored.secret_encrypted


def test_star_means_every_event(api, receiver):
    assert create(api, receiver.url, ["contact.created", "*"]).get_json()["events"] == ["*"]


@pytest.mark.parametrize("payload, field", [
    ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
    ({"url": "https://example.com/x", "events": []}, "events"),
    ({"url": "https://example.com/x", "events": ["contact.exploded"]}, "events.0"),
    ({"url": "https://example.com/x", "events": ["webhook.test"]}, "events.0"),
    ({"url": "https://example.com/x"}, "events"),
    ({"url": "https://example.com/x", "events": ["*"], "description": "x" * 501}, "description"),
    ({"url": "https://example.com/x", "events": ["*"], "secret": "whsec_mine"}, "secret"),
    ({"url": "https://a\u0000b.example/", "events": ["*"]}, "url"),
])
def test_invalid_bodies_are_422_naming_the_field(api, payload, field):
    body = assert_problem(api.post("/webhooks", json=payload), 422)
    assert field in body["errors"], body


@pytest.mark.parametrize("app_config", [{"WEBHOOK_ALLOW_PRIVATE_URLS": False}])
@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost:9/hook",
                                 "http://[::1]/hook", "http://169.254.169.254/latest",
                                 "http://10.0.0.7/hook", "http://2130706433/hook"])
def test_private_targets_are_refused_at_create_and_update(api, url):
    body = assert_problem(create(api, url), 422)
    assert "url" in body["errors"]
    assert db.session.scalar(select(WebhookEndpoint)) is None


@pytest.mark.parametrize("app_config", [{"WEBHOOK_ALLOW_PRIVATE_URLS": False}])
def test_update_to_a_private_target_is_refused_and_changes_nothing(api, workspace, monkeypatch):
    import sureapp.netguard as netguard

    real = netguard.socket.getaddrinfo
    monkeypatch.setattr(netguard.socket, "getaddrinfo", lambda host, *a, **k: (
        [(2, 1, 6, "", ("93.184.215.14", 443))] if host == "hooks.example.com" else real(host, *a, **k)))
    hook = create(api, "https://hooks.example.com/x").get_json()
    body = assert_problem(api.patch(f"/webhooks/{hook['id']}", json={"url": "http://localhost/x",
                                                                      "description": "new"}), 422)
    assert "localhost resolves to" in body["errors"]["url"][0]
    assert api.get(f"/webhooks/{hook['id']}").get_json()["description"] == ""


def test_patch_changes_fields_and_enabling_clears_an_automatic_disable(api, receiver):
    hook = create(api, receiver.url).get_json()
    endpoint = db.session.get(WebhookEndpoint, uuid.UUID(hook["id"]))
    endpoint.enabled, endpoint.disabled_reason = False, "Disabled automatically: 410"
    db.session.commit()
    response = api.patch(f"/webhooks/{hook['id']}", json={"enabled": True, "events": ["contact.deleted"]})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["enabled"], body["disabled_reason"], body["events"]) == (True, "", ["contact.deleted"])
    assert assert_problem(api.patch(f"/webhooks/{hook['id']}", json={"enabled": None}), 422)


def test_delete_removes_it_with_its_log(api, receiver):
    hook = create(api, receiver.url).get_json()
    api.post(f"/webhooks/{hook['id']}/test")
    assert api.delete(f"/webhooks/{hook['id']}").status_code == 204
    assert_problem(api.get(f"/webhooks/{hook['id']}"), 404)
    assert_problem(api.get(f"/webhooks/{hook['id']}/deliveries"), 404)


def test_test_event_and_the_delivery_log(api, receiver, deliver):
    hook = create(api, receiver.url, ["contact.created"]).get_json()
    queued = api.post(f"/webhooks/{hook['id']}/test")
    assert queued.status_code == 202
    assert queued.get_json()["status"] == "pending" and queued.get_json()["event_type"] == "webhook.test"
    deliver()
    assert receiver.bodies()[0]["type"] == "webhook.test"
    assert receiver.bodies()[0]["data"]["webhook"]["id"] == hook["id"]
    for i in range(3):
        api.post("/contacts", json={"email": f"c{i}@example.com"})
    deliver()
    page = api.get(f"/webhooks/{hook['id']}/deliveries?limit=2").get_json()
    assert [d["event_type"] for d in page["data"]] == ["contact.created", "contact.created"]
    assert page["data"][0]["status"] == "succeeded" and page["data"][0]["response_status"] == 204
    rest = api.get(f"/webhooks/{hook['id']}/deliveries?limit=2&cursor={page['next_cursor']}").get_json()
    assert [d["event_type"] for d in rest["data"]] == ["contact.created", "webhook.test"]
    assert rest["next_cursor"] is None
    assert_problem(api.get(f"/webhooks/{hook['id']}/deliveries?cursor=garbage"), 422)
    assert api.get(f"/webhooks/{hook['id']}/deliveries?status=failed").get_json()["data"] == []


def test_resend_makes_a_new_delivery_with_the_same_webhook_id(api, receiver, deliver):
    hook = create(api, receiver.url).get_json()
    first = api.post(f"/webhooks/{hook['id']}/test").get_json()
    assert_problem(api.post(f"/webhooks/{hook['id']}/deliveries/{first['id']}/resend"), 409)
    deliver()
    again = api.post(f"/webhooks/{hook['id']}/deliveries/{first['id']}/resend")
    assert again.status_code == 202 and again.get_json()["id"] != first["id"]
    deliver()
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1] == first["webhook_id"]


def test_another_workspaces_webhooks_are_404(api, api_as, other_workspace, make_key, receiver):
    hook = create(api, receiver.url).get_json()
    delivery = api.post(f"/webhooks/{hook['id']}/test").get_json()
    other = api_as(make_key(other_workspace)[1])
    assert other.get("/webhooks").get_json()["data"] == []
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/test"),
                         ("POST", "/rotate-secret"), ("GET", "/deliveries"),
                         ("POST", f"/deliveries/{delivery['id']}/resend")]:
        response = other.request(method, f"/webhooks/{hook['id']}{path}",
                                 json={"description": "x"} if method == "PATCH" else None)
        assert_problem(response, 404)
    assert api.get(f"/webhooks/{hook['id']}").get_json()["description"] == ""


def test_abilities_by_method(api_as, workspace, make_key, receiver, api):
    hook = create(api, receiver.url).get_json()
    reader = api_as(make_key(workspace, ("read",))[1])
    assert reader.get("/webhooks").status_code == 200
    assert_problem(create(reader, receiver.url), 403)
    assert_problem(reader.post(f"/webhooks/{hook['id']}/rotate-secret"), 403)
    writer = api_as(make_key(workspace, ("read", "write"))[1])
    assert_problem(writer.delete(f"/webhooks/{hook['id']}"), 403)


def test_revoked_key_is_refused(api_as, workspace, make_key, receiver):
    from sureapp.keys.services import revoke_key

    key, plaintext = make_key(workspace)
    revoke_key(key)
    db.session.commit()
    assert_problem(create(api_as(plaintext), receiver.url), 401)


def test_endpoints_per_workspace_are_capped(api, receiver):
    from sureapp.webhooks.services import MAX_ENDPOINTS

    for _ in range(MAX_ENDPOINTS):
        assert create(api, receiver.url).status_code == 201
    body = assert_problem(create(api, receiver.url), 409)
    assert str(MAX_ENDPOINTS) in body["detail"]


def test_the_openapi_document_describes_every_event_delivery(client):
    from sureapp.events import EVENT_TYPES

    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["webhooks"]) == set(EVENT_TYPES)
    created = document["webhooks"]["contact.created"]["post"]
    assert [p["name"] for p in created["parameters"]] == ["webhook-id", "webhook-timestamp",
                                                          "webhook-signature"]
    body = created["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = document["components"]["schemas"][body]
    assert set(schema["required"]) == {"type", "timestamp", "data"}
    assert schema["properties"]["type"]["const"] == "contact.created"
    assert document["paths"]["/webhooks"]["post"]["responses"]["201"]


def test_restricted_keys_need_the_webhooks_scope(api_as, workspace, make_key, receiver, api):
    hook = create(api, receiver.url).get_json()
    contacts_only = api_as(make_key(workspace, ("contacts:read", "contacts:write", "contacts:delete"))[1])
    body = assert_problem(contacts_only.get("/webhooks"), 403)
    assert body["required_scope"] == "webhooks:read"
    assert_problem(create(contacts_only, receiver.url), 403)
    assert_problem(contacts_only.post(f"/webhooks/{hook['id']}/rotate-secret"), 403)
    reader = api_as(make_key(workspace, ("webhooks:read",))[1])
    assert [w["id"] for w in reader.get("/webhooks").get_json()["data"]] == [hook["id"]]
    assert assert_problem(create(reader, receiver.url), 403)["required_scope"] == "webhooks:write"
    assert_problem(reader.delete(f"/webhooks/{hook['id']}"), 403)
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 1
