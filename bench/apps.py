"""WSGI entry points the benchmark serves with gunicorn (`bench.apps:sureapp_app()` …).

The real app from the real factory, configured by the environment like production (the runner
sets a private RATELIMIT_KEY_PREFIX, so a benchmark or test never shares Redis counters).
"""
import atexit
import json
import os
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from sureapp import create_app

WRITE_KEYWORDS = ("insert", "update", "delete", "replace", "merge")


def sureapp_app():
    return create_app()


def counted_sureapp_app():
    """The app, counting every write statement and write transaction this worker sends to the
    database. The totals are kept in BENCH_WRITES_DIR/<pid>.json, rewritten after each write
    (writes are rare on the read path) and at exit (after gunicorn's worker_exit hook has
    flushed the request log, so those writes count too)."""
    counts = {"statements": 0, "transactions": 0}
    path = Path(os.environ["BENCH_WRITES_DIR"]) / f"{os.getpid()}.json"

    def save():
        path.write_text(json.dumps(counts))

    @event.listens_for(Engine, "before_cursor_execute")
    def count_statement(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().lower().startswith(WRITE_KEYWORDS):
            counts["statements"] += 1  # an executemany batch is one round trip, one write
            conn.info["bench_wrote"] = True
            save()

    @event.listens_for(Engine, "commit")
    def count_transaction(conn):
        if conn.info.pop("bench_wrote", False):
            counts["transactions"] += 1
            save()

    @event.listens_for(Engine, "rollback")
    def forget_transaction(conn):
        conn.info.pop("bench_wrote", None)

    save()
    atexit.register(save)
    return sureapp_app()


def read_write_counts(directory: Path) -> dict[str, int]:
    """Sum of every worker's counts so far (final once the server has stopped)."""
    total = {"statements": 0, "transactions": 0}
    for path in directory.glob("*.json"):
        for name, value in json.loads(path.read_text()).items():
            total[name] += value
    return total
