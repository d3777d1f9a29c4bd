"""Show once, act once, in a real browser: without JavaScript the show-once pages survive reloads
(no second key, no second regenerate, no second endpoint or rotation) and a form the browser
sends twice acts once (CSV import, bulk actions); with JavaScript the dialog shows the whole key,
a curl example, and asks before the key is lost; every action confirms itself and focus lands
somewhere sensible."""
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.models import ApiKey, Contact, Invitation, Job, WebhookEndpoint
from sureapp.webhooks import signing
from tests.browser.conftest import LIVE_SECRET_KEY

KEY = re.compile(r"sure[A-Za-z0-9]{56}")
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


@pytest.fixture
def no_js_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport={"width": 1366, "height": 860})
    context.set_default_timeout(10000)
    page = context.new_page()
    yield page
    context.close()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def sent_twice(page, path: str, upload: Path | None = None):
    """The browser's next POST to `path` reaches the server twice, as a double click or Back and
    resubmit would send it (the same body, the same cookies), and the page shows the second
    answer. Returns the two answers' (status, Location). Chromium hands an intercepted request's
    body over without the bytes of an uploaded file, so those of `upload` are put back."""
    answers = []

    def twice(route):
        body = route.request.post_data_buffer
        if upload is not None:
            part = re.compile(rb'(filename="' + re.escape(upload.name.encode()) + rb'"\r\n(?:[^\r\n]+\r\n)*\r\n)')
            body = part.sub(lambda m: m.group(1) + upload.read_bytes(), body, count=1)
        for _ in range(2):
            response = route.fetch(post_data=body, max_redirects=0)
            answers.append((response.status, response.headers.get("location")))
        route.fulfill(response=response)

    page.route(lambda url: urlsplit(url).path.endswith(path),
               lambda route: twice(route) if route.request.method == "POST" else route.continue_())
    return answers


def test_without_js_a_form_sent_twice_imports_and_deletes_once(no_js_page, browser_login,
                                                                manager, tmp_path):
    page = no_js_page
    user, workspace = manager
    browser_login(page, user.email)
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email\nana@example.com\nbob@example.com\nnew@example.com\n")

    # The upload, sent twice: one import, and the second answer goes where the first did.
    answers = sent_twice(page, f"/w/{workspace.id}/contacts/import", upload=csv_file)
    page.goto(f"/w/{workspace.id}/contacts/import")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    expect(page.get_by_text("This form was already sent, so nothing was done again.")).to_be_visible()
    assert [status for status, _ in answers] == [303, 303] and answers[0][1] == answers[1][1]
    assert count(Job) == 1
    page.reload()  # a reload of the page it led to is a GET: still one import
    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    assert count(Job) == 1

    page.get_by_role("button", name=re.compile("Continue|Review")).click()
    answers = sent_twice(page, "/start")
    page.get_by_role("button", name=re.compile(r"Import 3 contacts")).click()
    expect(page.get_by_text("This form was already sent, so nothing was done again.")).to_be_visible()
    assert answers[0][1] == answers[1][1] and answers[0][1].endswith("/progress")
    assert count(Job) == 1
    for _ in range(50):  # without JavaScript the progress page does not poll: reload it
        if page.locator("#import-counts").count():
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(page.locator("#import-counts")).to_contain_text("3 created")
    assert count(Contact) == 3 and count(Job) == 1

    # A bulk delete of all three, confirmed twice: the second sending goes where the first did.
    page.goto(f"/w/{workspace.id}/contacts")
    page.get_by_label("All 3 contacts").check()
    page.get_by_label("Bulk action").select_option("delete")
    page.get_by_role("button", name="Apply…").click()
    answers = sent_twice(page, "/contacts/bulk")
    page.get_by_role("button", name="Delete 3 contacts").click()
    expect(page.get_by_text("This form was already sent, so nothing was done again.")).to_be_visible()
    assert answers[0] == answers[1] and answers[0][0] == 303
    assert count(Contact) == 0


