"""gunicorn entry point for tests/perf: the real app (bench.apps, so RATELIMIT_KEY_PREFIX gives
each test its own Redis counters) plus the serving worker's pid on every response, so a test
can prove that more than one worker answered."""
import os

from bench.apps import sureapp_app

app = sureapp_app()


@app.after_request
def _worker_pid(response):
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response
