"""The API Keys pages: every action as every role, across workspaces, with and without htmx,
and with bad input. Attackers here are lower roles, other workspaces' managers and outsiders."""
import json
import re
import uuid
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from sureapp import jobs
from sureapp.extensions import db
from sureapp.keys import keystring, services
from sureapp.models import ApiKey, ApiKeyEvent, ApiRequestLog, Role
from sureapp.timeutil import format_datetime, utcnow

HX = {"HX-Request": "true"}
KEY_IN_HTML = re.compile(r'(?:value="|>)(sure[A-Za-z0-9]{56})["<]')
ALLOWED_ROLES = ["owner", "admin", "manager"]


def snapshot(key_id):
    """Everything an action could change about a key (to prove a refused action changed nothing)."""
    db.session.expire_all()
    key = db.session.get(ApiKey, key_id)
    if key is None:
        return None
    events = db.session.query(ApiKeyEvent).filter_by(api_key_id=key_id).count()
    return (key.name, key.abilities, key.status, key.key_hash, key.previous_key_hash,
            key.expires_at, events)


# (method, path suffix with {key}, form data) for every keys endpoint.
ACTIONS = [
    ("GET", "", None),
    ("GET", "/new", None),
    ("POST", "", {"name": "New", "abilities": ["read"], "key_type": "api"}),
    ("GET", "/{key}", None),
    ("GET", "/{key}/edit", None),
    ("POST", "/{key}", {"name": "Renamed", "abilities": ["read"], "active": "y"}),
    ("GET", "/{key}/revoke", None),
    ("POST", "/{key}/revoke", {}),
    ("GET", "/{key}/activate", None),
    ("POST", "/{key}/activate", {}),
    ("GET", "/{key}/regenerate", None),
    ("POST", "/{key}/regenerate", {"grace": "1h"}),
    ("GET", "/{key}/end-grace", None),
    ("POST", "/{key}/end-grace", {}),
    ("GET", "/{key}/delete", None),
    ("POST", "/{key}/delete", {}),
]
ACTION_IDS = [f"{m} {p or '/'}" for m, p, _ in ACTIONS]
KEY_ACTIONS = [a for a in ACTIONS if "{key}" in a[1]]


def call(client, workspace, key, method, suffix, data, headers=None):
    url = f"/w/{workspace.id}/settings/api-keys" + suffix.format(key=key.id if key else "")
    return client.open(url, method=method, data=data, headers=headers or {})


def make_target_key(workspace, name="Zapier"):
    """A key with a pending grace period, so every action (end-grace too) has work to do."""
    key, _ = services.create_key(workspace, name, ["read", "write"])
    services.regenerate_key(key, timedelta(hours=1))
    db.session.commit()
    return key


@pytest.fixture
def setup(workspace_with_roles):
    workspace, users = workspace_with_roles
    return workspace, users, make_target_key(workspace)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("method, suffix, data", ACTIONS, ids=ACTION_IDS)
def test_managers_and_above_can_do_everything(client, login, setup, htmx, method, suffix, data):
    workspace, users, _ = setup
    for role in ALLOWED_ROLES:
        key = make_target_key(workspace, f"Key for {role}")
        login(users[role])
        response = call(client, workspace, key, method, suffix, data, HX if htmx else None)
        body = response.get_data(as_text=True)
        assert response.status_code == _expected_status(method, suffix, htmx), (role, body[:500])
        assert "HX-Request" in response.vary
        if htmx and suffix != "/{key}":  # the detail page is only ever a whole page
            assert "<html" not in body  # a fragment to swap, never a whole page
        elif method == "GET":
            assert "<html" in body


def _expected_status(method, suffix, htmx) -> int:
    """htmx swaps a 200 fragment in place; without JavaScript a page is 200 and a post redirects
    (post, redirect, full page): 303 to the page that shows the key once after create and
    regenerate, 302 back to the table after the others."""
    if htmx or method == "GET":
        return 200
    return 303 if suffix in ("", "/{key}/regenerate") else 302


@pytest.mark.parametrize("method, suffix, data", ACTIONS, ids=ACTION_IDS)
def test_members_get_403_and_nothing_changes(client, login, setup, method, suffix, data):
    workspace, users, key = setup
    before = snapshot(key.id)
    login(users["member"])
    for headers in (None, HX):
        response = call(client, workspace, key, method, suffix, data, headers)
        assert response.status_code == 403
    assert snapshot(key.id) == before
    assert db.session.query(ApiKey).count() == 1