def test_without_js_reloading_the_show_once_pages_never_acts_again(no_js_page, browser_login,
                                                                  manager, live_server):
    page = no_js_page
    user, workspace = manager
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys/new")
    page.get_by_label("Name").fill("Nightly sync")
    page.get_by_label("Read", exact=True).check()
    page.get_by_role("button", name="Create API Key").click()

    expect(page).to_have_url(re.compile(r"/shown/"))
    plaintext = page.locator("#new-key-value").input_value()
    assert KEY.fullmatch(plaintext)
    expect(page.locator("#try-key-example")).to_contain_text(f'X-API-Key: {plaintext}')
    assert count(ApiKey) == 1
    for _ in range(2):
        page.reload()
        expect(page.get_by_role("heading", name="This key was already shown")).to_be_visible()
        assert plaintext not in page.content()
    assert count(ApiKey) == 1

    # Regenerate: the new string is shown once; reloads neither show it nor regenerate again.
    key = db.session.scalars(select(ApiKey)).one()
    page.goto(f"/w/{workspace.id}/settings/api-keys/{key.id}/regenerate")
    page.get_by_role("button", name="Regenerate key").click()
    expect(page).to_have_url(re.compile(r"/shown/"))
    regenerated = page.locator("#new-key-value").input_value()
    assert regenerated != plaintext
    page.reload()
    expect(page.get_by_role("heading", name="This key was already shown")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).key_hash == keystring.digest(regenerated)
    assert page.request.get(f"{live_server.url}/api/v1/me",
                            headers={"X-API-Key": regenerated}).status == 200
    assert count(ApiKey) == 1

    # An invitation: the link is shown once, the form is empty again, a reload invites no one.
    page.goto(f"/w/{workspace.id}/settings/members/")
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invited bob@example.com as Member.")).to_be_visible()
    expect(page.locator("#invite-link")).to_have_value(re.compile(r"/invitations/"))
    expect(page.get_by_label("Email")).to_have_value("")
    expect(page.get_by_text("expires in 7 days")).to_be_visible()
    page.reload()
    expect(page.get_by_text("was shown once and is not shown again")).to_be_visible()
    assert count(Invitation) == 1


def test_show_once_dialog_asks_before_the_key_is_lost(page, browser_login, manager, live_server):
    user, workspace = manager
    page.set_viewport_size({"width": 1366, "height": 860})
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    panel.get_by_label("Name").fill("Zapier")
    panel.get_by_label("Read", exact=True).check()
    panel.get_by_role("button", name="Create API Key").click()

    dialog = page.get_by_role("dialog", name="Your new API key")
    secret = dialog.locator("#new-key-value")
    plaintext = secret.input_value()
    # The whole key is visible: no part scrolled out of its box.
    assert secret.evaluate("el => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight")
    expect(dialog.locator("#try-key-example")).to_contain_text(
        f'curl -H "X-API-Key: {plaintext}"')

    page.keyboard.press("Escape")
    expect(dialog.get_by_text("Did you copy the key?")).to_be_visible()
    expect(dialog.get_by_role("button", name="Go back")).to_be_focused()
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog.get_by_text("Did you copy the key?")).to_be_hidden()
    dialog.get_by_role("button", name="Close", exact=True).click()  # the ×
    expect(dialog.get_by_text("Did you copy the key?")).to_be_visible()
    dialog.get_by_role("button", name="Go back").click()
    page.mouse.click(5, 5)  # the backdrop
    expect(dialog.get_by_text("Did you copy the key?")).to_be_visible()
    assert dialog.is_visible()

    dialog.get_by_role("button", name="Close without copying").click()
    expect(dialog).to_be_hidden()
    assert count(ApiKey) == 1


