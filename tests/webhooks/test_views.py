"""Settings → Developer → Webhooks without JavaScript (plain forms and pages) and with htmx:
roles, the secret shown once, edit, enable/disable, rotate, delete, test event, resend, the
banner for an automatically disabled endpoint, other workspaces' ids."""
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Role, WebhookDelivery, WebhookEndpoint
from tests.conftest import forget_request_user

HTMX = {"HX-Request": "true"}


@pytest.fixture
def manager(workspace, make_user, add_member):
    return add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER)


@pytest.fixture
def as_manager(login, manager):
    return login(manager)


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


def test_create_without_js_shows_the_secret_once(client, as_manager, workspace, receiver):
    page = client.get(url(workspace)).get_data(as_text=True)
    assert "No webhook endpoints yet" in page and 'id="add-webhook-button"' in page
    form = client.get(url(workspace, "/new"))
    assert form.status_code == 200 and "Endpoint URL" in form.get_data(as_text=True)
    response = client.post(url(workspace), data={"url": receiver.url, "events": ["contact.created", "tag.contact_added"],
                                                 "description": "CRM"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("no-store")
    secret = re.search(r'value="(whsec_[A-Za-z0-9+/=]+)"', response.get_data(as_text=True)).group(1)
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint.events == ["contact.created", "tag.contact_added"]
    listing = client.get(url(workspace)).get_data(as_text=True)
    detail = client.get(url(workspace, f"/{endpoint.id}")).get_data(as_text=True)
    assert receiver.url in listing and secret not in listing and secret not in detail


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
    rotated = client.post(url(workspace, f"/{endpoint.id}/rotate"))
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
    assert client.post(url(workspace, f"/{endpoint.id}/rotate")).status_code == 200
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