@pytest.mark.parametrize("method, suffix, data", ACTIONS, ids=ACTION_IDS)
def test_outsiders_get_404_and_nothing_changes(client, login, setup, make_user, make_org, method,
                                               suffix, data):
    workspace, _, key = setup
    stranger = make_user(email="stranger@example.com")
    make_org(stranger, name="Stranger Inc")
    before = snapshot(key.id)
    login(stranger)
    for headers in (None, HX):
        assert call(client, workspace, key, method, suffix, data, headers).status_code == 404
    assert snapshot(key.id) == before
    assert db.session.query(ApiKey).count() == 1


def test_anonymous_visitors_are_sent_to_login(client, setup):
    workspace, _, key = setup
    response = call(client, workspace, key, "POST", "/{key}/delete", {})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert snapshot(key.id) is not None


@pytest.mark.parametrize("method, suffix, data", KEY_ACTIONS,
                         ids=[f"{m} {p}" for m, p, _ in KEY_ACTIONS])
def test_a_manager_cannot_touch_another_workspaces_key_by_id(
        client, login, setup, make_user, make_org, make_workspace, method, suffix, data):
    workspace_a, users, _ = setup
    same_org_b = make_workspace(workspace_a.organization, name="Sales")
    _, other_org_b = make_org(make_user(), name="Rival", workspace_name="Theirs")
    login(users["manager"])
    for workspace_b in (same_org_b, other_org_b):
        their_key = make_target_key(workspace_b, "Their key")
        before = snapshot(their_key.id)
        for headers in (None, HX):
            # Through the manager's own workspace URL…
            response = call(client, workspace_a, their_key, method, suffix, data, headers)
            assert response.status_code == 404
            # …and through the other workspace's URL.
            response = call(client, workspace_b, their_key, method, suffix, data, headers)
            assert response.status_code == 404
        assert snapshot(their_key.id) == before


def test_the_nav_entry_shows_for_managers_only(client, login, setup):
    workspace, users, _ = setup
    url = f"/w/{workspace.id}/settings/api-keys"
    login(users["manager"])
    sidebar = client.get(url).get_data(as_text=True).split('class="settings-sidebar"')[1]
    sidebar = sidebar[:sidebar.index("</aside>")]
    assert "<h3>Developer</h3>" in sidebar and f'href="{url}"' in sidebar
    login(users["member"])
    assert url not in client.get(f"/w/{workspace.id}/").get_data(as_text=True)


# ---- the table -------------------------------------------------------------------------------

def test_table_shows_every_column(client, login, setup):
    workspace, users, key = setup
    key.last_used_at = utcnow() - timedelta(minutes=3)
    key.expires_at = utcnow() + timedelta(days=3)
    db.session.commit()
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    row = html[html.index(f'id="key-row-{key.id}"'):]
    row = row[:row.index("</tr>")]
    assert "Zapier" in row and key.masked in row
    assert 'class="badge badge-read"' in row and 'class="badge badge-write"' in row
    assert "badge-delete" not in row
    # One status badge: an active key close to its expiry says so (and that it still works).
    assert "Expiring soon" in row and 'title="Active; expires in 3 days"' in row
    assert "badge-neutral" not in row  # the standard API type needs no badge in the table
    last_used = format_datetime(key.last_used_at, "UTC", seconds=True)
    assert f'title="{last_used}">3 minutes ago' in row  # exact time on hover
    created = format_datetime(key.created_at, "UTC")
    assert f'title="Created {created}">{format_datetime(key.created_at, "UTC", date_only=True)}<' in row
    assert f">{format_datetime(key.expires_at, 'UTC', zone=False)}</time>" in row
    assert "Old key works until" in row and "End now" in row
    for label in ("Edit", "Revoke", "Regenerate", "Delete"):
        assert f'aria-label="{label}"' in row


def test_revoked_and_expired_keys_show_their_status_and_activate(client, login, setup, make_key):
    workspace, users, key = setup
    services.revoke_key(key)
    expired, _ = make_key(workspace, ["read"], name="Expired one")
    expired.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    assert ">Revoked</span>" in html and ">Expired</span>" in html
    assert 'aria-label="Activate"' in html


