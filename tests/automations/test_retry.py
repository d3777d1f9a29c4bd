"""Retrying a failed run: POST /api/v1/automations/{id}/runs/{run_id}/retry, the MCP tool and the
runs page's Retry (Manager+, confirmed). The run resumes at the step that failed, through the
periodic task, and mails once SMTP works again (a real SMTP server on 127.0.0.1)."""
import uuid

import pytest
from sqlalchemy import update

from sureapp.extensions import db
from sureapp.models import AutomationRun, Role

from tests.api.conftest import ApiClient, assert_problem

from .conftest import runs_of
from .test_mcp import call

MAIL = {"type": "send_email", "subject": "Hello {{ first_name | default: \"there\" }}",
        "body": "Welcome."}


@pytest.fixture
def app_config():
    return {"PUBLIC_URL": "https://sure.example.com", "TRUSTED_HOSTS": None}


def automation(api, steps, **fields):
    response = api.post("/automations", json={"name": "Welcome", "trigger": "contact_created",
                                              "status": "active", "steps": steps} | fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def failed(api, app, make_tag, workspace, run_due):
    """A run that failed at its send_email step (step 1: no SMTP server), after a tag step."""
    app.config["SMTP_URL"] = ""
    vip = make_tag(workspace, "VIP")
    flow = automation(api, [{"type": "add_tag", "tag_id": str(vip.id)}, MAIL])
    contact = api.post("/contacts", json={"email": "ann@example.com", "first_name": "Ann"}
                       ).get_json()
    run_due()
    (run,) = runs_of(flow["id"])
    assert (run.state, run.step) == ("failed", 1) and "No SMTP server" in run.last_error
    return flow, run, contact


def retry_path(flow, run) -> str:
    return f"/automations/{flow['id']}/runs/{run.id}/retry"


def test_a_retried_run_continues_at_the_step_that_failed(api, app, failed, smtp_server, run_due):
    flow, run, contact = failed
    app.config["SMTP_URL"] = smtp_server.url()  # the cause is fixed
    response = api.post(retry_path(flow, run))
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["id"], body["state"], body["step"], body["last_error"], body["finished_at"]) == (
        str(run.id), "scheduled", 1, "", None)
    run_due()
    (mail,) = smtp_server.to("ann@example.com")
    assert mail["Subject"] == "Hello Ann"
    (done,) = runs_of(flow["id"])
    assert (done.state, done.step, done.entry) == ("completed", 2, 1)
    # The tag step before it was not applied again: one timeline entry for the tag.
    timeline = api.get(f"/contacts/{contact['id']}").get_json()
    assert len(timeline["tag_ids"]) == 1
    progress = api.get(f"/automations/{flow['id']}").get_json()["progress"]
    assert (progress["failed"], progress["completed"]) == (0, 1)


def test_only_a_failed_run_of_an_active_automation_is_retried(api, failed, run_due):
    flow, run, _ = failed
    assert api.post(retry_path(flow, run)).status_code == 202
    problem = assert_problem(api.post(retry_path(flow, run)), 409)
    assert problem["detail"] == "Only a failed run can be retried; this one is scheduled."
    run_due()  # fails again: still no SMTP
    assert api.patch(f"/automations/{flow['id']}", json={"status": "paused"}).status_code == 200
    problem = assert_problem(api.post(retry_path(flow, run)), 409)
    assert problem["detail"].startswith("The automation is paused: activate it")
    assert runs_of(flow["id"])[0].state == "failed"


def test_a_contact_who_entered_again_keeps_the_later_run(api, failed):
    flow, run, _ = failed
    db.session.add(AutomationRun(workspace_id=run.workspace_id, automation_id=run.automation_id,
                                 contact_id=run.contact_id, entry=2, state="scheduled",
                                 chain=[]))
    db.session.commit()
    problem = assert_problem(api.post(retry_path(flow, run)), 409)
    assert "entered this automation again" in problem["detail"]


def test_a_mail_interrupted_mid_send_is_not_sent_again_on_retry(api, app, failed, smtp_server,
                                                              run_due):
    """A run stopped by an unexpected error after its mail was handed over keeps the
    at-most-once marker: the retry goes on past that mail."""
    flow, run, _ = failed
    db.session.execute(update(AutomationRun).where(AutomationRun.id == run.id)
                       .values(sending_step=1))
    db.session.commit()
    app.config["SMTP_URL"] = smtp_server.url()
    assert api.post(retry_path(flow, run)).status_code == 202
    run_due()
    assert smtp_server.messages == []
    (done,) = runs_of(flow["id"])
    assert done.state == "completed" and "not sent again" in done.last_error


def test_another_workspaces_or_automations_ids_are_404(api, client, failed, make_user, make_org,
                                                       make_key):
    flow, run, _ = failed
    other = automation(api, [MAIL], name="Other")
    assert_problem(api.post(f"/automations/{other['id']}/runs/{run.id}/retry"), 404)
    assert_problem(api.post(f"/automations/{flow['id']}/runs/{uuid.uuid4()}/retry"), 404)
    theirs_ws = make_org(make_user(email="them@example.com"), name="B", workspace_name="B")[1]
    theirs = ApiClient(client, make_key(theirs_ws)[1])
    assert_problem(theirs.post(retry_path(flow, run)), 404)
    assert runs_of(flow["id"])[0].state == "failed"


