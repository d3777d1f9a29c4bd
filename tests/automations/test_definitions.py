"""What an automation may hold: each step's fields checked with a clear error naming the step,
references only to this workspace's lists and tags, trigger filters only for their trigger; a
refused definition writes nothing. And what listening for triggers costs."""
import pytest
from sqlalchemy import event

from sureapp.extensions import db
from sureapp.models import Automation

from tests.api.conftest import assert_problem


def post(api, steps, **fields):
    return api.post("/automations", json={"name": "Flow", "trigger": "contact_created",
                                          "steps": steps, **fields})


@pytest.mark.parametrize("step,errors", [
    ({"type": "wait", "amount": 0, "unit": "days"},
     {"steps.0.wait.amount": ["Input should be greater than or equal to 1"]}),
    ({"type": "wait", "amount": 2, "unit": "fortnights"},
     {"steps.0.wait.unit": ["Input should be 'minutes', 'hours', 'days' or 'weeks'"]}),
    ({"type": "wait", "amount": 53, "unit": "weeks"},
     {"steps.0.wait": ["A wait may last at most 366 days (52 weeks)."]}),
    ({"type": "send_email", "subject": "Hi\r\nBcc: x@example.com", "body": "Hello"},
     {"steps.0.send_email.subject": ["The subject must be one line."]}),
    ({"type": "send_email", "subject": "Hi"},
     {"steps.0.send_email.body": ["Field required"]}),
    ({"type": "add_tag", "tag_id": "not-a-uuid"},
     {"steps.0.add_tag.tag_id": ["Input should be a valid UUID, invalid character: found `n` "
                                 "at 0"]}),
    ({"type": "teleport"},
     {"steps.0": ["Input tag 'teleport' found using 'type' does not match any of the expected "
                  "tags: 'send_email', 'wait', 'add_tag', 'remove_tag', 'add_to_list', "
                  "'remove_from_list'"]}),
], ids=["wait-zero", "wait-unit", "wait-too-long", "subject-two-lines", "no-body", "bad-tag-id",
        "unknown-type"])
def test_a_bad_step_is_a_422_naming_it(api, step, errors):
    body = assert_problem(post(api, [step]), 422)
    assert body["errors"] == errors
    assert db.session.query(Automation).count() == 0


def test_steps_and_filters_must_be_this_workspaces(api, workspace, make_tag, make_list):
    tag, lst = make_tag(workspace, "VIP"), make_list(workspace, "L")
    missing = "00000000-0000-4000-8000-000000000000"
    body = assert_problem(post(api, [{"type": "add_tag", "tag_id": str(tag.id)},
                                     {"type": "add_to_list", "list_id": missing}]), 404)
    assert body["detail"] == "Step 2: no such list in this workspace."
    body = assert_problem(post(api, [], trigger_list_id=str(lst.id)), 422)
    assert body["errors"] == {"trigger_list_id": ["Only a list_joined automation watches one list."]}
    body = assert_problem(api.post("/automations", json={
        "name": "F", "trigger": "tag_added", "trigger_tag_id": missing}), 404)
    assert body["detail"] == "No such tag in this workspace."
    assert db.session.query(Automation).count() == 0


def test_a_filter_sent_alone_must_suit_the_stored_trigger(api, make_list, workspace):
    """The document can't know the stored trigger: a filter the request pairs with no trigger
    is checked against it, a 409 with the automation as it is (and nothing changes)."""
    lst = make_list(workspace, "L")
    created = post(api, []).json
    body = assert_problem(api.patch(f"/automations/{created['id']}",
                                    json={"trigger_list_id": str(lst.id)}), 409)
    assert "trigger_list_id" in body["detail"] and "contact_created" in body["detail"]
    assert api.get(f"/automations/{created['id']}").json["trigger_list_id"] is None
    changed = api.patch(f"/automations/{created['id']}",
                        json={"trigger": "list_joined", "trigger_list_id": str(lst.id)})
    assert changed.status_code == 200 and changed.json["trigger_list_id"] == str(lst.id)


def test_allow_reentry_is_a_real_boolean(api):
    body = assert_problem(api.post("/automations", json={"name": "R", "trigger": "contact_created",
                                                         "allow_reentry": 0}), 422)
    assert list(body["errors"]) == ["allow_reentry"]


def test_steps_are_stored_as_validated(api, workspace, make_tag):
    tag = make_tag(workspace, "VIP")
    created = post(api, [{"type": "send_email", "subject": "  Welcome, {{ first_name }} ",
                          "body": "Hello"},
                         {"type": "wait", "amount": 3, "unit": "days"},
                         {"type": "add_tag", "tag_id": str(tag.id).upper()}]).get_json()
    assert created["steps"] == [
        {"type": "send_email", "subject": "Welcome, {{ first_name }}", "body": "Hello"},
        {"type": "wait", "amount": 3, "unit": "days"},
        {"type": "add_tag", "tag_id": str(tag.id)}]
    assert [s["type"] for s in created["progress"]["steps"]] == ["send_email", "wait", "add_tag"]


def test_a_mail_whose_merge_tags_cannot_render_is_refused_when_saved(api):
    body = assert_problem(post(api, [{"type": "send_email", "subject": "Hi {{ nickname }}",
                                      "body": "Hello {Ana|Bo"}]), 422)
    assert set(body["errors"]) == {"steps.0.send_email.subject", "steps.0.send_email.body"}
    assert "nickname" in body["errors"]["steps.0.send_email.subject"][0]


def test_changing_the_trigger_drops_the_old_filter(api, workspace, make_list):
    lst = make_list(workspace, "L")
    created = api.post("/automations", json={"name": "F", "trigger": "list_joined",
                                             "trigger_list_id": str(lst.id)}).get_json()
    patched = api.patch(f"/automations/{created['id']}", json={"trigger": "tag_added"}).get_json()
    assert (patched["trigger"], patched["trigger_list_id"]) == ("tag_added", None)


def test_listening_costs_no_extra_statement(api, workspace):
    """With an active automation and no webhook endpoint, a bulk create reads its listeners in
    one statement (endpoints and triggers together), as it did with no automation at all."""
    api.post("/automations", json={"name": "F", "trigger": "tag_added", "status": "active"})
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        api.post("/contacts/bulk", json={"contacts": [{"email": f"b{i}@example.com"}
                                                      for i in range(20)]})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    reading = [s for s in statements if "automations" in s or "webhook" in s]
    assert len(reading) == 1
    assert "webhook_endpoints" in reading[0] and "automations" in reading[0]