def test_empty_states(client, login, workspace_with_roles):
    workspace, users = workspace_with_roles
    login(users["manager"])
    url = f"/w/{workspace.id}/settings/api-keys"
    assert "No API keys yet" in client.get(url).get_data(as_text=True)
    assert "No keys match" in client.get(url + "?search=nothing").get_data(as_text=True)


def test_filters_are_read_from_the_url_by_page_and_fragment(client, login, setup, make_key):
    workspace, users, _ = setup
    make_key(workspace, ["read"], name="Claude", key_type="mcp")
    login(users["manager"])
    url = f"/w/{workspace.id}/settings/api-keys?search=clau&type=mcp&status=active"
    for headers in ({}, HX):
        html = client.get(url, headers=headers).get_data(as_text=True)
        assert "Claude" in html and "Zapier" not in html
    page = client.get(url).get_data(as_text=True)
    assert 'value="clau"' in page and '<option value="mcp" selected' in page


@pytest.mark.parametrize("app_config", [{"KEY_EXPIRING_SOON_DAYS": 2}])
def test_badge_filter_and_dashboard_share_one_expiring_soon_window(client, login, setup, make_key):
    workspace, users, zapier = setup
    soon, _ = make_key(workspace, ["read"], name="Tomorrow", expires_at=utcnow() + timedelta(days=1))
    later, _ = make_key(workspace, ["read"], name="In three days", expires_at=utcnow() + timedelta(days=3))
    login(users["manager"])
    url = f"/w/{workspace.id}/settings/api-keys"
    html = client.get(url).get_data(as_text=True)

    def row(key):
        start = html.index(f'id="key-row-{key.id}"')
        return html[start:html.index("</tr>", start)]

    assert "Expiring soon" in row(soon)
    assert "Expiring soon" not in row(later) and "Active" in row(later)
    expiring = client.get(url + "?status=expiring").get_data(as_text=True)
    assert f'id="key-row-{soon.id}"' in expiring
    assert f'id="key-row-{later.id}"' not in expiring and f'id="key-row-{zapier.id}"' not in expiring
    active = client.get(url + "?status=active").get_data(as_text=True)
    assert all(f'id="key-row-{k.id}"' in active for k in (soon, later, zapier))
    dashboard = client.get(f"/w/{workspace.id}/").get_data(as_text=True)
    assert re.search(r'stat-value">1</span> expiring within 2 days', dashboard)


@pytest.mark.parametrize("query", ["?status=bogus", "?type=root", "?page=abc", "?cursor=abc",
                                   "?cursor=%C2%B2", "?search=%00", "?search=a%00b%1F",
                                   "?cursor=" + "A" * 5000, "?search=" + "x" * 5000])
def test_odd_query_arguments_never_break_the_page(client, login, setup, query):
    workspace, users, _ = setup
    login(users["manager"])
    assert client.get(f"/w/{workspace.id}/settings/api-keys{query}").status_code == 200


def _row_ids(html: str) -> list[str]:
    return re.findall(r'id="key-row-([0-9a-f-]{36})"', html)


def _link(html: str, rel: str) -> str | None:
    found = re.search(r'href="([^"]+)"[^>]*rel="%s"' % rel, html)
    return unescape(found.group(1)) if found else None


def test_pagination_walks_every_key_once_newest_first_and_back(client, login, setup, make_key):
    workspace, users, _ = setup
    for i in range(44):
        make_key(workspace, ["read"], name=f"Key {i:02d}")
    login(users["manager"])
    url = f"/w/{workspace.id}/settings/api-keys"
    expected = [str(k.id) for k in db.session.scalars(select(ApiKey).where(
        ApiKey.workspace_id == workspace.id).order_by(ApiKey.created_at.desc(), ApiKey.id.desc()))]
    pages, html = [], client.get(url).get_data(as_text=True)
    while True:
        assert "45 keys" in html
        pages.append(_row_ids(html))
        if _link(html, "next") is None:
            break
        html = client.get(_link(html, "next"), headers=HX).get_data(as_text=True)
    assert [len(p) for p in pages] == [20, 20, 5]
    assert [i for p in pages for i in p] == expected
    # Previous from the last page gives the middle page again; no OFFSET, no page numbers.
    assert _row_ids(client.get(_link(html, "prev"), headers=HX).get_data(as_text=True)) == pages[1]
    assert "page=" not in html


