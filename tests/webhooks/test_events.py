"""Every entry point emits the same events, from the services: the API, bulk upsert, bulk
actions, CSV import through the CLI, MCP, and key changes in the UI's services and the CLI."""
import json
import uuid

from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import WebhookDelivery, WebhookEvent


def assert_documented(events):
    """Each event's data is what the OpenAPI document's `webhooks` says it is."""
    from sureapp.webhooks.schemas import event_body

    for e in events:
        event_body(e.type).model_validate({"type": e.type, "timestamp": "2026-12-02T00:00:00Z",
                                           "data": e.data}, strict=False)


def emitted(event_type=None):
    stmt = select(WebhookEvent).order_by(WebhookEvent.created_at)
    if event_type:
        stmt = stmt.where(WebhookEvent.type == event_type)
    return list(db.session.scalars(stmt))


def test_contact_lifecycle_through_the_api(api, workspace, make_endpoint, make_list):
    make_endpoint(workspace, "http://127.0.0.1:9/all")
    newsletter = make_list(workspace)
    contact = api.post("/contacts", json={"email": "ana@example.com"}).get_json()
    (created,) = emitted("contact.created")
    assert created.data == contact
    api.patch(f"/contacts/{contact['id']}", json={"first_name": "Ana", "company": "Acme"})
    (updated,) = emitted("contact.updated")
    assert updated.data["changed_fields"] == ["company", "first_name"]
    assert updated.data["first_name"] == "Ana"
    api.patch(f"/contacts/{contact['id']}", json={"first_name": "Ana"})  # no change: no event
    assert len(emitted("contact.updated")) == 1
    api.patch(f"/contacts/{contact['id']}", json={"status": "unsubscribed"})
    (unsubscribed,) = emitted("contact.unsubscribed")
    assert unsubscribed.data["status"] == "unsubscribed"
    assert emitted("contact.updated")[-1].data["changed_fields"] == ["status"]
    api.patch(f"/contacts/{contact['id']}", json={"list_ids": [str(newsletter.id)]})
    (added,) = emitted("list.contact_added")
    assert added.data["list"] == {"id": str(newsletter.id), "name": newsletter.name}
    assert added.data["contact"]["list_ids"] == [str(newsletter.id)]
    assert len(emitted("contact.updated")) == 2  # memberships are their own events
    api.delete(f"/lists/{newsletter.id}/contacts/{contact['id']}")
    (removed,) = emitted("list.contact_removed")
    assert removed.data["contact"]["list_ids"] == []
    api.delete(f"/contacts/{contact['id']}")
    (deleted,) = emitted("contact.deleted")
    assert deleted.data["email"] == "ana@example.com"
    # One delivery per event for the one endpoint.
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == len(emitted())
    assert_documented(emitted())


def test_bulk_upsert_emits_one_event_per_contact(api, workspace, make_endpoint, make_contact):
    make_endpoint(workspace, "http://127.0.0.1:9/all")
    make_contact(workspace, "old@example.com")
    db.session.execute(WebhookEvent.__table__.delete())
    db.session.commit()
    response = api.post("/contacts/bulk", json={"contacts": [
        {"email": "new1@example.com"}, {"email": "new2@example.com"},
        {"email": "old@example.com", "company": "Acme"}, {"email": "broken"}]})
    assert response.get_json()["summary"] == {"created": 2, "updated": 1, "failed": 1}
    assert sorted(e.data["email"] for e in emitted("contact.created")) == ["new1@example.com",
                                                                          "new2@example.com"]
    (updated,) = emitted("contact.updated")
    assert updated.data["email"] == "old@example.com" and updated.data["changed_fields"] == ["company"]


