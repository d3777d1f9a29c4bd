"""The one background-job runner: bulk actions and CSV import today, built so webhook deliveries
and campaign sends can run on it too.

A job is a row of the `jobs` table (models/jobs.py), so its state and progress survive a restart
and every worker sees them. A kind is registered once by passing its function:

    BULK = jobs.register("contacts.bulk", run_bulk, atomic=True, interrupted_message=...)

and a job of it is created in the caller's transaction (`create`), committed by the caller, then
started (`start`: a daemon thread of this process) or run in the current thread (`run_now`, the
CLI). Whoever runs it first claims it with one conditional UPDATE (queued → running), so a double
click, two threads or two workers never run one job twice.

Two transaction shapes:
- atomic (all or nothing): the function's writes and the job's "done" are committed together by
  the runner, once; any error rolls everything back and the job is "failed, nothing changed".
  Its progress is written beside the open transaction on its own connection (PostgreSQL); on
  SQLite, whose one writer is the job's own transaction, progress stays in this process's memory
  (the embedded setup is one process).
- stepwise: the function commits its own steps with `ctx.checkpoint()`, each together with the
  progress it reached, so the row always tells how far the saved work got.

A job whose runner died (a restart, a killed worker) is found on the next look at it (`get`) or
sweep and marked "interrupted" with its kind's message: for an atomic job its transaction died
with the process, so nothing of it was applied.
"""
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import delete, select, update

from .errors import DomainError
from .extensions import db
from .models import FINISHED_STATES, Job
from .processid import current_pid
from .timeutil import utcnow

log = logging.getLogger(__name__)

JOB_TTL = timedelta(hours=24)  # finished jobs and unstarted drafts are kept this long
# A queued job nobody started this long after it was queued (its process died before the thread
# began) is started by the next sweep.
QUEUED_GRACE = timedelta(seconds=30)
PROGRESS_WRITE_INTERVAL = 1.0  # seconds between side-channel progress writes of atomic jobs


class JobError(DomainError):
    """A job can't be started or changed as asked (already started, finished…)."""


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[["JobContext"], dict]  # returns the job's result (plain JSON values)
    atomic: bool
    interrupted_message: str  # shown when the job's runner died while it ran
    failure_message: Callable[[BaseException], str]  # shown when it raised


_kinds: dict[str, JobKind] = {}


def _default_failure(exc: BaseException) -> str:
    return exc.message if isinstance(exc, DomainError) else "an unexpected error"


def register(name: str, run: Callable[["JobContext"], dict], *, atomic: bool,
             interrupted_message: str,
             failure_message: Callable[[BaseException], str] = _default_failure) -> JobKind:
    """Declare a job kind; the returned JobKind is what `create` takes."""
    if name in _kinds and _kinds[name].run is not run:
        raise ValueError(f"job kind {name!r} is already registered")
    kind = JobKind(name, run, atomic, interrupted_message, failure_message)
    _kinds[name] = kind
    return kind


# ---- who runs what ----------------------------------------------------------------------------