def test_a_damaged_cursor_shows_the_first_page_and_says_so(client, login, setup):
    workspace, users, _ = setup
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys?cursor=bm90LWEtY3Vyc29y",
                      headers=HX).get_data(as_text=True)
    assert "Zapier" in html and "page link is out of date" in html


def test_a_page_whose_keys_were_all_deleted_shows_the_first_page(client, login, setup, make_key):
    workspace, users, _ = setup
    make_key(workspace, ["read"], name="Oldest")
    for i in range(20):
        make_key(workspace, ["read"], name=f"Key {i:02d}")
    login(users["manager"])
    url = f"/w/{workspace.id}/settings/api-keys"
    first = client.get(url).get_data(as_text=True)
    second = _link(first, "next")
    for key in db.session.scalars(select(ApiKey).where(ApiKey.id.not_in([uuid.UUID(i) for i in _row_ids(first)]))):
        db.session.delete(key)  # everything the second page would show
    db.session.commit()
    html = client.get(second).get_data(as_text=True)
    assert len(_row_ids(html)) == 20 and 'rel="next"' not in html


def test_filtering_pushes_a_clean_bookmarkable_url(client, login, setup):
    workspace, users, _ = setup
    login(users["manager"])
    url = f"/w/{workspace.id}/settings/api-keys"
    response = client.get(url + "?search=zap&status=&type=&cursor=",
                          headers={**HX, "HX-Trigger": "key-search"})
    assert response.headers["HX-Push-Url"] == url + "?search=zap"
    # The table refreshing itself after a change does not add a history entry.
    response = client.get(url + "?search=zap", headers={**HX, "HX-Trigger": "keys-table"})
    assert "HX-Push-Url" not in response.headers


def test_history_restore_gets_the_whole_page(client, login, setup):
    workspace, users, _ = setup
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys",
                      headers={**HX, "HX-History-Restore-Request": "true"}).get_data(as_text=True)
    assert "<html" in html


# ---- create and show once ------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_create_shows_the_key_once_and_stores_only_its_digest(client, login, setup, htmx):
    workspace, users, _ = setup
    login(users["manager"])
    # Without JavaScript the POST redirects to the page that shows it (tests/keys/test_show_once).
    response = client.post(f"/w/{workspace.id}/settings/api-keys", headers=HX if htmx else {},
                           data={"name": "Make.com", "abilities": ["read", "delete"],
                                 "key_type": "suremails"}, follow_redirects=not htmx)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plaintext = KEY_IN_HTML.search(response.get_data(as_text=True)).group(1)
    assert keystring.is_well_formed(plaintext)
    assert "I've saved my key – Close" in response.get_data(as_text=True)
    key = db.session.query(ApiKey).filter_by(name="Make.com").one()
    assert key.key_hash == keystring.digest(plaintext)
    assert (key.abilities, key.key_type, key.created_by_id) == ("read,delete", "suremails",
                                                                users["manager"].id)
    if htmx:
        assert response.headers["HX-Retarget"] == "#modal-root"
        assert response.headers["HX-Trigger"] == "keysChanged"
        assert 'hx-history="false"' in response.get_data(as_text=True)
    # Never again: not in the table, the detail page or the edit panel.
    for path in ("", f"/{key.id}", f"/{key.id}/edit"):
        assert plaintext not in client.get(f"/w/{workspace.id}/settings/api-keys{path}").get_data(as_text=True)


def test_expiry_is_entered_in_the_workspace_timezone(client, login, make_user, make_org):
    owner = make_user()
    _, workspace = make_org(owner, timezone="America/New_York")
    login(owner)
    client.post(f"/w/{workspace.id}/settings/api-keys",
                data={"name": "NY", "abilities": ["read"], "expires_at": "2030-06-01T12:00"})
    key = db.session.query(ApiKey).one()
    assert key.expires_at.isoformat() == "2030-06-01T16:00:00"  # EDT is UTC-4
    edit = client.get(f"/w/{workspace.id}/settings/api-keys/{key.id}/edit").get_data(as_text=True)
    assert 'value="2030-06-01T12:00"' in edit


