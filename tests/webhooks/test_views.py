"""Settings → Developer → Webhooks without JavaScript (plain forms and pages) and with htmx:
roles, the secret shown once (a one-time page after a redirect; a resent form never creates or
rotates again), edit, enable/disable, rotate, delete, test event, resend, the
banner for an automatically disabled endpoint, other workspaces' ids."""
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp import once
from sureapp.extensions import db
from sureapp.models import OneTimeReveal, Role, WebhookDelivery, WebhookEndpoint
from sureapp.timeutil import utcnow
from sureapp.webhooks import signing
from tests.conftest import forget_request_user

HTMX = {"HX-Request": "true"}


def url(workspace, suffix=""):
    return f"/w/{workspace.id}/settings/webhooks{suffix}"


def endpoint_count():
    return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


def test_members_get_403_and_no_entry(client, login, workspace, make_user, add_member, make_endpoint, receiver):
    endpoint, _ = make_endpoint(workspace, receiver.url)
    member = add_member(workspace, make_user(email="member@example.com"), Role.MEMBER)
    login(member)
    for path in ("", "/new", f"/{endpoint.id}", f"/{endpoint.id}/edit", f"/{endpoint.id}/rotate"):
        assert client.get(url(workspace, path)).status_code == 403
    assert client.post(url(workspace), data={"url": receiver.url, "events": "*"}).status_code == 403
    assert client.post(url(workspace, f"/{endpoint.id}/delete")).status_code == 403
    assert endpoint_count() == 1
    page = client.get(f"/w/{workspace.id}/settings").get_data(as_text=True)
    assert "Webhooks" not in page


def form_token(client, path) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="once_token" value="([^"]+)"', page).group(1)


def current_secret(app, endpoint_id) -> str:
    db.session.expire_all()
    return signing.decrypt(db.session.get(WebhookEndpoint, endpoint_id).secret_encrypted,
                           app.config["SECRET_KEY"])


def test_create_without_js_shows_the_secret_once(client, as_manager, workspace, receiver, app):
    page = client.get(url(workspace)).get_data(as_text=True)
    assert "No webhook endpoints yet" in page and 'id="add-webhook-button"' in page
    form = client.get(url(workspace, "/new"))
    assert form.status_code == 200 and "Endpoint URL" in form.get_data(as_text=True)
    response = client.post(url(workspace), data={"url": receiver.url, "events": ["contact.created", "tag.contact_added"],
                                                 "description": "CRM"})
    # Post/Redirect/Get: the POST's answer holds no secret; the page it leads to shows it once.
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert response.status_code == 303 and "whsec_" not in response.get_data(as_text=True)
    reveal_url = response.headers["Location"]
    assert reveal_url.startswith(url(workspace, f"/{endpoint.id}/shown/"))
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and f"Path={reveal_url}" in set_cookie
    shown = client.get(reveal_url)
    assert shown.status_code == 200 and shown.headers["Cache-Control"].startswith("no-store")
    secret = re.search(r'value="(whsec_[A-Za-z0-9+/=]+)"', shown.get_data(as_text=True)).group(1)
    assert secret == current_secret(app, endpoint.id)
    assert endpoint.events == ["contact.created", "tag.contact_added"]
    assert db.session.scalar(select(func.count()).select_from(OneTimeReveal)) == 0

    again = client.get(reveal_url)  # a reload
    body = again.get_data(as_text=True)
    assert again.status_code == 410 and "This signing secret was already shown" in body
    assert "whsec_" not in body and endpoint_count() == 1
    assert current_secret(app, endpoint.id) == secret  # nothing rotated either
    listing = client.get(url(workspace)).get_data(as_text=True)
    detail = client.get(url(workspace, f"/{endpoint.id}")).get_data(as_text=True)
    assert receiver.url in listing and secret not in listing and secret not in detail


def test_sending_the_create_form_again_adds_no_second_endpoint(client, as_manager, workspace,
                                                                receiver):
    token = form_token(client, url(workspace, "/new"))
    data = {"url": receiver.url, "events": "*", "once_token": token}
    first = client.post(url(workspace), data=data)
    client.get(first.headers["Location"])
    second = client.post(url(workspace), data=data)  # Back + resubmit, a double click
    assert second.status_code == 303 and second.headers["Location"] == first.headers["Location"]
    page = client.get(second.headers["Location"])
    assert page.status_code == 410 and "whsec_" not in page.get_data(as_text=True)
    assert "This form was already sent, so nothing was done again." in page.get_data(as_text=True)
    third = client.post(url(workspace), data=data, headers=HTMX)  # a double click in the panel
    assert third.status_code == 204 and third.headers["HX-Redirect"] == first.headers["Location"]
    assert endpoint_count() == 1