def test_retrying_needs_automations_write(client, failed, make_key, workspace):
    flow, run, _ = failed
    reader = ApiClient(client, make_key(workspace, ("automations:read",))[1])
    problem = assert_problem(reader.post(retry_path(flow, run)), 403)
    assert problem["required_scope"] == "automations:write"
    writer = ApiClient(client, make_key(workspace, ("automations:write",))[1])
    assert writer.post(retry_path(flow, run)).status_code == 202


def test_the_mcp_tool_retries(client, failed, make_key, workspace):
    flow, run, _ = failed
    key = make_key(workspace, ("automations:read", "automations:write"))[1]
    arguments = {"automation_id": flow["id"], "run_id": str(run.id)}
    is_error, data, _ = call(client, key, "retry_automation_run", arguments)
    assert is_error is False and data["state"] == "scheduled"
    is_error, _, text = call(client, key, "retry_automation_run", arguments)
    assert is_error is True and "Only a failed run can be retried" in text


# ---- the pages ----------------------------------------------------------------------------------

@pytest.fixture
def manager_client(workspace, make_user, add_member, login, app):
    manager = make_user(email="manager@example.com")
    add_member(workspace, manager, Role.MANAGER)
    return login(manager, as_client=app.test_client())


def test_the_runs_page_lists_runs_by_state_and_retries_a_failed_one(
        api, app, failed, manager_client, workspace, smtp_server, run_due):
    flow, run, _ = failed
    api.post("/contacts", json={"email": "bob@example.com"})  # also fails (no SMTP)
    run_due()
    base = f"/w/{workspace.id}/automations/{flow['id']}"
    shown = manager_client.get(base).get_data(as_text=True)
    assert f'href="{base}/runs?state=failed"' in shown  # the page links its failed runs
    page = manager_client.get(f"{base}/runs?state=failed").get_data(as_text=True)
    assert "ann@example.com" in page and "bob@example.com" in page
    assert f'href="{base}/runs/{run.id}/retry"' in page
    assert "ann@example.com" not in manager_client.get(f"{base}/runs?state=completed"
                                                       ).get_data(as_text=True)
    confirm = manager_client.get(f"{base}/runs/{run.id}/retry")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "It continues now at step 2 (Send an email)" in html and "Retry run" in html
    app.config["SMTP_URL"] = smtp_server.url()
    answer = manager_client.post(f"{base}/runs/{run.id}/retry")
    assert answer.status_code == 303 and answer.headers["Location"] == f"{base}/runs"
    run_due()
    assert len(smtp_server.to("ann@example.com")) == 1
    assert smtp_server.to("bob@example.com") == []  # only the run that was retried
    refused = manager_client.post(f"{base}/runs/{run.id}/retry")
    assert refused.status_code == 422
    assert "Only a failed run can be retried; this one is completed." in refused.get_data(
        as_text=True)


def test_the_runs_page_refuses_bad_filters_and_cursors_with_a_notice(failed, manager_client,
                                                                     workspace):
    flow, _, _ = failed
    base = f"/w/{workspace.id}/automations/{flow['id']}/runs"
    for query, notice in (("state=nonsense", "There is no such state"),
                          ("cursor=garbage", "That page link is out of date or damaged")):
        response = manager_client.get(f"{base}?{query}")
        assert response.status_code == 200, query
        html = response.get_data(as_text=True)
        assert notice in html and "ann@example.com" in html


def test_the_runs_page_pages(api, failed, manager_client, workspace, monkeypatch):
    from sureapp.automations import routes

    flow, _, _ = failed
    monkeypatch.setattr(routes, "RUNS_PER_PAGE", 1)
    api.post("/contacts", json={"email": "bob@example.com"})
    base = f"/w/{workspace.id}/automations/{flow['id']}/runs"
    first = manager_client.get(base).get_data(as_text=True)
    assert "bob@example.com" in first and "ann@example.com" not in first
    start = first.index(f'href="{base}?cursor=') + len('href="')
    second = manager_client.get(first[start:first.index('"', start)].replace("&amp;", "&"))
    assert "ann@example.com" in second.get_data(as_text=True)


@pytest.mark.parametrize("role,status", [(Role.MEMBER, 403), (Role.MANAGER, 200)])
def test_runs_and_retry_are_for_managers(failed, workspace, make_user, add_member, login, app,
                                         role, status):
    flow, run, _ = failed
    user = make_user(email=f"{role.slug}@example.com")
    add_member(workspace, user, role)
    client = login(user, as_client=app.test_client())
    base = f"/w/{workspace.id}/automations/{flow['id']}"
    assert client.get(f"{base}/runs").status_code == status
    assert client.get(f"{base}/runs/{run.id}/retry").status_code == status
    assert client.post(f"{base}/runs/{run.id}/retry").status_code == (403 if status == 403
                                                                       else 303)


def test_another_workspaces_run_is_404_in_the_ui(failed, workspace, manager_client, api):
    flow, run, _ = failed
    other = automation(api, [MAIL], name="Other")
    base = f"/w/{workspace.id}/automations"
    assert manager_client.get(f"{base}/{other['id']}/runs/{run.id}/retry").status_code == 404
    assert manager_client.post(f"{base}/{other['id']}/runs/{run.id}/retry").status_code == 404
    assert manager_client.get(f"{base}/{flow['id']}/runs/not-a-uuid/retry").status_code == 404