BAD_CREATE_INPUT = [
    ({"name": "", "abilities": ["read"]}, "Enter a name."),
    ({"name": "   ", "abilities": ["read"]}, "Enter a name."),
    ({"name": "nul\x00byte", "abilities": ["read"]}, "Use visible characters only"),
    ({"name": "x" * 256, "abilities": ["read"]}, "Use at most 255 characters"),
    ({"name": "ok"}, "Choose at least one ability."),
    ({"name": "ok", "abilities": ["read", "sudo"]}, "Unknown ability &#39;sudo&#39;"),
    ({"name": "ok", "abilities": ["read"], "expires_at": "2001-01-01T00:00"}, "Choose a time in the future."),
    ({"name": "ok", "abilities": ["read"], "expires_at": "31/12/2030"}, "Enter a date and time"),
    ({"name": "ok", "abilities": ["read"], "expires_at": "2030-02-30T10:00"}, "Enter a date and time"),
    ({"name": "ok", "abilities": ["read"], "expires_at": "0001-01-01T00:00"}, "Choose a"),
    ({"name": "ok", "abilities": ["read"], "key_type": "root"}, "Choose one of: api, mcp, suremails."),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("data, message", BAD_CREATE_INPUT,
                         ids=[m[:24] for _, m in BAD_CREATE_INPUT])
def test_create_with_bad_input_shows_inline_errors_and_writes_nothing(client, login, setup, htmx,
                                                                      data, message):
    workspace, users, _ = setup
    login(users["manager"])
    response = client.post(f"/w/{workspace.id}/settings/api-keys", data=data,
                           headers=HX if htmx else {})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert ("<html" in html) is not htmx
    assert db.session.query(ApiKey).count() == 1  # only the fixture's key


def test_every_bad_field_is_reported_at_once(client, login, setup):
    workspace, users, _ = setup
    login(users["manager"])
    html = client.post(f"/w/{workspace.id}/settings/api-keys", headers=HX,
                       data={"name": "", "expires_at": "garbage"}).get_data(as_text=True)
    for message in ("Enter a name.", "Choose at least one ability.", "Enter a date and time"):
        assert message in html


def test_far_future_expiry_in_a_western_timezone_is_an_error_not_a_crash(client, login, make_user,
                                                                         make_org):
    owner = make_user()
    _, workspace = make_org(owner, timezone="America/Los_Angeles")
    login(owner)
    response = client.post(f"/w/{workspace.id}/settings/api-keys",
                           data={"name": "ok", "abilities": ["read"],
                                 "expires_at": "9999-12-31T23:59"})
    assert response.status_code == 422 and "Choose a date between" in response.get_data(as_text=True)


def test_a_255_character_name_is_accepted(client, login, setup):
    workspace, users, _ = setup
    login(users["manager"])
    response = client.post(f"/w/{workspace.id}/settings/api-keys",
                           data={"name": "n" * 255, "abilities": ["read"]})
    assert response.status_code == 303  # to the page that shows it once
    assert db.session.query(ApiKey).filter_by(name="n" * 255).count() == 1


# ---- edit ----------------------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_edit_saves_and_audits_which_fields_changed(client, login, setup, htmx):
    workspace, users, key = setup
    old_hash = key.key_hash
    login(users["admin"])
    response = client.post(f"/w/{workspace.id}/settings/api-keys/{key.id}",
                           headers=HX if htmx else {},
                           data={"name": "Zapier prod", "abilities": ["read", "write"]})
    if htmx:
        assert response.headers["HX-Retarget"] == f"#key-row-{key.id}"
        # The dialog closes and a toast confirms it, flashing the row.
        assert json.loads(response.headers["HX-Trigger"]) == {
            "closeDialog": None, "showToast": {"message": "Saved changes to “Zapier prod”.",
                                              "highlight": f"#key-row-{key.id}"}}
        assert f'id="key-row-{key.id}"' in response.get_data(as_text=True)
    else:
        assert response.status_code == 302
    db.session.expire_all()
    key = db.session.get(ApiKey, key.id)
    assert key.name == "Zapier prod" and key.status == "revoked"  # Active toggle was off
    assert key.key_hash == old_hash
    edited = [e for e in services.key_events(key) if e.action == "edited"][0]
    assert set(edited.changes) == {"name", "status"}
    assert edited.actor_id == users["admin"].id


BAD_EDIT_INPUT = [
    ({"name": "", "abilities": ["read"]}, "Enter a name."),
    ({"name": "x" * 256, "abilities": ["read"]}, "Use at most 255 characters"),
    ({"name": "ok"}, "Choose at least one ability."),
    ({"name": "ok", "abilities": ["admin"]}, "Unknown ability &#39;admin&#39;"),
    ({"name": "ok", "abilities": ["read"], "expires_at": "2001-01-01T00:00"}, "Choose a time in the future."),
    ({"name": "ok", "abilities": ["read"], "expires_at": "tomorrow"}, "Enter a date and time"),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("data, message", BAD_EDIT_INPUT, ids=[m[:24] for _, m in BAD_EDIT_INPUT])
def test_edit_with_bad_input_changes_nothing(client, login, setup, htmx, data, message):
    workspace, users, key = setup
    before = snapshot(key.id)
    login(users["manager"])
    response = client.post(f"/w/{workspace.id}/settings/api-keys/{key.id}",
                           data={**data, "active": "y"}, headers=HX if htmx else {})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot(key.id) == before


# ---- revoke, activate, regenerate, end grace, delete ----------------------------------------

def test_revoke_and_activate_swap_the_row(client, login, setup):
    workspace, users, key = setup
    login(users["manager"])
    base = f"/w/{workspace.id}/settings/api-keys/{key.id}"
    response = client.post(base + "/revoke", headers=HX)
    html = response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == f"#key-row-{key.id}"
    assert html.startswith(f'<tr id="key-row-{key.id}"') and ">Revoked</span>" in html
    assert 'aria-label="Activate"' in html
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).previous_key_hash is None  # the grace ended too
    html = client.post(base + "/activate", headers=HX).get_data(as_text=True)
    assert ">Active</span>" in html and 'aria-label="Revoke"' in html


def test_confirm_pages_without_javascript(client, login, setup):
    workspace, users, key = setup
    login(users["manager"])
    base = f"/w/{workspace.id}/settings/api-keys/{key.id}"
    for action, button in (("revoke", "Revoke key"), ("delete", "Delete permanently"),
                           ("regenerate", "Regenerate key")):
        html = client.get(f"{base}/{action}").get_data(as_text=True)
        assert "<html" in html and button in html and f'action="{base}/{action}"' in html
    response = client.post(base + "/revoke", follow_redirects=True)
    assert "API key “Zapier” revoked." in response.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("grace, valid_for", [("none", None), ("1h", timedelta(hours=1)),
                                              ("24h", timedelta(hours=24)),
                                              ("7d", timedelta(days=7))])
def test_regenerate_with_each_grace_period(client, login, setup, htmx, grace, valid_for):
    workspace, users, key = setup
    services.end_grace(key)
    db.session.commit()
    old_hash = key.key_hash
    login(users["manager"])
    response = client.post(f"/w/{workspace.id}/settings/api-keys/{key.id}/regenerate",
                           data={"grace": grace}, headers=HX if htmx else {},
                           follow_redirects=not htmx)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    plaintext = KEY_IN_HTML.search(html).group(1)
    db.session.expire_all()
    key = db.session.get(ApiKey, key.id)
    assert key.key_hash == keystring.digest(plaintext) != old_hash
    if valid_for is None:
        assert key.previous_key_hash is None
    else:
        assert key.previous_key_hash == old_hash
        assert abs(key.previous_key_expires_at - (utcnow() + valid_for)) < timedelta(minutes=1)
    if htmx:
        assert f'<tr id="key-row-{key.id}" hx-swap-oob="true">' in html  # the row updates too


def test_regenerate_rejects_an_unknown_grace_period(client, login, setup):
    workspace, users, key = setup
    before = snapshot(key.id)
    login(users["manager"])
    response = client.post(f"/w/{workspace.id}/settings/api-keys/{key.id}/regenerate",
                           data={"grace": "forever"}, headers=HX)
    assert response.status_code == 422
    assert "Choose one of the offered grace periods." in response.get_data(as_text=True)
    assert snapshot(key.id) == before


def test_end_grace_now(client, login, setup):
    workspace, users, key = setup
    login(users["manager"])
    html = client.post(f"/w/{workspace.id}/settings/api-keys/{key.id}/end-grace",
                       headers=HX).get_data(as_text=True)
    assert "Old key works until" not in html
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).previous_key_hash is None


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_delete_removes_key_audit_and_request_log(client, login, setup, htmx):
    workspace, users, key = setup
    db.session.add(ApiRequestLog(api_key_id=key.id, workspace_id=workspace.id, created_at=utcnow(),
                                 method="GET", path="/api/v1/me", status=200))
    db.session.commit()
    key_id = key.id
    login(users["owner"])
    response = client.post(f"/w/{workspace.id}/settings/api-keys/{key_id}/delete",
                           headers=HX if htmx else {})
    if htmx:
        assert response.status_code == 200 and response.get_data(as_text=True) == ""
        assert response.headers["HX-Retarget"] == f"#key-row-{key_id}"
    else:
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiKey, key_id) is None
    assert db.session.query(ApiKeyEvent).filter_by(api_key_id=key_id).count() == 0
    assert db.session.query(ApiRequestLog).filter_by(api_key_id=key_id).count() == 0
    assert client.get(f"/w/{workspace.id}/settings/api-keys/{key_id}").status_code == 404