_runner = {"pid": None, "id": ""}
_active: set[str] = set()  # job ids this process is running right now
_live_progress: dict[str, dict] = {}  # atomic jobs' progress on SQLite (see the module docstring)
_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def runner_id() -> str:
    """host:pid:token of this process; the token tells a restarted process from its previous life
    when the pid is reused (pid 1 in every container start)."""
    if _runner["pid"] != current_pid():  # recomputed after a fork (gunicorn workers)
        _runner.update(pid=current_pid(), id=f"{socket.gethostname()}:{current_pid()}:{secrets.token_hex(4)}")
    return _runner["id"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _runner_alive(job: Job, now) -> bool:
    """Is the process that claimed this running job still running it?"""
    if job.runner_id == runner_id():
        return job.id in _active
    host, pid, _token = (job.runner_id.rsplit(":", 2) + ["", ""])[:3]
    silent_for = now - (job.heartbeat_at or job.started_at or job.created_at)
    if silent_for > timedelta(seconds=current_app.config.get("JOBS_MAX_SILENCE_SECONDS", 3600)):
        return False  # covers a reused pid and a hung process alike
    if host == socket.gethostname():
        return pid.isdigit() and _pid_alive(int(pid))
    # Another host: only its heartbeats tell (every progress write and checkpoint is one).
    return silent_for <= timedelta(seconds=current_app.config.get("JOBS_STALE_SECONDS", 120))


def _supports_side_writes() -> bool:
    """Can a second connection write while a job's transaction is open? Not on SQLite (one writer)."""
    return db.engine.dialect.name != "sqlite"


# ---- creating and reading jobs ----------------------------------------------------------------

def create(kind: JobKind, workspace_id: uuid.UUID, user_id: uuid.UUID | None, *, title: str = "",
           params: dict | None = None, input_text: str | None = None, draft: bool = False) -> Job:
    """A new job in the caller's transaction (the caller commits, then calls `start`)."""
    sweep()  # before this transaction writes: the sweep writes on its own connection
    job = Job(id=secrets.token_hex(16), kind=kind.name, workspace_id=workspace_id, user_id=user_id,
              state="draft" if draft else "queued", title=title[:300], params=params or {},
              progress={}, result={}, input_text=input_text, created_at=utcnow())
    db.session.add(job)
    db.session.flush()
    return job


def get(job_id: str, *, kind: JobKind, workspace_id: uuid.UUID, user_id: uuid.UUID | None) -> Job | None:
    """The job if it is of this kind and belongs to this user in this workspace, else None. A
    running job whose runner died is marked interrupted first, so it never reads "running"
    forever."""
    if not isinstance(job_id, str) or len(job_id) != 32 or any(c not in "0123456789abcdef" for c in job_id):
        return None
    job = db.session.get(Job, job_id, populate_existing=True)  # a poll wants the row, not a cache
    if job is None or job.kind != kind.name or job.workspace_id != workspace_id or job.user_id != user_id:
        return None
    if job.state == "running" and not _runner_alive(job, utcnow()):
        _mark_interrupted(job)
    return job


def progress_of(job: Job) -> dict:
    """The job's latest progress: this process's live copy if it runs the job, else the row's."""
    return dict(_live_progress.get(job.id) or job.progress or {})


def queue_draft(job: Job) -> bool:
    """draft → queued, for exactly one caller (a double click queues once); the caller commits."""
    done = db.session.execute(update(Job).where(Job.id == job.id, Job.state == "draft")
                              .values(state="queued", created_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount
    db.session.expire(job)
    return done == 1


def delete_job(job: Job) -> None:
    """Remove a job that is not running (the caller commits)."""
    if job.state in ("queued", "running"):
        raise JobError("The job is running; wait until it has finished.")
    db.session.delete(job)


def _mark_interrupted(job: Job) -> None:
    message = _kinds[job.kind].interrupted_message if job.kind in _kinds else "The job was interrupted."
    with db.engine.begin() as conn:  # its own transaction: a read must not depend on the caller's
        conn.execute(update(Job).where(Job.id == job.id, Job.state == "running",
                                       Job.runner_id == job.runner_id)
                     .values(state="interrupted", error=message, input_text=None,
                             finished_at=utcnow()))
    db.session.refresh(job)


def sweep(now=None) -> dict:
    """Mark jobs of dead runners interrupted, start queued jobs nobody started, delete expired
    ones; returns how many of each."""
    now = now or utcnow()
    counts = {"interrupted": 0, "started": 0, "deleted": 0}
    for job in db.session.scalars(select(Job).where(Job.state == "running")):
        if not _runner_alive(job, now):
            _mark_interrupted(job)
            counts["interrupted"] += 1
    stale_queued = list(db.session.scalars(select(Job.id).where(
        Job.state == "queued", Job.created_at < now - QUEUED_GRACE)))
    for job_id in stale_queued:
        if job_id not in _threads:
            start(job_id)
            counts["started"] += 1
    with db.engine.begin() as conn:
        counts["deleted"] = conn.execute(delete(Job).where(
            Job.state.in_([*FINISHED_STATES, "draft"]), Job.created_at < now - JOB_TTL)).rowcount
    return counts


# ---- running ----------------------------------------------------------------------------------

class JobContext:
    """What a job's function sees: its inputs, and how to report progress and save steps."""

    def __init__(self, job: Job, kind: JobKind, on_progress=None):
        self.job_id = job.id
        self.kind = kind
        self.workspace_id = job.workspace_id
        self.user_id = job.user_id
        self.params = dict(job.params or {})
        self.input_text = job.input_text
        self.output_text: str | None = None  # set by the function: stored with the outcome
        self.values: dict = {}
        self.saved: dict = {}  # the progress last committed with the work (stepwise jobs)
        self._on_progress = on_progress
        self._last_side_write = 0.0

    def progress(self, **values) -> None:
        """Record how far the job got (e.g. done=…, total=…)."""
        self.values.update(values)
        if self._on_progress:
            self._on_progress(dict(self.values))
        if not self.kind.atomic:
            return  # written with the next checkpoint, together with the work it describes
        if not _supports_side_writes():
            _live_progress[self.job_id] = dict(self.values)
            return
        if time.monotonic() - self._last_side_write >= PROGRESS_WRITE_INTERVAL:
            self._last_side_write = time.monotonic()
            with db.engine.begin() as conn:
                conn.execute(update(Job).where(Job.id == self.job_id, Job.runner_id == runner_id())
                             .values(progress=dict(self.values), heartbeat_at=utcnow()))

    def checkpoint(self) -> None:
        """Commit the work done so far together with the progress (stepwise jobs only)."""
        if self.kind.atomic:
            raise RuntimeError("an atomic job commits once, at the end")
        db.session.execute(update(Job).where(Job.id == self.job_id, Job.runner_id == runner_id())
                           .values(progress=dict(self.values), heartbeat_at=utcnow())
                           .execution_options(synchronize_session=False))
        db.session.commit()
        self.saved = dict(self.values)


def claim(job_id: str) -> bool:
    """queued → running for exactly one caller, in its own transaction. On PostgreSQL a second
    claimer blocks on the row, then sees it no longer queued; SQLite serializes writers."""
    now = utcnow()
    with db.engine.begin() as conn:
        won = conn.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                           .values(state="running", runner_id=runner_id(), started_at=now,
                                   heartbeat_at=now)).rowcount
    return won == 1


def _finish(job_id: str, state: str, **values) -> bool:
    """Record the outcome in the current session (the caller commits); False if the job is no
    longer ours (a sweep took it for dead)."""
    return db.session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.runner_id == runner_id())
        .values(state=state, finished_at=utcnow(), input_text=None, **values)
        .execution_options(synchronize_session=False)).rowcount == 1


