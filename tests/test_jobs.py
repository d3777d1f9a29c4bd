"""The background-job runner (sureapp/jobs.py): progress, all-or-nothing failure, a job whose
process died, and one job never run twice."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp import jobs
from sureapp.contacts import services
from sureapp.contacts.schemas import ContactCreate
from sureapp.extensions import db
from sureapp.models import Contact, Job, Workspace
from sureapp.timeutil import utcnow

# ---- test job kinds (module level: the child process of the crash test registers them too) ----

gate = {"reached": threading.Event(), "release": threading.Event()}


def _add_contacts(ctx: jobs.JobContext) -> dict:
    """Creates params['n'] contacts one by one; pauses after the first when asked, then fails if
    asked: an atomic job must leave none of them behind."""
    workspace = db.session.get(Workspace, ctx.workspace_id)
    n = ctx.params["n"]
    for i in range(n):
        services.create_contact(workspace, ContactCreate(email=f"{ctx.params['prefix']}{i}@example.com"),
                                source="Job")
        db.session.flush()
        ctx.progress(done=i + 1, total=n)
        if ctx.params.get("pause") and i == 0:
            gate["reached"].set()
            if ctx.params["pause"] == "forever":
                open(ctx.params["marker"], "w").close()
                time.sleep(3600)  # the test kills this process here
            gate["release"].wait(10)
        if not ctx.kind.atomic:
            ctx.checkpoint()
        if ctx.params.get("fail_at") == i + 1:
            raise RuntimeError("disk full")
    return {"created": n}


ATOMIC = jobs.register("test.atomic", _add_contacts, atomic=True,
                       interrupted_message="Nothing was changed: the server restarted.")
STEPWISE = jobs.register("test.stepwise", _add_contacts, atomic=False,
                         interrupted_message="Stopped by a restart; saved rows stay.")


def contact_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Contact))


@pytest.fixture
def workspace(app, make_user, make_org):
    _, ws = make_org(make_user(email="jobs-owner@example.com"), name="Jobs Org")
    return ws


def new_job(kind, workspace, user_id=None, **params) -> Job:
    job = jobs.create(kind, workspace.id, user_id, title="Test job",
                      params={"n": 3, "prefix": "j", **params})
    db.session.commit()
    return job


def reload(job_id) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


# ---- progress and outcome ---------------------------------------------------------------------

def test_an_atomic_job_reports_progress_while_it_runs_and_commits_once(app, workspace):
    gate["reached"].clear(), gate["release"].clear()
    job = new_job(ATOMIC, workspace, pause="once")
    jobs.start(job.id)
    assert gate["reached"].wait(10)
    running = jobs.get(job.id, kind=ATOMIC, workspace_id=workspace.id, user_id=None)
    assert running.state == "running"
    assert jobs.progress_of(running) == {"done": 1, "total": 3}
    assert contact_count() == 0  # nothing visible before the one commit
    gate["release"].set()
    jobs.wait_for(job.id)
    done = reload(job.id)
    assert (done.state, done.result, done.progress) == ("done", {"created": 3}, {"done": 3, "total": 3})
    assert contact_count() == 3


def test_a_failing_atomic_job_changes_nothing_and_says_why(app, workspace):
    job = new_job(ATOMIC, workspace, fail_at=2)
    jobs.start(job.id)
    jobs.wait_for(job.id)
    failed = reload(job.id)
    assert failed.state == "failed" and failed.error == "an unexpected error"
    assert contact_count() == 0


def test_a_failing_stepwise_job_keeps_its_saved_steps_and_their_progress(app, workspace):
    job = new_job(STEPWISE, workspace, fail_at=2)
    jobs.start(job.id)
    jobs.wait_for(job.id)
    failed = reload(job.id)
    assert failed.state == "failed"
    assert failed.progress == {"done": 2, "total": 3}  # exactly what was committed
    assert contact_count() == 2


def test_jobs_are_visible_only_to_their_owner_in_their_workspace(app, workspace, make_user,
                                                                 make_org):
    owner = make_user(email="owner2@example.com")
    job = new_job(ATOMIC, workspace, user_id=owner.id)
    _, elsewhere = make_org(owner, name="Elsewhere Org")
    assert jobs.get(job.id, kind=ATOMIC, workspace_id=workspace.id, user_id=owner.id) is not None
    assert jobs.get(job.id, kind=ATOMIC, workspace_id=workspace.id, user_id=None) is None
    assert jobs.get(job.id, kind=ATOMIC, workspace_id=elsewhere.id, user_id=owner.id) is None
    assert jobs.get(job.id, kind=STEPWISE, workspace_id=workspace.id, user_id=owner.id) is None
    assert jobs.get("../" + job.id[3:], kind=ATOMIC, workspace_id=workspace.id, user_id=owner.id) is None


# ---- a runner that died -----------------------------------------------------------------------

def _running_job(workspace, runner_id: str, silent_for: timedelta) -> Job:
    job = new_job(ATOMIC, workspace)
    beat = utcnow() - silent_for
    db.session.execute(Job.__table__.update().where(Job.id == job.id).values(
        state="running", runner_id=runner_id, started_at=beat, heartbeat_at=beat))
    db.session.commit()
    return job


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_job_of_a_dead_process_on_this_host_is_interrupted_at_once(app, workspace):
    job = _running_job(workspace, f"{socket.gethostname()}:{_dead_pid()}:0000", timedelta(0))
    seen = jobs.get(job.id, kind=ATOMIC, workspace_id=workspace.id, user_id=None)
    assert (seen.state, seen.error) == ("interrupted", "Nothing was changed: the server restarted.")


def test_a_job_of_another_host_is_interrupted_once_its_heartbeat_is_stale(app, workspace):
    fresh = _running_job(workspace, "other-host:1:abcd", timedelta(seconds=10))
    stale = _running_job(workspace, "other-host:1:abcd", timedelta(minutes=10))
    assert jobs.get(fresh.id, kind=ATOMIC, workspace_id=workspace.id, user_id=None).state == "running"
    assert jobs.sweep()["interrupted"] == 1
    assert reload(stale.id).state == "interrupted" and reload(fresh.id).state == "running"


def test_a_job_of_this_process_that_no_thread_runs_is_interrupted(app, workspace):
    job = _running_job(workspace, jobs.runner_id(), timedelta(0))
    assert jobs.get(job.id, kind=ATOMIC, workspace_id=workspace.id, user_id=None).state == "interrupted"


CHILD = """
import sys
from tests.conftest import make_test_app
import tests.test_jobs as t
from sureapp import jobs
app = make_test_app(sys.argv[1])
with app.app_context():
    jobs._run(sys.argv[2])