# ---- detail page ---------------------------------------------------------------------------

def test_detail_shows_audit_requests_and_chart_in_the_workspace_timezone(client, login, make_user,
                                                                         make_org, make_key):
    owner = make_user(email="boss@example.com")
    _, workspace = make_org(owner, timezone="Asia/Tokyo")
    key, _ = make_key(workspace, ["read"], name="Zapier", actor=owner)
    services.update_key(key, "Zapier prod", ["read"], None, True, actor=owner)
    now = utcnow()
    for i, status in enumerate((200, 201, 404)):
        db.session.add(ApiRequestLog(api_key_id=key.id, workspace_id=workspace.id,
                                     created_at=now - timedelta(days=i), method="GET",
                                     path=f"/api/v1/contacts/{i}", status=status,
                                     client_ip="203.0.113.9", user_agent="Zapier/1.0"))
    db.session.commit()
    login(owner)
    html = client.get(f"/w/{workspace.id}/settings/api-keys/{key.id}").get_data(as_text=True)
    assert "Name: Zapier → Zapier prod" in html and "boss@example.com" in html
    assert "JST" in html  # times in the workspace timezone
    assert "/api/v1/contacts/2" in html and "203.0.113.9" in html and "Zapier/1.0" in html
    assert html.count("<rect") == 14 and "3 requests" in html


