"""Create and Regenerate without JavaScript: Post/Redirect/Get to a page that shows the key once.
Reloading it says the key was already shown; sending the form again never acts twice; the
plaintext is in no database row, no cookie and no log line."""
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp import once
from sureapp.extensions import db
from sureapp.keys import keystring, services
from sureapp.models import ApiKey, FormSubmission, OneTimeReveal, Role
from sureapp.timeutil import utcnow

KEY_IN_PAGE = re.compile(r'(?:value="|>)(sure[A-Za-z0-9]{56})["<]')
HX = {"HX-Request": "true"}


@pytest.fixture
def manager(workspace_with_roles, login):
    workspace, users = workspace_with_roles
    login(users["manager"])
    return workspace, users["manager"]


def key_count(workspace) -> int:
    return db.session.scalar(select(func.count()).select_from(ApiKey)
                             .where(ApiKey.workspace_id == workspace.id))


def create_form(workspace, token, name="Zapier"):
    return {"name": name, "abilities": ["read", "write"], "key_type": "api",
            "once_token": token}


def reveal_cookie(client, url):
    return client.get_cookie(once.REVEAL_COOKIE, path=url)


def test_create_redirects_to_a_page_that_shows_the_key_once(client, manager, caplog):
    workspace, user = manager
    caplog.set_level(logging.DEBUG)
    base = f"/w/{workspace.id}/settings/api-keys"
    form = client.get(base + "/new").get_data(as_text=True)
    token = re.search(r'name="once_token" value="([^"]+)"', form).group(1)

    response = client.post(base, data=create_form(workspace, token))
    assert response.status_code == 303
    key = db.session.scalars(select(ApiKey).where(ApiKey.workspace_id == workspace.id)).one()
    reveal_url = response.headers["Location"]
    assert reveal_url.startswith(f"{base}/{key.id}/shown/")
    assert "sure" not in response.get_data(as_text=True)  # the POST's answer holds no key
    set_cookie = response.headers["Set-Cookie"]
    assert f"{once.REVEAL_COOKIE}=" in set_cookie
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert f"Path={reveal_url}" in set_cookie and "Max-Age=600" in set_cookie

    page = client.get(reveal_url)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    plaintext = KEY_IN_PAGE.search(page.get_data(as_text=True)).group(1)
    assert keystring.digest(plaintext) == key.key_hash
    assert "Max-Age=0" in page.headers["Set-Cookie"]  # the browser drops the decryption key
    assert db.session.scalar(select(func.count()).select_from(OneTimeReveal)) == 0

    # A reload: the same URL (cookie or not) says it was shown and shows nothing.
    again = client.get(reveal_url)
    assert again.status_code == 410
    body = again.get_data(as_text=True)
    assert "This key was already shown" in body and plaintext not in body
    assert not KEY_IN_PAGE.search(body)
    assert key_count(workspace) == 1
    assert plaintext not in caplog.text


def test_sending_the_create_form_again_creates_no_second_key(client, manager):
    workspace, _ = manager
    base = f"/w/{workspace.id}/settings/api-keys"
    token = once.new_form_token()
    first = client.post(base, data=create_form(workspace, token))
    client.get(first.headers["Location"])

    # The browser resends the POST (reload of a POST answer, Back + resubmit, a double click).
    second = client.post(base, data=create_form(workspace, token))
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert key_count(workspace) == 1
    page = client.get(second.headers["Location"])
    assert page.status_code == 410
    assert "This form was already sent, so nothing was done again." in page.get_data(as_text=True)

    # Under htmx (a double click in the side panel) alike: a full navigation, no second key.
    third = client.post(base, data=create_form(workspace, token), headers=HX)
    assert third.status_code == 204 and third.headers["HX-Redirect"] == first.headers["Location"]
    assert key_count(workspace) == 1


def test_a_form_with_errors_claims_nothing_and_can_be_corrected(client, manager):
    workspace, _ = manager
    base = f"/w/{workspace.id}/settings/api-keys"
    token = once.new_form_token()
    invalid = client.post(base, data=create_form(workspace, token, name="x" * 300))
    assert invalid.status_code == 422
    fresh = re.search(r'name="once_token" value="([^"]+)"', invalid.get_data(as_text=True)).group(1)
    assert fresh != token
    assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 0
    # Nothing was claimed: the very same token (a resend of the corrected form) still acts once.
    fixed = client.post(base, data=create_form(workspace, token))
    assert fixed.status_code == 303 and key_count(workspace) == 1


