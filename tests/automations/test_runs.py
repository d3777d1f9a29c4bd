"""Automations that run: triggers from every entry point enrol contacts, the runner advances them
through tag/list steps and waits (time injected), pausing holds them, a dead runner's run is
taken over, an automation never triggers itself, and other workspaces are never touched."""
from datetime import timedelta

from sqlalchemy import update

from sureapp.automations import runs
from sureapp.extensions import db
from sureapp.models import AutomationRun, Contact, list_members, tag_members

from tests.api.conftest import assert_problem

from .conftest import runs_of


def automation(api, trigger="contact_created", steps=(), status="active", **fields):
    response = api.post("/automations", json={"name": "Flow", "trigger": trigger,
                                              "status": status, "steps": list(steps), **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def tag_ids_of(contact_id):
    return set(db.session.scalars(db.select(tag_members.c.tag_id)
                                  .where(tag_members.c.contact_id == contact_id)))


def list_ids_of(contact_id):
    return set(db.session.scalars(db.select(list_members.c.list_id)
                                  .where(list_members.c.contact_id == contact_id)))


def test_a_contact_created_through_the_api_runs_every_step(api, workspace, make_tag, make_list,
                                                            run_due):
    vip, old = make_tag(workspace, "VIP"), make_tag(workspace, "Old")
    customers, leads = make_list(workspace, "Customers"), make_list(workspace, "Leads")
    flow = automation(api, steps=[{"type": "add_tag", "tag_id": str(vip.id)},
                                  {"type": "remove_tag", "tag_id": str(old.id)},
                                  {"type": "add_to_list", "list_id": str(customers.id)},
                                  {"type": "remove_from_list", "list_id": str(leads.id)}])
    contact = api.post("/contacts", json={"email": "new@example.com", "tag_ids": [str(old.id)],
                                          "list_ids": [str(leads.id)]}).get_json()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step, str(run.contact_id)) == ("scheduled", 0, contact["id"])
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step, run.finished_at is not None) == ("completed", 4, True)
    assert tag_ids_of(run.contact_id) == {vip.id}
    assert list_ids_of(run.contact_id) == {customers.id}
    # The steps wrote the contact's timeline like any other change, naming the automation.
    timeline = api.get(f"/contacts/{contact['id']}").get_json()
    assert set(timeline["tag_ids"]) == {str(vip.id)}
    progress = api.get(f"/automations/{flow['id']}").get_json()["progress"]
    assert (progress["enrolled"], progress["completed"], progress["in_progress"]) == (1, 1, 0)


def test_a_wait_holds_the_run_until_its_time(api, workspace, make_tag, clock, run_due):
    vip = make_tag(workspace, "VIP")
    flow = automation(api, steps=[{"type": "wait", "amount": 2, "unit": "days"},
                                  {"type": "add_tag", "tag_id": str(vip.id)}])
    api.post("/contacts", json={"email": "w@example.com"})
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step) == ("scheduled", 0)
    assert run.next_at == clock.now + timedelta(days=2)
    steps = api.get(f"/automations/{flow['id']}").get_json()["progress"]["steps"]
    assert [s["in_progress"] for s in steps] == [1, 0]
    clock.advance(days=1, hours=23)
    run_due()
    assert runs_of(flow["id"])[0].state == "scheduled" and not tag_ids_of(run.contact_id)
    clock.advance(hours=1)
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step) == ("completed", 2) and tag_ids_of(run.contact_id) == {vip.id}


def test_list_joined_and_tag_added_watch_their_list_and_tag(api, workspace, make_contact,
                                                            make_list, make_tag):
    watched, other = make_list(workspace, "Watched"), make_list(workspace, "Other")
    vip = make_tag(workspace, "VIP")
    on_list = automation(api, "list_joined", trigger_list_id=str(watched.id))
    any_tag = automation(api, "tag_added")
    contact = make_contact(workspace)
    api.post(f"/lists/{other.id}/contacts", json={"contact_ids": [str(contact.id)]})
    assert runs_of(on_list["id"]) == []
    api.post(f"/lists/{watched.id}/contacts", json={"contact_ids": [str(contact.id)]})
    assert [r.contact_id for r in runs_of(on_list["id"])] == [contact.id]
    api.post(f"/tags/{vip.id}/contacts", json={"contact_ids": [str(contact.id)]})
    assert [r.contact_id for r in runs_of(any_tag["id"])] == [contact.id]


def test_bulk_upsert_enrols_each_new_contact_once(api, workspace):
    flow = automation(api)
    rows = [{"email": f"b{i}@example.com"} for i in range(30)]
    assert api.post("/contacts/bulk", json={"contacts": rows}).status_code == 200
    api.post("/contacts/bulk", json={"contacts": rows})  # updates: no new contact, no new run
    assert len(runs_of(flow["id"])) == 30


