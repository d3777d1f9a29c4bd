"""Every GET page of the UI, signed in as an owner of a busy workspace (tests/browser/_site.py):
no page scrolls sideways at a phone's 390 px or a laptop's 1366 px, axe-core finds no serious or
critical violation on any page or open dialog/panel in the light and the dark theme (nor does
the Content-Security-Policy block anything there: htmx injects no inline styles), and the
screenshots in tests/artifacts/screenshots/ are taken from the same pages.

One browser, one seeded workspace and one signed-in page for the whole module: each check walks
all pages in a loop and reports every failing page at once.
"""
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from sureapp.extensions import db
from sureapp.models import UserSession
from sureapp.timeutil import utcnow

from tests.browser._site import ANONYMOUS, OWNER_EMAIL, PASSWORD, page_urls, seed
from tests.browser.conftest import ARTIFACTS, REPO_ROOT, seeding_app
from tests.browser.test_security_csp import WATCH as WATCH_CSP

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 860}}
AXE_SOURCE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ARTIFACTS / "screenshots"
# The main pages, shot in light, dark and at phone size (committed; this test regenerates them).
SCREENSHOT_PAGES = ("orgs.dashboard", "contacts.index", "contacts.show", "keys.index", "keys.show",
                    "members.index", "tags.index", "orgs.index", "auth.login")

# Elements sticking out of the viewport that no scrolling ancestor contains: what makes a page
# scroll sideways. Reported as short selectors so a failure says where to look.
OVERFLOW_SCRIPT = """() => {
  const limit = window.innerWidth + 1;
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  // Inside a box that scrolls on its own (an absolutely positioned element escapes it unless
  // something positioned in between contains it).
  const scrolls = el => { let free = getComputedStyle(el).position === "absolute";
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX !== "visible" && !free) return true;
      if (style.position !== "static") free = false; } return false; };
  const culprits = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (scrolls(el)) continue;
    const box = el.getBoundingClientRect();
    const parent = el.parentElement.getBoundingClientRect();
    const textOverflow = getComputedStyle(el).overflowX === "visible" && el.scrollWidth > el.clientWidth + 1 &&
      box.left + el.scrollWidth > limit && ![...el.children].some(c => c.getBoundingClientRect().right > limit);
    if ((box.width && box.right > limit && parent.right <= limit) || textOverflow)
      culprits.push(name(el) + " (right " + Math.round(Math.max(box.right, box.left + el.scrollWidth)) + ")");
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          culprits: culprits.slice(0, 6)};
}"""

AXE_SCRIPT = """async (context) => {
  const result = await axe.run(context, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v =>
    v.impact + " " + v.id + ": " + v.help + " — " +
    v.nodes.slice(0, 3).map(n => n.target.join(" ") + " [" + n.failureSummary.replace(/\\s+/g, " ") + "]").join("; "));
}"""


@pytest.fixture(scope="module")
def site(live_server):
    """(app, Site, [(endpoint, path)]): the seeded workspace, emptied after the module."""
    with seeding_app(live_server) as app:
        seeded = seed()
        yield app, seeded, page_urls(app, seeded)


def _new_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS["desktop"])
    context.set_default_timeout(10000)
    if AXE_SOURCE.exists():
        context.add_init_script(path=str(AXE_SOURCE))  # CDP-injected: the page's CSP does not apply
    context.add_init_script(WATCH_CSP)  # window.__violations: what the CSP blocked (htmx styles…)
    return context.new_page()


@pytest.fixture(scope="module")
def owner_page(browser, live_server, site):
    page = _new_page(browser, live_server)
    page.goto("/login")
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def visitor_page(browser, live_server, site):
    page = _new_page(browser, live_server)
    yield page
    page.context.close()


def visits(site, owner_page, visitor_page):
    """(who, endpoint, path, page) for every page: signed in, and the public ones signed out."""
    _, _, pages = site
    for endpoint, path in pages:
        yield "owner", endpoint, path, owner_page
        if endpoint in ANONYMOUS:
            yield "visitor", endpoint, path, visitor_page


def open_page(page, path):
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
    return response


def test_no_page_scrolls_sideways(site, owner_page, visitor_page):
    failures = []
    for who, endpoint, path, page in visits(site, owner_page, visitor_page):
        page.set_viewport_size(VIEWPORTS["desktop"])
        open_page(page, path)
        for size, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)  # re-laid out in place: no second load
            measured = page.evaluate(OVERFLOW_SCRIPT)
            if measured["scrollWidth"] > measured["innerWidth"]:
                failures.append(f"{endpoint} ({who}, {size}) {path}: {measured['scrollWidth']} px wide in "
                                f"{measured['innerWidth']} px; sticking out: {measured['culprits']}")
    assert not failures, "\n".join(failures)


def dialog_openers(page):
    """hx-get URLs that open a dialog or side panel on this page (visible ones)."""
    return page.eval_on_selector_all(
        '[hx-get][hx-target="#modal-root"]',
        "els => els.filter(e => e.offsetParent !== null).map(e => e.getAttribute('hx-get'))")


def open_every_panel(page):
    """Open every closed <details> (top-bar menu, profile menu, forms behind a button):
    closed, axe skips their content."""
    for summary in page.locator("details:not([open]) > summary").all():
        if summary.is_visible():
            summary.click()


PAGE_PASSES = (("desktop", "light"), ("desktop", "dark"), ("phone", "light"))
DIALOG_PASSES = PAGE_PASSES[:2]  # a dialog's content does not change with the page's layout


