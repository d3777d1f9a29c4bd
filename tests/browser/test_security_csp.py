"""htmx 2 and our own script work under the strict Content-Security-Policy in a real browser:
pages across the app, htmx panels, dialogs, a create and a live search raise no CSP violation
and no htmx error (eval or inline styles would)."""
import re

import pytest
from playwright.sync_api import expect

# Injected by the browser driver before any page script; it records what the CSP blocks and
# the errors htmx reports (htmx:evalDisallowedError and friends).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                           " at " + e.sourceFile + ":" + e.lineNumber);
});
document.addEventListener("htmx:evalDisallowedError", function () {
  window.__violations.push("htmx needed eval");
});
"""


@pytest.fixture
def watched_page(page):
    page.add_init_script(WATCH)
    console = []
    page.on("console", lambda msg: console.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
    page.console_csp = console
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__violations || []") + page.console_csp


def test_pages_and_htmx_interactions_run_without_csp_violations(watched_page, live_server,
                                                                browser_login, manager):
    page = watched_page
    user, workspace = manager
    browser_login(page, user.email)
    base = f"{live_server.url}/w/{workspace.id}"
    seen = []

    response = page.goto(f"{base}/settings/api-keys")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    # htmx GET into #modal-root, htmx POST, the show-once dialog (app.js opens it).
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    expect(panel).to_be_visible()
    panel.get_by_label("Name").fill("CSP check")
    panel.get_by_label("Read", exact=True).check()
    panel.get_by_role("button", name="Create API Key").click()
    dialog = page.get_by_role("dialog", name="Your new API key")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=re.compile("saved my key")).click()
    expect(dialog).to_be_hidden()
    seen += violations(page)

    # Active search: htmx swaps the table as you type.
    page.get_by_label("Search by name").fill("zzz-no-such-key")
    expect(page.locator("#keys-table").get_by_text("CSP check")).to_have_count(0)
    page.get_by_label("Search by name").fill("CSP")
    expect(page.locator("#keys-table").get_by_text("CSP check")).to_be_visible()
    seen += violations(page)

    for path in ("/", "/contacts", "/contacts/new", "/lists", "/tags", "/settings/",
                 "/settings/members/", "/settings/api-reference"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        seen += [f"{path}: {v}" for v in violations(page)]

    assert not seen, "blocked by the CSP or refused by htmx:\n" + "\n".join(seen)


def test_the_watch_catches_an_inline_script(watched_page, live_server):
    """Control: the same watch does see a violation when a page breaks the policy."""
    page = watched_page
    page.goto(f"{live_server.url}/login")
    page.evaluate("""() => { const s = document.createElement('div');
                             s.innerHTML = '<img src=x onerror="window.__ran=1">';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(300)
    assert violations(page), "an inline handler must be reported as a violation"
    assert page.evaluate("window.__ran") is None
