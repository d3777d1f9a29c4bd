"""The double opt-in flow as a person lives it: the mail arrives at a real SMTP server, its link
is opened in headless Chromium, the button confirms."""
import re

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.models import Contact
from sureapp.subscriptions import confirmations
from tests.api.conftest import ApiClient
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_confirming_from_the_mail_in_chromium(app, client, live_server, smtp_server, workspace,
                                              make_key, make_list):
    _require_chromium()
    from playwright.sync_api import sync_playwright

    app.config.update(SMTP_URL=smtp_server.url(login=False), PUBLIC_URL=live_server)
    news = make_list(workspace, "Weekly News")
    news.double_opt_in = True
    db.session.commit()
    _, key = make_key(workspace)
    created = ApiClient(client, key).post("/contacts", json={
        "email": "ana@example.com", "first_name": "Ana", "list_ids": [str(news.id)]})
    assert created.get_json()["status"] == "pending"
    confirmations.mail_due()
    (message,) = smtp_server.to("ana@example.com")
    link = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", message.get_content()).group(0)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.set_default_timeout(10000)
            page.goto(link)
            assert "Weekly News" in page.inner_text("main")
            page.get_by_role("button", name="Yes, subscribe me").click()
            page.wait_for_selector("text=Thank you, you are subscribed")
            assert page.context.cookies() == []  # no session was ever needed
        finally:
            browser.close()
    db.session.expire_all()
    assert db.session.scalar(select(Contact.status).where(Contact.email == "ana@example.com")) \
        == "active"