def test_detail_empty_states(client, login, setup):
    workspace, users, key = setup
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys/{key.id}").get_data(as_text=True)
    assert "No requests yet" in html and "No requests in the last 14 days" in html


def test_detail_lists_only_the_last_50_requests(client, login, setup):
    workspace, users, key = setup
    now = utcnow()
    db.session.add_all(ApiRequestLog(api_key_id=key.id, workspace_id=workspace.id,
                                     created_at=now - timedelta(minutes=i), method="GET",
                                     path=f"/api/v1/r{i:03d}", status=200) for i in range(60))
    db.session.commit()
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys/{key.id}").get_data(as_text=True)
    assert "/api/v1/r000<" in html and "/api/v1/r049<" in html and "/api/v1/r050<" not in html


# ---- CSRF and purge ------------------------------------------------------------------------

class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @pytest.mark.parametrize("method, suffix, data", [a for a in ACTIONS if a[0] == "POST"],
                             ids=[i for a, i in zip(ACTIONS, ACTION_IDS) if a[0] == "POST"])
    def test_posts_without_a_csrf_token_are_refused(self, client, login, setup, method, suffix, data):
        workspace, users, key = setup
        before = snapshot(key.id)
        login(users["owner"])
        response = call(client, workspace, key, method, suffix, data, HX)
        assert response.status_code == 400
        assert snapshot(key.id) == before
        assert db.session.query(ApiKey).count() == 1


def test_keys_revoked_30_days_ago_are_purged_by_the_background_round(app, client, login, setup,
                                                                     make_key):
    workspace, users, _ = setup
    stale, _ = make_key(workspace, ["read"], name="Stale")
    services.revoke_key(stale)
    stale.revoked_at = utcnow() - timedelta(days=30, minutes=1)
    db.session.commit()
    stale_id = stale.id
    login(users["manager"])
    # No request purges on its own path (a page no more than an API call): the process's
    # background thread does, whatever the process serves.
    assert "Stale" in client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    jobs.run_periodic_once(app)
    html = client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    assert "Stale" not in html
    db.session.expire_all()
    assert db.session.get(ApiKey, stale_id) is None
    # At most once per interval: a key going stale right after waits for the next round.
    later, _ = make_key(workspace, ["read"], name="Later")
    services.revoke_key(later)
    later.revoked_at = utcnow() - timedelta(days=31)
    db.session.commit()
    later_id = later.id
    jobs.run_periodic_once(app)
    assert db.session.get(ApiKey, later_id) is not None
    app.extensions["sureapp_key_purge"]["next"] = 0.0  # the interval has passed
    jobs.run_periodic_once(app)
    db.session.expire_all()
    assert db.session.get(ApiKey, later_id) is None