def test_copying_the_key_lets_escape_close_it(page, browser_login, manager, live_server):
    user, workspace = manager
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    page.get_by_role("link", name="Create API Key").first.click()
    panel = page.get_by_role("dialog", name="Create API Key")
    panel.get_by_label("Name").fill("Zapier")
    panel.get_by_label("Read", exact=True).check()
    panel.get_by_role("button", name="Create API Key").click()
    dialog = page.get_by_role("dialog", name="Your new API key")
    dialog.get_by_role("button", name="Copy", exact=True).click()
    expect(dialog.get_by_text("Copied!")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_actions_confirm_in_a_toast_and_focus_follows_a_delete(page, browser_login, manager,
                                                               make_key):
    user, workspace = manager
    for name in ("First", "Second"):
        make_key(workspace, name=name)
    browser_login(page, user.email)
    page.goto(f"/w/{workspace.id}/settings/api-keys")
    rows = page.locator("#keys-table tbody tr")
    second = rows.filter(has=page.get_by_role("link", name="Second", exact=True))  # newest first

    second.get_by_role("link", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    toasts = page.locator("#toasts")
    assert toasts.get_attribute("role") == "status"
    expect(toasts).to_contain_text("API key “Second” revoked.")
    expect(second).to_have_class(re.compile("just-changed"))
    expect(second.get_by_role("link", name="Activate")).to_be_focused()

    second.get_by_role("link", name="Edit").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Second renamed")
    page.get_by_role("dialog").get_by_role("button", name="Save Changes").click()
    expect(toasts).to_contain_text("Saved changes to “Second renamed”.")

    # Delete the first row: focus goes to the next row's first action, not to <body>.
    renamed = rows.filter(has=page.get_by_role("link", name="Second renamed", exact=True))
    renamed.get_by_role("link", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete permanently").click()
    expect(toasts).to_contain_text("API key “Second renamed” deleted.")
    expect(rows).to_have_count(1)
    first_action = rows.first.locator("td.actions a").first
    expect(first_action).to_be_focused()
    # The last row: focus goes to the page heading.
    rows.first.get_by_role("link", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_role("heading", name="API Keys", level=1)).to_be_focused()


def test_without_js_a_webhook_secret_is_shown_once_and_never_made_again(no_js_page, browser_login,
                                                                         manager):
    page = no_js_page
    user, workspace = manager
    browser_login(page, user.email)

    def current_secret():
        db.session.expire_all()
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        return endpoint, signing.decrypt(endpoint.secret_encrypted, LIVE_SECRET_KEY)

    page.goto(f"/w/{workspace.id}/settings/webhooks/new")
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("All events").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page).to_have_url(re.compile(r"/shown/"))
    secret = page.get_by_label(re.compile("Signing secret for")).input_value()
    endpoint, stored = current_secret()
    assert SECRET.fullmatch(secret) and stored == secret
    for _ in range(2):
        page.reload()
        expect(page.get_by_role("heading", name="This signing secret was already shown")).to_be_visible()
        assert secret not in page.content()
    assert count(WebhookEndpoint) == 1 and current_secret()[1] == secret

    # Rotate: the new secret once; reloads neither show it nor rotate again.
    page.goto(f"/w/{workspace.id}/settings/webhooks/{endpoint.id}/rotate")
    page.get_by_role("button", name="Rotate secret").click()
    expect(page).to_have_url(re.compile(r"/shown/"))
    rotated = page.get_by_label(re.compile("Signing secret for")).input_value()
    assert rotated != secret and current_secret()[1] == rotated
    page.reload()
    expect(page.get_by_role("heading", name="This signing secret was already shown")).to_be_visible()
    assert current_secret()[1] == rotated

    # The rotate form sent twice (a double click): one rotation, and the secret it made is the one
    # that works: the secret it replaced still signs as the previous one.
    page.goto(f"/w/{workspace.id}/settings/webhooks/{endpoint.id}/rotate")
    answers = sent_twice(page, f"/{endpoint.id}/rotate")
    page.get_by_role("button", name="Rotate secret").click()
    assert answers[0][0] == answers[1][0] == 303 and answers[0][1] == answers[1][1]
    endpoint, newest = current_secret()
    assert newest != rotated
    assert signing.decrypt(endpoint.previous_secret_encrypted, LIVE_SECRET_KEY) == rotated
    assert count(WebhookEndpoint) == 1