def _run_claimed(job_id: str, on_progress=None) -> None:
    job = db.session.get(Job, job_id)
    kind = _kinds[job.kind]
    ctx = JobContext(job, kind, on_progress)
    db.session.commit()  # start the work in a fresh transaction
    try:
        result = kind.run(ctx)
        if kind.atomic:
            # The work and its "done" in one commit; if a sweep took the job for dead, undo it.
            if _finish(job_id, "done", result=result, progress=ctx.values,
                       output_text=ctx.output_text):
                db.session.commit()
            else:
                db.session.rollback()
        else:
            db.session.commit()
            _finish(job_id, "done", result=result, progress=ctx.values, output_text=ctx.output_text)
            db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        if isinstance(exc, Exception):
            log.exception("job %s (%s) failed", job_id, kind.name)
        _finish(job_id, "failed", error=kind.failure_message(exc),
                progress=ctx.values if kind.atomic else ctx.saved, output_text=ctx.output_text)
        db.session.commit()
        if not isinstance(exc, Exception):
            raise


def _run(job_id: str, on_progress=None) -> bool:
    """Claim and run one job in this thread; False if someone else had claimed it."""
    with _lock:
        if job_id in _active:
            return False
        _active.add(job_id)
    try:
        if not claim(job_id):
            return False
        _run_claimed(job_id, on_progress)
        return True
    finally:
        _active.discard(job_id)
        _live_progress.pop(job_id, None)


