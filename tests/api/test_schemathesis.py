"""`schemathesis run --checks all` against a live gunicorn (the production gunicorn.conf.py on
127.0.0.1, the test database of each backend): every phase (examples, coverage, fuzzing,
stateful through the document's links) and every check, positive_data_acceptance and the
stateful ones included. Any failure fails the test with schemathesis's own report.

This is the check that the OpenAPI document says everything the server enforces. The hooks a
client's knowledge needs (fresh Idempotency-Keys, cursors the server handed out, webhook URLs
that stay on 127.0.0.1, ids that exist) are in schemathesis_hooks.py; the README shows the same
command for a server of your own.

Bounded for CI: MAX_EXAMPLES per operation and phase, one fixed seed, and RUN_TIMEOUT seconds
for the whole run."""
import json
import os
import secrets
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.client import request
from bench.servers import REPO_ROOT, gunicorn

pytestmark = pytest.mark.live

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 5
SEED = 20261202
RUN_TIMEOUT = 600  # seconds; a run takes about a minute on a quiet 2-core machine
OUTPUT_TAIL = 30_000  # characters of schemathesis's report shown on a failure


@pytest.fixture
def live_api(app, tmp_path, make_user, make_org, make_key):
    """Context manager factory: `with live_api() as (server, key)` runs gunicorn on the `app`
    fixture's database with a key of every ability in a fresh workspace."""
    _, workspace = make_org(make_user())
    _, key = make_key(workspace, name="schemathesis")
    settings = {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": secrets.token_urlsafe(32),
        "RATELIMIT_STORAGE_URI": "memory://",
        # The limits have their own tests; here they would turn cases into 429s (ignored_auth
        # sends many requests without a key, which the per-address failure budget counts).
        "API_RATE_LIMIT": "1000000 per minute",
        "API_AUTH_FAILURE_LIMIT": "1000000 per minute",
        "LEAK_REPORT_RATE_LIMIT": "1000000 per minute",
        # The hooks point webhook URLs at 127.0.0.1 (refusing_address): one attempt each.
        "WEBHOOK_ALLOW_PRIVATE_URLS": "1",
        "WEBHOOK_RETRY_SCHEDULE": "86400",
        "ACCESS_LOG": "",
    }

    @contextmanager
    def start():
        with gunicorn("app:app", settings, tmp_path / "gunicorn.log", workers=2) as server:
            yield server, key

    return start


def seed(base_url: str, key: str, sink: str) -> dict[str, str]:
    """One resource of each kind, made through the API: {"contact_id": …, "list_id": …}."""
    def post(path: str, body: dict | None = None) -> dict:
        status, _, raw = request("POST", f"{base_url}/api/v1{path}",
                                 {"X-API-Key": key, "Content-Type": "application/json"},
                                 body=json.dumps(body or {}).encode(), timeout=30)
        assert status in (200, 201, 202), (path, status, raw[:500])
        return json.loads(raw)

    ids = {
        "list_id": post("/lists", {"name": "Seed list"})["id"],
        "tag_id": post("/tags", {"name": "Seed tag"})["id"],
        "campaign_id": post("/campaigns", {"name": "Seed campaign", "subject": "Hello"})["id"],
        "automation_id": post("/automations", {"name": "Seed automation",
                                               "trigger": "contact_created"})["id"],
        "webhook_id": post("/webhooks", {"url": f"http://{sink}/hook",
                                         "events": ["*"]})["id"],
    }
    ids["contact_id"] = post("/contacts", {"email": "seed@example.com",
                                           "list_ids": [ids["list_id"]],
                                           "tag_ids": [ids["tag_id"]]})["id"]
    ids["delivery_id"] = post(f"/webhooks/{ids['webhook_id']}/test")["id"]
    return ids


def run_schemathesis(base_url: str, key: str, *options: str, workdir: Path, hooks: bool = True,
                     ids: dict | None = None, sink: str = "") -> subprocess.CompletedProcess:
    """`schemathesis run` with its cache (crash files) in `workdir`, so no run sees another's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SCHEMATHESIS")}
    env.update(PYTHONPATH=str(REPO_ROOT), NO_COLOR="1",
               SUREAPP_FUZZ_IDS=json.dumps(ids or {}), SUREAPP_FUZZ_SINK=sink)
    if hooks:
        env["SCHEMATHESIS_HOOKS"] = "tests.api.schemathesis_hooks"
    command = [str(SCHEMATHESIS), "run", f"{base_url}/api/v1/openapi.json",
               "--header", f"X-API-Key: {key}", "--seed", str(SEED),
               # Our key, not a generated Authorization next to it (a 401: "two keys").
               "--generation-with-security-parameters", "false",
               "--generation-database", "none", "--no-color",
               # Speed is bench/'s to measure, not this test's: slower than gunicorn's timeout
               # is a failure, and generation time on a shared CI box is no health problem.
               "--request-timeout", "30", "--max-response-time", "30",
               "--suppress-health-check", "too_slow",
               *options]
    try:
        return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT} s:\n"
                    f"{(exc.stdout or b'')[-OUTPUT_TAIL:]!r}")


@contextmanager
def refusing_address():
    """host:port on 127.0.0.1 that refuses connections at once (bound, never listening), held
    for the block: where the run's webhook deliveries go."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        yield f"{host}:{port}"


def test_schemathesis_finds_nothing_with_every_check_and_phase(live_api, tmp_path):
    with live_api() as (server, key), refusing_address() as sink:
        ids = seed(server.url, key, sink)
        result = run_schemathesis(server.url, key, "--checks", "all",
                                  "--phases", "examples,coverage,fuzzing,stateful",
                                  "--max-examples", str(MAX_EXAMPLES), "--workers", "2",
                                  ids=ids, sink=sink, workdir=tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-OUTPUT_TAIL:]
    assert "Stateful" in report and "unique failures" not in report, report[-OUTPUT_TAIL:]


def test_the_run_fails_on_what_the_hooks_stand_in_for(live_api, tmp_path):
    """Control: without the hooks, generated cases reuse Idempotency-Keys across different
    requests, the server answers 422 as documented, and positive_data_acceptance reports it —
    so a failing check does fail the run, and the idempotency hook is needed."""
    with live_api() as (server, key):
        result = run_schemathesis(server.url, key, "--checks", "positive_data_acceptance",
                                  "--phases", "fuzzing", "--mode", "positive",
                                  "--include-path", "/lists", "--include-method", "POST",
                                  "--max-examples", "20", hooks=False, workdir=tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode != 0, report[-OUTPUT_TAIL:]
    assert "Idempotency-Key" in report and "Schema-valid request rejected" in report, \
        report[-OUTPUT_TAIL:]