# Test ids must not depend on the clock: xdist workers collect at different moments.
@pytest.mark.parametrize("token", [
    "garbage", "12.", f"{int((utcnow() - timedelta(days=2)).timestamp())}.abc", "9" * 80,
], ids=["garbage", "no-signature", "two-days-old", "overlong"])
def test_an_old_or_malformed_token_is_refused_with_a_fresh_form(client, manager, token):
    workspace, _ = manager
    response = client.post(f"/w/{workspace.id}/settings/api-keys",
                           data=create_form(workspace, token))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This form was opened too long ago. Check it and send it again." in html
    fresh = re.search(r'name="once_token" value="([^"]+)"', html).group(1)
    assert fresh != token
    assert key_count(workspace) == 0
    assert client.post(f"/w/{workspace.id}/settings/api-keys",
                       data=create_form(workspace, fresh)).status_code == 303


def test_regenerate_redirects_and_a_resend_never_regenerates_again(client, manager, make_key):
    workspace, _ = manager
    key, old = make_key(workspace, name="Rolled")
    base = f"/w/{workspace.id}/settings/api-keys/{key.id}"
    token = once.new_form_token()
    data = {"grace": "none", "version": key.version, "once_token": token}
    first = client.post(base + "/regenerate", data=data)
    assert first.status_code == 303 and "/shown/" in first.headers["Location"]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    shown = KEY_IN_PAGE.search(page).group(1)
    db.session.expire_all()
    digest = db.session.get(ApiKey, key.id).key_hash
    assert keystring.digest(shown) == digest != keystring.digest(old)

    second = client.post(base + "/regenerate", data=data)
    assert second.headers["Location"] == first.headers["Location"]
    assert client.get(second.headers["Location"]).status_code == 410
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).key_hash == digest  # the key just shown still works


def test_the_reveal_page_belongs_to_its_user_and_browser(client, app, manager, workspace_with_roles,
                                                       login):
    workspace, _ = manager
    _, users = workspace_with_roles
    base = f"/w/{workspace.id}/settings/api-keys"
    response = client.post(base, data=create_form(workspace, once.new_form_token()))
    url = response.headers["Location"]

    # Another manager of the workspace, even with the cookie: nothing, and the reveal stays.
    other = app.test_client()
    login(users["admin"], as_client=other)
    other.set_cookie(once.REVEAL_COOKIE, reveal_cookie(client, url).value, path=url)
    assert other.get(url).status_code == 410
    assert db.session.scalar(select(func.count()).select_from(OneTimeReveal)) == 1

    # The same user in a browser without the key (another device): nothing, and it is used up.
    elsewhere = app.test_client()
    login(manager[1], as_client=elsewhere)
    assert elsewhere.get(url).status_code == 410
    assert client.get(url).status_code == 410
    assert key_count(workspace) == 1


def test_a_tampered_cookie_or_an_expired_reveal_shows_nothing(client, manager):
    workspace, user = manager
    base = f"/w/{workspace.id}/settings/api-keys"
    url = client.post(base, data=create_form(workspace, once.new_form_token())).headers["Location"]
    client.set_cookie(once.REVEAL_COOKIE, "A" * 43, path=url)
    assert client.get(url).status_code == 410

    url = client.post(base, data=create_form(workspace, once.new_form_token(), "Late")).headers["Location"]
    db.session.execute(OneTimeReveal.__table__.update().values(expires_at=utcnow()))
    db.session.commit()
    assert client.get(url).status_code == 410


def test_plaintext_is_in_no_row_and_no_cookie(client, manager):
    workspace, _ = manager
    base = f"/w/{workspace.id}/settings/api-keys"
    response = client.post(base, data=create_form(workspace, once.new_form_token()))
    row = db.session.scalars(select(OneTimeReveal)).one()
    cookie = reveal_cookie(client, response.headers["Location"]).value
    plaintext = KEY_IN_PAGE.search(client.get(response.headers["Location"]).get_data(as_text=True)).group(1)
    assert plaintext.encode() not in row.ciphertext and plaintext[4:20].encode() not in row.ciphertext
    assert plaintext not in cookie and plaintext not in row.id
    assert plaintext not in response.headers["Location"]
    # Neither half alone is the key: the row is 12 + 60 + 16 bytes of AES-GCM, the cookie 32.
    assert len(row.ciphertext) == 12 + 60 + 16


def test_htmx_create_still_answers_with_the_dialog(client, manager):
    workspace, _ = manager
    response = client.post(f"/w/{workspace.id}/settings/api-keys", headers=HX,
                           data=create_form(workspace, once.new_form_token()))
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#modal-root"
    assert KEY_IN_PAGE.search(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(OneTimeReveal)) == 0


def test_a_member_cannot_open_a_reveal_url(client, app, manager, workspace_with_roles, login):
    workspace, _ = manager
    _, users = workspace_with_roles
    url = client.post(f"/w/{workspace.id}/settings/api-keys",
                      data=create_form(workspace, once.new_form_token())).headers["Location"]
    member = app.test_client()
    login(users["member"], as_client=member)
    assert member.get(url).status_code == 403