def test_sending_the_rotate_form_again_keeps_the_secret_just_shown(client, as_manager, workspace,
                                                                   receiver, make_endpoint, app):
    endpoint, original = make_endpoint(workspace, receiver.url)
    token = form_token(client, url(workspace, f"/{endpoint.id}/rotate"))
    first = client.post(url(workspace, f"/{endpoint.id}/rotate"), data={"once_token": token})
    assert first.status_code == 303 and "/shown/" in first.headers["Location"]
    shown = client.get(first.headers["Location"]).get_data(as_text=True)
    rotated = re.search(r'value="(whsec_[^"]+)"', shown).group(1)
    assert rotated != original == signing.decrypt(
        db.session.get(WebhookEndpoint, endpoint.id).previous_secret_encrypted, app.config["SECRET_KEY"])
    again = client.post(url(workspace, f"/{endpoint.id}/rotate"), data={"once_token": token})
    assert again.headers["Location"] == first.headers["Location"]
    assert client.get(again.headers["Location"]).status_code == 410
    assert current_secret(app, endpoint.id) == rotated
    # Under htmx too (the dialog's button pressed twice): to the endpoint's page, no rotation.
    hx_token = form_token(client, url(workspace, f"/{endpoint.id}/rotate"))
    hx = client.post(url(workspace, f"/{endpoint.id}/rotate"), data={"once_token": hx_token}, headers=HTMX)
    assert hx.status_code == 200 and hx.headers["HX-Retarget"] == "#modal-root"
    newest = re.search(r'value="(whsec_[^"]+)"', hx.get_data(as_text=True)).group(1)
    hx_again = client.post(url(workspace, f"/{endpoint.id}/rotate"), data={"once_token": hx_token}, headers=HTMX)
    assert hx_again.status_code == 204 and hx_again.headers["HX-Redirect"] == url(workspace, f"/{endpoint.id}")
    assert current_secret(app, endpoint.id) == newest


def test_an_old_rotate_form_is_refused_and_rotates_nothing(client, as_manager, workspace, receiver,
                                                          make_endpoint, app):
    endpoint, original = make_endpoint(workspace, receiver.url)
    old = f"{int((utcnow() - timedelta(days=2)).timestamp())}.abc"
    response = client.post(url(workspace, f"/{endpoint.id}/rotate"), data={"once_token": old})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "This form was opened too long ago" in body
    assert re.search(r'name="once_token" value="([^"]+)"', body).group(1) != old
    assert current_secret(app, endpoint.id) == original


def test_a_reveal_page_is_its_users_alone(client, as_manager, workspace, receiver, login, make_user,
                                          add_member, app, other_workspace, make_endpoint):
    reveal_url = client.post(url(workspace), data={"url": receiver.url, "events": "*"}).headers["Location"]
    cookie = client.get_cookie(once.REVEAL_COOKIE, path=reveal_url).value
    # Another manager of the workspace, even with the cookie: 410, and the reveal stays.
    other = app.test_client()
    login(add_member(workspace, make_user(email="m2@example.com"), Role.MANAGER), as_client=other)
    other.set_cookie(once.REVEAL_COOKIE, cookie, path=reveal_url)
    assert other.get(reveal_url).status_code == 410
    # A member: 403; the path under another workspace's endpoint: 404.
    member = app.test_client()
    login(add_member(workspace, make_user(email="mem@example.com"), Role.MEMBER), as_client=member)
    assert member.get(reveal_url).status_code == 403
    theirs, _ = make_endpoint(other_workspace, receiver.url)
    endpoint_id = reveal_url.split("/webhooks/")[1].split("/")[0]
    forget_request_user()  # the next requests are the manager's own again
    assert client.get(reveal_url.replace(endpoint_id, str(theirs.id))).status_code == 404
    # Its own user still sees it, once.
    assert "whsec_" in client.get(reveal_url).get_data(as_text=True)