def test_a_contact_enrols_once_unless_reentry_is_allowed(api, workspace, make_contact, make_tag,
                                                        run_due):
    vip = make_tag(workspace, "VIP")
    once = automation(api, "tag_added")
    again = automation(api, "tag_added", allow_reentry=True)
    contact = make_contact(workspace)
    path = f"/tags/{vip.id}/contacts"
    api.post(path, json={"contact_ids": [str(contact.id)]})
    api.post(path, json={"contact_ids": [str(contact.id)]})  # already tagged: no event
    api.delete(f"{path}/{contact.id}")
    api.post(path, json={"contact_ids": [str(contact.id)]})  # tagged again, run still open
    assert [len(runs_of(a["id"])) for a in (once, again)] == [1, 1]
    run_due()  # both runs (no steps) complete
    api.delete(f"{path}/{contact.id}")
    api.post(path, json={"contact_ids": [str(contact.id)]})
    assert len(runs_of(once["id"])) == 1
    assert [r.entry for r in runs_of(again["id"])] == [1, 2]


def test_paused_automations_enrol_nobody_and_hold_their_runs(api, workspace, make_tag, clock,
                                                             run_due):
    vip = make_tag(workspace, "VIP")
    flow = automation(api, steps=[{"type": "wait", "amount": 1, "unit": "hours"},
                                  {"type": "add_tag", "tag_id": str(vip.id)}])
    api.post("/contacts", json={"email": "held@example.com"})
    run_due()
    path = f"/automations/{flow['id']}"
    assert api.patch(path, json={"status": "paused"}).get_json()["status"] == "paused"
    api.post("/contacts", json={"email": "late@example.com"})
    assert len(runs_of(flow["id"])) == 1  # no new enrolment while paused
    clock.advance(hours=2)
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step) == ("scheduled", 0)  # held at its wait
    api.patch(path, json={"status": "active"})
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, tag_ids_of(run.contact_id)) == ("completed", {vip.id})


def test_a_run_claimed_by_a_dead_runner_is_taken_over_and_its_step_applied_once(
        api, workspace, make_tag, clock, run_due):
    vip = make_tag(workspace, "VIP")
    flow = automation(api, steps=[{"type": "add_tag", "tag_id": str(vip.id)}])
    api.post("/contacts", json={"email": "crash@example.com"})
    ((run_id, _lease),) = runs.claim(now=clock.catch_up())  # a runner claims it, then dies
    assert runs.claim(now=clock.catch_up()) == []  # nobody else takes it while the lease lasts
    run_due()
    assert runs_of(flow["id"])[0].state == "running"
    clock.advance(minutes=6)  # the lease is over
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.id, run.state) == (run_id, "completed")
    assert tag_ids_of(run.contact_id) == {vip.id}
    from sureapp.models import ContactEvent
    added = db.session.query(ContactEvent).filter_by(contact_id=run.contact_id,
                                                     action="tag_added").count()
    assert added == 1


def test_a_stale_runner_cannot_record_over_the_new_one(api, workspace, make_tag, clock):
    vip = make_tag(workspace, "VIP")
    flow = automation(api, steps=[{"type": "add_tag", "tag_id": str(vip.id)}])
    api.post("/contacts", json={"email": "stale@example.com"})
    ((run_id, old_lease),) = runs.claim(now=clock.catch_up())
    ((_, new_lease),) = runs.claim(now=clock.advance(minutes=6))
    assert runs.advance(run_id, old_lease, now=clock.now) is None
    assert runs_of(flow["id"])[0].state == "running" and not tag_ids_of(runs_of(flow["id"])[0].contact_id)
    assert runs.advance(run_id, new_lease, now=clock.now) == "completed"


def test_an_automation_never_triggers_itself(api, workspace, make_contact, make_tag, run_due):
    """A tag_added automation that takes its own tag off and puts it back, re-entry allowed:
    its own step does not enrol the contact again, and the runner goes idle."""
    a_tag = make_tag(workspace, "A")
    selfish = automation(api, "tag_added", allow_reentry=True, trigger_tag_id=str(a_tag.id),
                         steps=[{"type": "remove_tag", "tag_id": str(a_tag.id)},
                                {"type": "add_tag", "tag_id": str(a_tag.id)}])
    contact = make_contact(workspace)
    api.post(f"/tags/{a_tag.id}/contacts", json={"contact_ids": [str(contact.id)]})
    for _ in range(3):
        run_due()
    assert [(r.state, r.entry) for r in runs_of(selfish["id"])] == [("completed", 1)]
    assert tag_ids_of(contact.id) == {a_tag.id} and runs._next_due() is None