def axe(page, context, where, failures, passes=PAGE_PASSES):
    """axe in each (size, colour scheme); at phone size the page's panels are opened again
    (the top-bar Menu only exists there)."""
    for size, scheme in passes:
        page.set_viewport_size(VIEWPORTS[size])
        page.emulate_media(color_scheme=scheme)
        if size == "phone" and context == "html":
            open_every_panel(page)
        failures.extend(f"{where} [{scheme}, {size}]: {violation}"
                        for violation in page.evaluate(AXE_SCRIPT, context))
    page.set_viewport_size(VIEWPORTS["desktop"])


def axe_show_once_dialog(page, paths, failures):
    """The dialog a panel's submit opens: a new key shown once (the page is left afterwards, as
    closing it may ask whether the key was copied)."""
    open_page(page, paths["keys.index"])
    page.locator('[hx-target="#modal-root"][hx-get$="/api-keys/new"]').first.click()
    panel = page.locator("#modal-root dialog[open]")
    panel.get_by_label("Name").fill("Shown once to axe")
    panel.locator('input[name="abilities"][value="read"]').check()
    panel.locator('button[type="submit"]').click()
    page.wait_for_function("""() => [...document.querySelectorAll("dialog[open]")].some(d =>
        /sure[A-Za-z0-9]{56}/.test(d.textContent + [...d.querySelectorAll("input")].map(i => i.value).join(" ")))""")
    page.wait_for_timeout(250)
    axe(page, "dialog[open]", "dialog: the new key, shown once", failures, DIALOG_PASSES)


def axe_sudo_dialog(page, paths, failures):
    """The password prompt (sudo mode) over an open panel: the session's password is made old."""
    db.session.execute(update(UserSession).values(password_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    open_page(page, paths["keys.index"])
    page.locator('[hx-target="#modal-root"][hx-get$="/api-keys/new"]').first.click()
    panel = page.locator("#modal-root dialog[open]")
    panel.get_by_label("Name").fill("Needs the password again")
    panel.locator('input[name="abilities"][value="read"]').check()
    panel.locator('button[type="submit"]').click()
    page.locator("#sudo-root dialog[open]").wait_for()
    axe(page, "#sudo-root dialog[open]", "dialog: sudo password prompt", failures, DIALOG_PASSES)


def test_axe_finds_nothing_serious_on_any_page_or_dialog(site, owner_page, visitor_page):
    if not AXE_SOURCE.exists():  # like a missing browser: skipped on a laptop, a failure in CI
        message = f"{AXE_SOURCE.relative_to(REPO_ROOT)} is missing: run `make node` (make test does)"
        pytest.fail(message, pytrace=False) if os.environ.get("CI") else pytest.skip(message)
    app, _, _ = site
    routes = app.url_map.bind("localhost")
    failures, dialogs_seen = [], {}
    for who, endpoint, path, page in visits(site, owner_page, visitor_page):
        page.set_viewport_size(VIEWPORTS["desktop"])
        open_page(page, path)
        open_every_panel(page)
        axe(page, "html", f"{endpoint} ({who}) {path}", failures)
        failures.extend(f"{endpoint} ({who}) {path}: CSP {v}" for v in page.evaluate("window.__violations"))
        if who != "owner":
            continue
        page.evaluate("document.querySelectorAll('details[open]').forEach(d => { d.open = false; })")
        for url in dialog_openers(page):
            dialog_endpoint = routes.match(url.split("?")[0], method="GET")[0]
            if dialog_endpoint in dialogs_seen:
                continue
            dialogs_seen[dialog_endpoint] = url
            page.locator(f'[hx-get="{url}"][hx-target="#modal-root"]').first.click()
            dialog = page.locator("#modal-root dialog[open]")
            dialog.wait_for()
            page.wait_for_timeout(250)  # the side panel's slide-in animation
            axe(page, "#modal-root dialog[open]", f"dialog {dialog_endpoint} (from {endpoint})", failures,
                DIALOG_PASSES)
            failures.extend(f"dialog {dialog_endpoint}: CSP {v}" for v in page.evaluate("window.__violations"))
            page.keyboard.press("Escape")
            dialog.wait_for(state="detached")
    axe_show_once_dialog(owner_page, dict(site[2]), failures)
    axe_sudo_dialog(owner_page, dict(site[2]), failures)
    owner_page.emulate_media(color_scheme="light")
    assert {"keys.new", "keys.edit", "keys.confirm_revoke", "keys.confirm_delete", "tags.edit",
            "lists.new", "contacts.delete"} <= set(dialogs_seen), sorted(dialogs_seen)
    assert not failures, "\n".join(failures)


def test_screenshots_of_the_main_pages(site, owner_page, visitor_page):
    _, _, pages = site
    paths = dict(pages)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for endpoint in SCREENSHOT_PAGES:
        page = visitor_page if endpoint in ANONYMOUS else owner_page
        name = re.sub(r"[^a-z]+", "-", endpoint)
        for variant, viewport, scheme in (("light", "desktop", "light"), ("dark", "desktop", "dark"),
                                          ("phone", "phone", "light")):
            page.set_viewport_size(VIEWPORTS[viewport])
            page.emulate_media(color_scheme=scheme)
            open_page(page, paths[endpoint])
            target = SCREENSHOTS / f"{name}-{variant}.png"
            page.screenshot(path=str(target), animations="disabled", caret="hide")
            assert Path(target).stat().st_size > 1000
