"""Live gunicorn servers (2 workers, the production gunicorn.conf.py) on the test database.

- `redis_url`      TEST_REDIS_URL, or the test is skipped with the reason.
- `gunicorn_app`   starts gunicorn on the `app` fixture's database (SQLite file or the private
                   PostgreSQL schema), so the root factories seed what the server sees.
- `fan_out`        sends a bounded number of concurrent requests; returns (status, worker pid).
"""
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from bench.client import request
from bench.servers import gunicorn

WORKERS = 2


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.live)


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: a limit shared by gunicorn workers needs Redis "
                    "(bash .ci/run sets it)")
    return url


@pytest.fixture
def gunicorn_app(app, tmp_path):
    """Context manager factory: `with gunicorn_app(API_RATE_LIMIT="5 per minute") as server:`."""

    @contextmanager
    def start(**env):
        settings = {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": secrets.token_urlsafe(32),
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": f"perf-{secrets.token_hex(8)}",
            # Concurrent requests overlap, so both workers take some (see _wsgi.py).
            "PERF_TEST_HOLD_SECONDS": "0.05",
            # Background flushing as in production; each test reads only what it asserts.
        }
        settings.update(env)
        with gunicorn("tests.perf._wsgi:app", settings, tmp_path / "gunicorn.log",
                      workers=WORKERS) as server:
            yield server

    return start


@pytest.fixture
def fan_out():
    def send(url: str, headers: dict, total: int, concurrency: int = 8) -> list[tuple[int, str]]:
        """`total` GETs over `concurrency` threads (each a new connection, as sync workers close
        them), so both workers take some; returns [(status, worker pid)]."""
        def one(_):
            status, response_headers, _ = request("GET", url, headers, timeout=15)
            return status, response_headers.get("X-Worker-Pid", "")

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(one, range(total)))

    return send