def test_create_errors_show_inline_and_keep_the_input(client, as_manager, workspace, app):
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
    response = client.post(url(workspace), data={"url": "http://localhost:8080/x", "events": "*",
                                                 "description": "kept"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "localhost resolves to" in body and 'value="http://localhost:8080/x"' in body and "kept" in body
    response = client.post(url(workspace), data={"url": "ftp://example.com", "description": "x"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "http:// or https://" in body
    assert "Events to send" in body and 'id="events-error"' in body
    htmx = client.post(url(workspace), data={"url": "nope"}, headers=HTMX)
    assert htmx.status_code == 422 and "<dialog" not in htmx.get_data(as_text=True)  # the form alone
    assert endpoint_count() == 0


def test_create_under_htmx_answers_the_secret_dialog(client, as_manager, workspace, receiver):
    response = client.post(url(workspace), data={"url": receiver.url, "events": "*"}, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#modal-root"
    assert "<dialog" in response.get_data(as_text=True) and "whsec_" in response.get_data(as_text=True)


def test_edit_toggle_rotate_delete(client, as_manager, workspace, receiver, make_endpoint):
    endpoint, old_secret = make_endpoint(workspace, receiver.url)
    edit = client.get(url(workspace, f"/{endpoint.id}/edit")).get_data(as_text=True)
    assert f'value="{receiver.url}"' in edit
    saved = client.post(url(workspace, f"/{endpoint.id}"), data={
        "url": receiver.url, "events": ["contact.deleted"], "description": "changed", "enabled": "y"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/{endpoint.id}")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).events == ["contact.deleted"]
    client.post(url(workspace, f"/{endpoint.id}/enabled"), data={"enabled": "0"})
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).enabled is False
    assert "Rotate signing secret" in client.get(url(workspace, f"/{endpoint.id}/rotate")).get_data(as_text=True)
    rotated = client.get(client.post(url(workspace, f"/{endpoint.id}/rotate")).headers["Location"])
    new_secret = re.search(r'value="(whsec_[^"]+)"', rotated.get_data(as_text=True)).group(1)
    assert new_secret != old_secret and rotated.headers["Cache-Control"].startswith("no-store")
    assert "previous secret until" in rotated.get_data(as_text=True)
    deleted = client.post(url(workspace, f"/{endpoint.id}/delete"))
    assert deleted.status_code == 303 and endpoint_count() == 0


def test_test_event_and_resend_from_the_log(client, as_manager, workspace, receiver, make_endpoint, deliver):
    endpoint, _ = make_endpoint(workspace, receiver.url)
    assert client.post(url(workspace, f"/{endpoint.id}/test")).status_code == 303
    deliver()
    page = client.get(url(workspace, f"/{endpoint.id}")).get_data(as_text=True)
    assert "webhook.test" in page and "Succeeded" in page and "Resend" in page
    delivery = db.session.scalar(select(WebhookDelivery))
    assert client.post(url(workspace, f"/{endpoint.id}/deliveries/{delivery.id}/resend")).status_code == 303
    deliver()
    assert len(receiver.requests) == 2
    assert client.get(url(workspace, f"/{endpoint.id}?cursor=damaged")).status_code == 200


def test_a_resent_test_event_or_resend_queues_nothing_more(client, as_manager, workspace, receiver,
                                                           make_endpoint, deliver):
    endpoint, _ = make_endpoint(workspace, receiver.url)
    show = url(workspace, f"/{endpoint.id}")
    token = form_token(client, show)
    for _ in range(2):  # a double click on Send test event
        answer = client.post(url(workspace, f"/{endpoint.id}/test"), data={"once_token": token})
        assert answer.status_code == 303 and answer.headers["Location"] == show
    assert "This form was already sent, so nothing was done again." in client.get(show).get_data(as_text=True)
    deliver()
    assert len(receiver.requests) == 1

    delivery = db.session.scalar(select(WebhookDelivery))
    token = re.findall(r'name="once_token" value="([^"]+)"', client.get(show).get_data(as_text=True))[-1]
    resend = url(workspace, f"/{endpoint.id}/deliveries/{delivery.id}/resend")
    assert client.post(resend, data={"once_token": token}).status_code == 303
    deliver()  # delivered again before the browser resends the form
    assert client.post(resend, data={"once_token": token}).headers["Location"] == show
    deliver()
    assert len(receiver.requests) == 2
    # Another workspace's delivery id stays a 404, token or not.
    assert client.post(url(workspace, f"/{endpoint.id}/deliveries/{uuid.uuid4()}/resend"),
                       data={"once_token": once.new_form_token()}).status_code == 404


def test_another_workspaces_endpoint_is_404(client, as_manager, workspace, other_workspace,
                                            make_endpoint, receiver):
    theirs, _ = make_endpoint(other_workspace, receiver.url)
    for path in (f"/{theirs.id}", f"/{theirs.id}/edit", f"/{theirs.id}/rotate", f"/{uuid.uuid4()}", "/not-a-uuid"):
        assert client.get(url(workspace, path)).status_code == 404
    for path in (f"/{theirs.id}/delete", f"/{theirs.id}/rotate", f"/{theirs.id}/test", f"/{theirs.id}/enabled"):
        assert client.post(url(workspace, path)).status_code == 404
    assert endpoint_count() == 1


def test_an_automatically_disabled_endpoint_shows_a_banner_to_managers(client, login, as_manager, workspace,
                                                                       make_endpoint, receiver, make_user, add_member):
    endpoint, _ = make_endpoint(workspace, receiver.url)
    endpoint.enabled, endpoint.disabled_reason = False, "Disabled automatically: The receiver answered 410 Gone."
    db.session.commit()
    page = client.get(f"/w/{workspace.id}/contacts").get_data(as_text=True)
    assert "A webhook endpoint was disabled" in page and "410 Gone" in page
    forget_request_user()
    login(add_member(workspace, make_user(email="member2@example.com"), Role.MEMBER))
    assert "A webhook endpoint was disabled" not in client.get(f"/w/{workspace.id}/contacts").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True, "WEBHOOK_ALLOW_PRIVATE_URLS": True}])
def test_posts_without_a_csrf_token_change_nothing(client, as_manager, workspace, make_endpoint, receiver):
    endpoint, _ = make_endpoint(workspace, receiver.url)
    client.post(url(workspace), data={"url": receiver.url, "events": "*"})
    client.post(url(workspace, f"/{endpoint.id}/delete"))
    client.post(url(workspace, f"/{endpoint.id}/enabled"), data={"enabled": "0"})
    db.session.expire_all()
    assert endpoint_count() == 1 and db.session.get(WebhookEndpoint, endpoint.id).enabled is True


def test_endpoint_page_shows_the_previous_secret_only_while_it_signs(client, as_manager, workspace, receiver, make_endpoint):
    endpoint, _ = make_endpoint(workspace, receiver.url)
    assert "Previous secret" not in client.get(url(workspace, f"/{endpoint.id}")).get_data(as_text=True)
    assert client.post(url(workspace, f"/{endpoint.id}/rotate")).status_code == 303
    assert "Previous secret" in client.get(url(workspace, f"/{endpoint.id}")).get_data(as_text=True)
    db.session.expire_all()
    rotated = db.session.get(WebhookEndpoint, endpoint.id)
    rotated.previous_secret_expires_at = rotated.previous_secret_expires_at - timedelta(hours=25)
    db.session.commit()
    assert "Previous secret" not in client.get(url(workspace, f"/{endpoint.id}")).get_data(as_text=True)


def test_rotate_and_delete_confirm_in_the_one_confirm_body(client, as_manager, workspace, receiver, make_endpoint):
    endpoint, _ = make_endpoint(workspace, receiver.url)
    rotate = client.get(url(workspace, f"/{endpoint.id}/rotate"), headers=HTMX).get_data(as_text=True)
    action = url(workspace, f"/{endpoint.id}/rotate")
    # the secret the POST shows replaces the dialog under htmx
    assert f'hx-post="{action}" hx-target="#modal-root"' in rotate and f"<code>{receiver.url}</code>" in rotate
    delete = client.get(url(workspace, f"/{endpoint.id}/delete")).get_data(as_text=True)
    assert f'<form method="post" action="{url(workspace, f"/{endpoint.id}/delete")}">' in delete
    assert f'href="{url(workspace, f"/{endpoint.id}")}">Cancel</a>' in delete  # no-JS page: a link back
    assert endpoint_count() == 1