def run_now(job: Job, on_progress=None) -> Job:
    """Run a queued job in the current thread (the CLI); returns it finished."""
    db.session.commit()
    if not _run(job.id, on_progress):
        raise JobError("This job has already been started.")
    db.session.expire_all()
    return db.session.get(Job, job.id)


def start(job_id: str) -> None:
    """Run a queued (committed) job in a background thread of this process."""
    app = current_app._get_current_object()

    def work():
        with app.app_context():
            try:
                _run(job_id)
            except Exception:  # recorded on the job; the thread must not die silently
                log.exception("job %s could not be run", job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"job-{job_id[:8]}", daemon=True)
    _threads[job_id] = thread
    thread.start()


def wait_for(job_id: str, timeout: float = 60) -> None:
    """Block until a job started in this process ends (tests, shutdown)."""
    thread = _threads.pop(job_id, None)
    if thread:
        thread.join(timeout)


# ---- periodic tasks: work that is found in tables rather than queued as a job ----------------
#
# Webhook deliveries (and, later, campaign sends) are many small rows that become due over
# time, not one job each: a task registered with `every` is called by this process's one
# background thread whenever it is due, and returns how many seconds it wants to sleep at most.
# `wake()` cuts the sleep short (a commit that wrote due work). Every worker process runs the
# thread, so each task must claim its rows itself (webhooks: FOR UPDATE SKIP LOCKED).

@dataclass(frozen=True)
class PeriodicTask:
    name: str
    run: Callable[[], float]  # returns the longest sleep (seconds) before it should run again


_periodic: dict[str, PeriodicTask] = {}
_background = {"pid": None, "thread": None, "stop": threading.Event(), "wake": threading.Event()}
MAX_IDLE_SECONDS = 5.0  # rows written by another process are found within this


def every(name: str, run: Callable[[], float]) -> PeriodicTask:
    """Register a periodic task (at import of its module)."""
    if name in _periodic and _periodic[name].run is not run:
        raise ValueError(f"periodic task {name!r} is already registered")
    _periodic[name] = task = PeriodicTask(name, run)
    return task


def wake() -> None:
    """Run the periodic tasks now instead of at the end of their sleep."""
    _background["wake"].set()


def run_periodic_once(app) -> float:
    """Run every periodic task once in `app`'s context; returns the shortest sleep they ask."""
    sleep = MAX_IDLE_SECONDS
    for task in list(_periodic.values()):
        with app.app_context():
            try:
                sleep = min(sleep, task.run())
            except Exception:  # the thread must survive a database outage and bugs alike
                log.exception("periodic task %s failed", task.name)
            finally:
                db.session.remove()
    return max(sleep, 0.0)


def start_background(app) -> bool:
    """Start this process's background thread for `app` unless it runs already (once per
    process, also after a fork); False when BACKGROUND_WORKER is off (tests, CLI)."""
    if not app.config.get("BACKGROUND_WORKER"):
        return False
    with _lock:
        thread = _background["thread"]
        if _background["pid"] == current_pid() and thread is not None and thread.is_alive():
            return True
        stop, wake_event = threading.Event(), threading.Event()
        _background.update(pid=current_pid(), stop=stop, wake=wake_event)

        def loop():
            while not stop.is_set():
                wake_event.clear()
                sleep = run_periodic_once(app)
                if sleep:
                    wake_event.wait(sleep)

        thread = threading.Thread(target=loop, name="sureapp-periodic", daemon=True)
        _background["thread"] = thread
        thread.start()
    return True


def stop_background(timeout: float = 15) -> None:
    """Stop the background thread after its current round (tests, a worker's exit)."""
    thread = _background["thread"]
    _background["stop"].set()
    _background["wake"].set()
    if thread is not None:
        thread.join(timeout)
    _background["thread"] = None


def init_app(app, *surfaces) -> None:
    """Start the background thread with the first request any of the apps serves (a gunicorn
    worker after its fork; `flask run`), never in CLI commands or tests (TESTING)."""
    if app.testing:
        return
    started = {"pid": None}

    def ensure_background():
        if started["pid"] != current_pid():
            started["pid"] = current_pid()
            start_background(app)

    for surface in (app, *surfaces):
        surface.before_request(ensure_background)