def test_automations_that_start_each_other_stop_after_one_round(api, workspace, make_contact,
                                                                make_tag, run_due):
    """ping adds A, which starts pong; pong adds B, which starts ping: the chain ends when it
    would come back to an automation already in it."""
    a_tag, b_tag = make_tag(workspace, "A"), make_tag(workspace, "B")
    ping = automation(api, "tag_added", allow_reentry=True, trigger_tag_id=str(b_tag.id),
                      steps=[{"type": "remove_tag", "tag_id": str(a_tag.id)},
                             {"type": "add_tag", "tag_id": str(a_tag.id)}])
    pong = automation(api, "tag_added", allow_reentry=True, trigger_tag_id=str(a_tag.id),
                      steps=[{"type": "remove_tag", "tag_id": str(b_tag.id)},
                             {"type": "add_tag", "tag_id": str(b_tag.id)}])
    contact = make_contact(workspace)
    api.post(f"/tags/{a_tag.id}/contacts", json={"contact_ids": [str(contact.id)]})
    for _ in range(5):
        run_due()
    (pong_run,), (ping_run,) = runs_of(pong["id"]), runs_of(ping["id"])
    assert (pong_run.state, ping_run.state) == ("completed", "completed")
    assert ping_run.chain == [pong["id"]]  # started by pong's step
    assert runs._next_due() is None


def test_a_chain_of_automations_is_bounded(api, workspace, make_contact, make_tag, run_due):
    """Twelve automations each adding the next one's tag: MAX_CHAIN of them run."""
    tags = [make_tag(workspace, f"T{i}") for i in range(13)]
    flows = [automation(api, "tag_added", trigger_tag_id=str(tags[i].id),
                        steps=[{"type": "add_tag", "tag_id": str(tags[i + 1].id)}])
             for i in range(12)]
    contact = make_contact(workspace)
    api.post(f"/tags/{tags[0].id}/contacts", json={"contact_ids": [str(contact.id)]})
    for _ in range(15):
        run_due()
    ran = [len(runs_of(f["id"])) for f in flows]
    assert ran == [1] * runs.MAX_CHAIN + [0] * (12 - runs.MAX_CHAIN)


def test_a_step_whose_tag_was_deleted_fails_the_run_visibly(api, workspace, make_tag, run_due):
    vip = make_tag(workspace, "VIP")
    flow = automation(api, steps=[{"type": "add_tag", "tag_id": str(vip.id)}])
    api.post("/contacts", json={"email": "gone@example.com"})
    api.delete(f"/tags/{vip.id}")
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step, run.last_error) == (
        "failed", 0, "The tag of this step no longer exists.")
    body = api.get(f"/automations/{flow['id']}/runs?state=failed").get_json()
    assert [r["last_error"] for r in body["data"]] == [run.last_error]
    assert api.get(f"/automations/{flow['id']}").get_json()["progress"]["steps"][0]["failed"] == 1


def test_other_workspaces_neither_trigger_nor_are_touched(api, workspace, make_user, make_org,
                                                          make_key, make_tag, client, run_due):
    from tests.api.conftest import ApiClient

    other_ws = make_org(make_user(email="b-owner@example.com"), name="B", workspace_name="B")[1]
    theirs = ApiClient(client, make_key(other_ws)[1])
    their_tag = make_tag(other_ws, "Theirs")
    mine = automation(api)
    # Another workspace's tag in my step is refused, as if it did not exist.
    refused = api.post("/automations", json={"name": "X", "trigger": "contact_created",
                                             "steps": [{"type": "add_tag",
                                                        "tag_id": str(their_tag.id)}]})
    assert assert_problem(refused, 404)["detail"] == \
        "Step 1: no such tag in this workspace."
    theirs.post("/contacts", json={"email": "theirs@example.com"})
    assert runs_of(mine["id"]) == []
    assert_problem(theirs.get(f"/automations/{mine['id']}"), 404)
    assert_problem(theirs.get(f"/automations/{mine['id']}/runs"), 404)
    assert_problem(theirs.patch(f"/automations/{mine['id']}", json={"status": "paused"}), 404)


def test_deleting_a_contact_or_the_automation_removes_its_runs(api, workspace):
    flow = automation(api, steps=[{"type": "wait", "amount": 1, "unit": "days"}])
    first = api.post("/contacts", json={"email": "d1@example.com"}).get_json()
    api.post("/contacts", json={"email": "d2@example.com"})
    api.delete(f"/contacts/{first['id']}")
    assert len(runs_of(flow["id"])) == 1
    api.delete(f"/automations/{flow['id']}")
    assert db.session.query(AutomationRun).count() == 0


def test_a_rolled_back_change_enrols_nobody(api, workspace, app):
    """The enrolment is written in the change's transaction: a refused create leaves no run."""
    flow = automation(api)
    db.session.execute(update(Contact.__table__).values(status="active"))
    workspace_row = db.session.get(type(workspace), workspace.id)
    workspace_row.contact_allocation = 0
    db.session.commit()
    assert_problem(api.post("/contacts", json={"email": "over@example.com"}), 409)
    assert runs_of(flow["id"]) == []


def test_an_unexpected_error_fails_the_run_instead_of_retrying_forever(api, workspace, make_tag,
                                                                       monkeypatch, run_due):
    vip = make_tag(workspace, "VIP")
    flow = automation(api, steps=[{"type": "add_tag", "tag_id": str(vip.id)}])
    api.post("/contacts", json={"email": "bug@example.com"})

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runs, "_apply_group_step", broken)
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.lease_until) == ("failed", None)
    assert "unexpected error" in run.last_error and runs._next_due() is None