def test_bulk_actions_emit_per_contact(workspace, make_endpoint, make_contact, make_tag):
    from sureapp.contacts import bulk
    from sureapp.contacts.query import ContactFilter

    make_endpoint(workspace, "http://127.0.0.1:9/all")
    contacts = [make_contact(workspace) for _ in range(3)]
    vip = make_tag(workspace)
    ids = [str(c.id) for c in contacts]
    for action, options in [("add_tag", {"tag_id": str(vip.id)}),
                            ("set_status", {"status": "unsubscribed"}),
                            ("delete", {})]:
        plan = bulk.plan(workspace, action, ContactFilter(), contact_ids=ids, **options)
        bulk.apply(workspace, plan, "UI: test")
    assert len(emitted("tag.contact_added")) == 3
    assert {e.data["contact"]["id"] for e in emitted("tag.contact_added")} == set(ids)
    assert len(emitted("contact.unsubscribed")) == 3
    assert len(emitted("contact.deleted")) == 3


def test_csv_import_through_the_cli_emits_contact_created(runner, workspace, make_endpoint, tmp_path):
    make_endpoint(workspace, "http://127.0.0.1:9/all", ["contact.created"])
    path = tmp_path / "people.csv"
    path.write_text("Email,First Name\nann@example.com,Ann\nbob@example.com,Bob\n")
    result = runner.invoke(args=["import-contacts", str(path), "--org", "Acme", "--workspace", "Main"])
    assert result.exit_code == 0, result.output
    assert sorted(e.data["first_name"] for e in emitted("contact.created")) == ["Ann", "Bob"]


def test_mcp_tools_emit_like_the_api(client, workspace, make_key, make_endpoint):
    make_endpoint(workspace, "http://127.0.0.1:9/all")
    key = make_key(workspace)[1]
    response = client.post("/mcp", headers={"X-API-Key": key, "Accept": "application/json, text/event-stream",
                                            "MCP-Protocol-Version": "2025-06-18"},
                           json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                               "name": "create_contact", "arguments": {"email": "mcp@example.com"}}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [e.data["email"] for e in emitted("contact.created")] == ["mcp@example.com"]


def test_api_key_events_from_the_cli_and_services(runner, workspace, make_endpoint):
    from sureapp.keys import services

    make_endpoint(workspace, "http://127.0.0.1:9/keys", ["api_key.created", "api_key.revoked",
                                                         "api_key.regenerated", "api_key.deleted"])
    result = runner.invoke(args=["create-key", "--org", "Acme", "--workspace", "Main",
                                 "--name", "Zapier", "--abilities", "read,write"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    (created,) = emitted("api_key.created")
    assert created.data["name"] == "Zapier" and created.data["abilities"] == ["read", "write"]
    assert plaintext not in json.dumps([e.data for e in emitted()])  # never the key string
    key = services.get_key(workspace, created.data["id"])
    new_plaintext = services.regenerate_key(key)
    services.revoke_key(key)
    services.delete_key(key)
    db.session.commit()
    assert [e.type for e in emitted()] == ["api_key.created", "api_key.regenerated",
                                           "api_key.revoked", "api_key.deleted"]
    assert new_plaintext not in json.dumps([e.data for e in emitted()])
    assert emitted("api_key.revoked")[0].data["status"] == "revoked"
    assert_documented(emitted())


def test_subscriptions_filter_and_disabled_endpoints_get_nothing(api, workspace, make_endpoint):
    only_deleted, _ = make_endpoint(workspace, "http://127.0.0.1:9/deleted", ["contact.deleted"])
    off, _ = make_endpoint(workspace, "http://127.0.0.1:9/off")
    off.enabled = False
    db.session.commit()
    api.post("/contacts", json={"email": "quiet@example.com"})
    assert emitted() == []  # nobody listens to contact.created: not even an outbox row


def test_another_workspaces_endpoint_receives_nothing(api, other_workspace, make_endpoint):
    make_endpoint(other_workspace, "http://127.0.0.1:9/other")
    api.post("/contacts", json={"email": "mine@example.com"})
    assert emitted() == []


def test_no_endpoint_costs_one_select_per_transaction(api, workspace, app):
    """The bulk path without webhooks: one SELECT of endpoints for the whole batch."""
    from sqlalchemy import event

    statements = []
    listener = lambda conn, cursor, statement, *a: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        api.post("/contacts/bulk", json={"contacts": [{"email": f"b{i}@example.com"}
                                                      for i in range(50)]})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    touching = [s for s in statements if "webhook" in s]
    assert len(touching) == 1 and touching[0].lstrip().upper().startswith("SELECT")