# ---- a change that lost a race ---------------------------------------------------------------

VERSION_IN_FORM = re.compile(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"')


def version_shown(html: str) -> str:
    match = VERSION_IN_FORM.search(html)
    assert match, "every key-changing form carries the key's version"
    return match.group(1) or match.group(2)


# (dialog or page that shows the form, action posted from it, form data besides the version)
FORMS = [("/{key}/revoke", "/{key}/revoke", {}),
         ("/{key}/regenerate", "/{key}/regenerate", {"grace": "1h"}),
         ("/{key}/edit", "/{key}", {"name": "Renamed", "abilities": ["read"], "active": "y"}),
         ("/{key}/delete", "/{key}/delete", {}),
         ("/{key}/end-grace", "/{key}/end-grace", {})]  # "End now" asks first


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("shown, posted, data", FORMS, ids=[f[1] for f in FORMS])
def test_a_change_that_lost_a_race_says_so_and_changes_nothing(client, login, setup, htmx,
                                                                shown, posted, data):
    workspace, users, key = setup
    login(users["manager"])
    page = call(client, workspace, key, "GET", shown, None, HX if htmx and shown != "/{key}" else None)
    version = version_shown(page.get_data(as_text=True))
    services.update_key(key, "Changed by someone else", ["read"], None, True)  # meanwhile
    db.session.commit()
    before = snapshot(key.id)
    response = call(client, workspace, key, "POST", posted, {**data, "version": version},
                    HX if htmx else None)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This key changed meanwhile" in html and "Reload" in html
    assert "Changed by someone else" in html  # the key as it is now
    assert snapshot(key.id) == before
    if htmx:
        assert response.headers["HX-Retarget"] == "#modal-root"
        assert f'<tr id="key-row-{key.id}" hx-swap-oob="true">' in html  # its row refreshed
    else:
        assert "<html" in html


def test_a_change_posted_with_the_current_version_applies(client, login, setup):
    workspace, users, key = setup
    login(users["manager"])
    version = version_shown(call(client, workspace, key, "GET", "/{key}/revoke", None, HX)
                            .get_data(as_text=True))
    response = call(client, workspace, key, "POST", "/{key}/revoke", {"version": version}, HX)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).status == "revoked"


@pytest.mark.parametrize("version", ["abc", "-1", "1e3", "9" * 40])
def test_a_malformed_version_is_a_conflict_not_a_crash(client, login, setup, version):
    workspace, users, key = setup
    before = snapshot(key.id)
    login(users["manager"])
    response = call(client, workspace, key, "POST", "/{key}/revoke", {"version": version}, HX)
    assert response.status_code == 409
    assert snapshot(key.id) == before


def test_the_confirm_dialogs_are_the_one_confirm_body_and_remember_the_key_page(client, login,
                                                                                 setup):
    """Revoke from a key's own page: the shared _confirm.html carries the version it showed and
    return_to, cancels back to that page, and the no-JS post lands there; under htmx its answer
    replaces the key's row."""
    workspace, users, key = setup
    login(users["manager"])
    base = f"/w/{workspace.id}/settings/api-keys/{key.id}"
    dialog = client.get(f"{base}/revoke?return_to=detail").get_data(as_text=True)
    assert f'hx-post="{base}/revoke" hx-target="#key-row-{key.id}" hx-swap="outerHTML"' in dialog
    assert f'name="version" type="hidden" value="{key.version}"' in dialog
    assert '<input type="hidden" name="return_to" value="detail">' in dialog
    assert f'<a class="btn" href="{base}">Cancel</a>' in dialog
    assert f"Key <code>{key.masked}</code>" in dialog and "btn btn-danger" in dialog
    done = client.post(f"{base}/revoke", data={"version": key.version, "return_to": "detail"})
    assert done.status_code == 302 and done.headers["Location"] == base
    assert snapshot(key.id)[2] == "revoked"
    from_table = client.get(f"{base}/activate").get_data(as_text=True)
    assert 'name="return_to"' not in from_table and "btn btn-primary" in from_table
    assert f'<a class="btn" href="/w/{workspace.id}/settings/api-keys">Cancel</a>' in from_table