"""


def test_a_killed_process_leaves_its_atomic_job_interrupted_and_nothing_applied(
        app, workspace, database_urls, backend, tmp_path):
    """A real process runs the job and is killed (SIGKILL) half-way: its uncommitted work is
    gone with it, and the next look at the job says so instead of "running" forever."""
    marker = tmp_path / "first-contact-written"
    job = new_job(ATOMIC, workspace, pause="forever", marker=str(marker))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen([sys.executable, "-c", CHILD, database_urls[backend], job.id], cwd=root)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():  # the child has written its first contact, uncommitted
            assert time.monotonic() < deadline and child.poll() is None, "the child never got there"
            time.sleep(0.1)
        assert reload(job.id).state == "running"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    seen = jobs.get(job.id, kind=ATOMIC, workspace_id=workspace.id, user_id=None)
    assert seen.state == "interrupted"
    assert contact_count() == 0


# ---- one job, one run ---------------------------------------------------------------------------

def test_two_workers_claiming_one_job_at_once_run_it_once(app, workspace):
    """Eight claimers race (threads with their own connections, as workers would be): one wins."""
    job_id = new_job(ATOMIC, workspace).id
    barrier = threading.Barrier(8)
    wins = []

    def claimer():
        with app.app_context():
            barrier.wait()
            wins.append(jobs.claim(job_id))
            db.session.remove()

    threads = [threading.Thread(target=claimer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(wins) == [False] * 7 + [True]
    assert reload(job_id).state == "running"


def test_a_finished_job_cannot_be_run_again(app, workspace):
    job = new_job(ATOMIC, workspace)
    assert jobs.run_now(job).state == "done"
    with pytest.raises(jobs.JobError):
        jobs.run_now(reload(job.id))
    assert contact_count() == 3
