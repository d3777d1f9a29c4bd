"""gunicorn entry point for tests/perf: the real app (bench.apps, so RATELIMIT_KEY_PREFIX gives
each test its own Redis counters) plus the serving worker's pid on every response, so a test
can prove that more than one worker answered. PERF_TEST_HOLD_SECONDS holds every request a
little: a sync worker that finishes fast accepts the next waiting connection itself, so on a
quiet machine one worker could serve a whole burst and the other never be tested."""
import os
import time

from bench.apps import sureapp_app
from sureapp import keyed_app

app = sureapp_app()
HOLD_SECONDS = float(os.environ.get("PERF_TEST_HOLD_SECONDS", "0"))


def _hold():
    if HOLD_SECONDS:
        time.sleep(HOLD_SECONDS)


def _worker_pid(response):
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response


for served in (app, keyed_app(app)):  # the UI app and the one serving /api and /mcp
    served.before_request(_hold)
    served.after_request(_worker_pid)
