"""gunicorn settings for sureapp (`make serve`, or `gunicorn -c gunicorn.conf.py app:app`).

Every value can be overridden from the environment (below) or with GUNICORN_CMD_ARGS.
"""
import multiprocessing
import os
import sys

from gunicorn.glogging import Logger

wsgi_app = "app:app"

# Loopback by default: in production a reverse proxy (TLS) sits in front; see README.
bind = os.environ.get("BIND", "127.0.0.1:8000")

# Sync workers: every request is short and database-bound, and one request per process keeps
# the request-log buffer, the DB pool and the limiter client free of thread-safety questions.
# (gthread workers with few keep-alive connections also tend to pile all load onto one worker.)
worker_class = "sync"
# 2 × cores + 1, capped so a big host does not open more DB connections than PostgreSQL allows.
MAX_WORKERS = 12
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1,
                                                        MAX_WORKERS))

# A request that runs longer than this is killed (its worker restarted).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM/HUP workers finish in-flight requests and flush their request-log buffer
# (worker_exit below) within this many seconds before they are killed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))

# gunicorn's control socket (gunicornc) defaults to one per-user path that every instance on
# the host would share; open it only where asked for, at a path of this instance's own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# No preload: each worker imports the app and opens its own DB pool and Redis client after the
# fork, so no socket is ever shared between processes, and `kill -HUP` reloads new code.
# Preloading would only save a few MB per worker (copy-on-write) for a small app like this.
preload_app = False

# Access log to stdout (the process manager collects it). The request line is method and path
# only: %(U)s is the path without the query string, unlike %(r)s; no header is logged (API keys
# travel in X-API-Key/Authorization, sessions in Cookie), no referer (it may carry a query
# string), no %(u)s (a Basic-auth user name could be a key).
accesslog = os.environ.get("ACCESS_LOG", "-") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" pid=%(p)s rid=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

class RedactingLogger(Logger):
    """gunicorn's logger with the access log's path redacted (sureapp.accesslog, shared with
    the development server)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if atoms["U"]:
            # Imported here, in the worker, which has loaded the app anyway: importing sureapp
            # in the master would keep old code alive across `kill -HUP` reloads.
            from sureapp.accesslog import redact_target

            atoms["U"] = redact_target(atoms["U"])
        return atoms


logger_class = RedactingLogger


def post_worker_init(worker):
    """Start the worker's background thread (webhook deliveries) now, not at its first request:
    after a restart the outbox is delivered even if no request comes."""
    from sureapp import jobs

    if hasattr(worker.wsgi, "config"):  # the Flask app (tests may serve another WSGI object)
        jobs.start_background(worker.wsgi)


def worker_exit(server, worker):
    """Write the request log this worker still buffers before the process ends (its atexit
    handler would too, but only after interpreter teardown has begun)."""
    recorder = sys.modules.get("sureapp.usage.recorder")
    if recorder is not None:  # never imported: this worker recorded nothing
        recorder.flush_all()
    jobs = sys.modules.get("sureapp.jobs")
    if jobs is not None:  # let a delivery in flight finish and record its outcome
        jobs.stop_background(timeout=15)
