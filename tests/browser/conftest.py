"""Browser-test infrastructure: the real app in a subprocess on a free 127.0.0.1 port, and Chromium.

Reusable by any feature's browser tests (put them under tests/browser/):
- `live_server`   session-wide: `.url`, `.url_for(endpoint, **values)`, `.log()` (server output).
- `app`           overrides the root fixture: an app on the live server's SQLite file, so the root
                  factories (make_user, make_org, add_member, workspace_with_roles) seed data the
                  server sees; every table is emptied after each test.
- `page`          a fresh browser context and page per test (no shared cookies);
                  `no_js_page` the same with JavaScript off.
- `browser_login` logs a user in through the real login form.
- `screenshot`    saves a PNG under tests/artifacts/ (git-ignored).
Chromium is Debian's /usr/bin/chromium (never a downloaded browser). Without it the tests skip,
except under CI (env var CI set), where a missing browser is a failure.
"""
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest

from sureapp.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
SERVER_START_TIMEOUT = 20  # seconds
PASSWORD = "correct horse battery staple"  # the root conftest's factory password
# The live server's SECRET_KEY (reads what it encrypted); the seeding app signs with it too, so
# links signed while seeding (unsubscribe, preferences) verify on the server.
LIVE_SECRET_KEY = "browser-tests-secret"


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a browser against a live server."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.live)


def _require_chromium():
    if os.path.exists(CHROMIUM):
        return
    message = f"{CHROMIUM} is missing (install Debian's chromium: `make chromium`)"
    if os.environ.get("CI"):
        pytest.fail(f"Browser tests must run in CI: {message}", pytrace=False)
    pytest.skip(message)


class LiveServer:
    def __init__(self, url: str, log_path: Path, database_url: str):
        self.url = url
        self.log_path = log_path
        self.database_url = database_url

    def url_for(self, endpoint: str, **values) -> str:
        from flask import url_for

        return self.url + url_for(endpoint, _external=False, **values)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_for_port(process, log_path: Path) -> int:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.strip().isdigit():
            return int(line)
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"live server did not start:\n{log_path.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    _require_chromium()
    from sureapp import create_app

    folder = tmp_path_factory.mktemp("live")
    database_url = f"sqlite:///{folder / 'live.db'}"
    schema_app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with schema_app.app_context():
        db.create_all()
        db.engine.dispose()

    log_path = folder / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "RATELIMIT_STORAGE_URI"}}
    # Webhook pages deliver to a receiver on 127.0.0.1 (the SSRF refusals are tested in-process).
    env.update(DATABASE_URL=database_url, SECRET_KEY=LIVE_SECRET_KEY, WEBHOOK_ALLOW_PRIVATE_URLS="1",
               PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO_ROOT))
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_serve.py"))],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=log_file, text=True,
        )
    try:
        port = _wait_for_port(process, log_path)
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url)
        yield LiveServer(url, log_path, database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_healthy(url: str) -> None:
    for _ in range(50):
        try:
            with urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError("live server never became healthy")


@contextmanager
def seeding_app(live_server):
    """An app context on the live server's database; every table is emptied when it ends."""
    from sureapp import create_app

    seed_app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": live_server.database_url,
        "SERVER_NAME": live_server.url.removeprefix("http://"), "SECRET_KEY": LIVE_SECRET_KEY,
    })
    with seed_app.app_context():
        yield seed_app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def app(live_server):
    """Seeding app on the live server's database (overrides the root `app` fixture here)."""
    with seeding_app(live_server) as seed_app:
        yield seed_app


@pytest.fixture(scope="module")
def browser():
    # Module scope, not session: Playwright's sync API keeps an asyncio loop running in this
    # thread while it is open, which breaks later tests that start their own loop (anyio, MCP).
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10000)  # generous: CI machines are small and busy
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def no_js_page(browser, live_server):
    """A page of a browser context with JavaScript off: what a no-JS visitor gets."""
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10000)
    yield context.new_page()
    context.close()


@pytest.fixture
def manager(make_user, make_org, add_member):
    """(a Manager of workspace Main of Acme, that workspace); Acme's owner is owner@example.com."""
    from sureapp.models import Role

    owner = make_user(email="owner@example.com")
    _, workspace = make_org(owner, name="Acme", workspace_name="Main")
    user = add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER)
    return user, workspace


@pytest.fixture
def browser_login(live_server):
    def log_in(page, email: str, password: str = PASSWORD):
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    return log_in


@pytest.fixture
def screenshot():
    def save(page, name: str, **options) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), **options)
        return path

    return save
