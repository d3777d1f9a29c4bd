"""The create/edit panel's abilities (All resources or the resource × ability grid) and allowed
addresses, and what the table and the key page show. Crafted posts cannot grant what the form
would not: the service refuses anything outside the grammar, and the chosen access decides."""
import pytest

from sureapp.extensions import db
from sureapp.keys import services
from sureapp.models import ApiKey, ApiKeyEvent

from .test_views import HX

pytestmark = pytest.mark.usefixtures("logged_in")


@pytest.fixture
def workspace(workspace_with_roles):
    return workspace_with_roles[0]


@pytest.fixture
def logged_in(workspace_with_roles, login):
    login(workspace_with_roles[1]["manager"])


def _keys_url(workspace, suffix=""):
    return f"/w/{workspace.id}/settings/api-keys{suffix}"


def _stored():
    db.session.expire_all()
    return sorted((k.name, k.abilities, k.allowed_ips) for k in db.session.query(ApiKey))


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_create_a_restricted_key(client, workspace, htmx):
    # Without JavaScript both sets of boxes are posted: the chosen access decides.
    response = client.post(_keys_url(workspace), headers=HX if htmx else {}, data={
        "name": "Form plugin", "key_type": "api", "access": "restricted",
        "scopes": ["lists:write", "contacts:read"], "abilities": ["read", "write", "delete"],
        "allowed_ips": "203.0.113.0/24\n2001:DB8::/32"}, follow_redirects=not htmx)
    assert response.status_code == 200, response.get_data(as_text=True)  # no JS: the show-once page
    assert _stored() == [("Form plugin", "contacts:read,lists:write",
                          "203.0.113.0/24,2001:db8::/32")]


def test_all_resources_ignores_the_grid(client, workspace):
    client.post(_keys_url(workspace), data={"name": "Zapier", "key_type": "api",
                                            "access": "all", "abilities": ["read"],
                                            "scopes": ["contacts:delete"]})
    assert _stored() == [("Zapier", "read", "")]


@pytest.mark.parametrize("data, message", [
    ({"access": "restricted", "scopes": ["contacts:admin"]},
     "Unknown ability &#39;admin&#39; in &#39;contacts:admin&#39;"),
    ({"access": "restricted", "scopes": ["key:read"]}, "Unknown resource &#39;key&#39;"),
    ({"access": "restricted", "scopes": ["everything"]}, "Unknown ability &#39;everything&#39;"),
    ({"access": "restricted", "abilities": ["read"]}, "Choose at least one ability."),
    ({"access": "all", "scopes": ["contacts:read"]}, "Choose at least one ability."),
    ({"access": "root", "abilities": ["read"], "scopes": ["contacts:read"]},
     "Choose at least one ability."),
    ({"access": "all", "abilities": ["read"], "allowed_ips": "10.0.0.1/8"},
     "did you mean 10.0.0.0/8?"),
    ({"access": "all", "abilities": ["read"], "allowed_ips": "intranet"},
     "&#39;intranet&#39; is not an IPv4/IPv6 address or CIDR range"),
])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_crafted_posts_are_refused_inline_and_write_nothing(client, workspace, data, message,
                                                           htmx):
    response = client.post(_keys_url(workspace), headers=HX if htmx else {},
                           data={"name": "Crafted", "key_type": "api", **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _stored() == []


def test_the_edit_panel_shows_the_grid_of_a_restricted_key(client, workspace):
    key, _ = services.create_key(workspace, "Reporter", ["contacts:read", "reports:read"],
                                 allowed_ips="198.51.100.7")
    db.session.commit()
    html = client.get(_keys_url(workspace, f"/{key.id}/edit")).get_data(as_text=True)
    assert 'id="access-restricted" data-access\n        checked' in html
    assert 'value="contacts:read" id="scope-contacts-read"' in html
    checked = [s for s in ("contacts:read", "reports:read", "contacts:write", "lists:read")
               if f'value="{s}" id="scope-{s.replace(":", "-")}"\n            aria-label' in html
               and _is_checked(html, s)]
    assert checked == ["contacts:read", "reports:read"]
    assert "198.51.100.7</textarea>" in html
    assert "<legend>Abilities</legend>" in html and 'aria-label="Write Contacts"' in html


def _is_checked(html: str, scope: str) -> bool:
    start = html.index(f'value="{scope}"')
    return "checked" in html[start:html.index(">", start)]


def test_saving_a_mixed_key_untouched_keeps_its_abilities(client, workspace):
    """read + contacts:write shows as the grid with read ticked everywhere; saving it as shown
    keeps `read` (which also covers resources added later) and records no change."""
    key, _ = services.create_key(workspace, "Mixed", ["read", "contacts:write"])
    db.session.commit()
    html = client.get(_keys_url(workspace, f"/{key.id}/edit")).get_data(as_text=True)
    shown = [s for s in ("contacts:read", "webhooks:read", "contacts:write", "lists:write")
             if _is_checked(html, s)]
    assert shown == ["contacts:read", "webhooks:read", "contacts:write"]
    grid = [f"{r}:read" for r in ("contacts", "lists", "tags", "campaigns", "automations",
                                  "reports", "webhooks")] + ["contacts:write"]
    response = client.post(_keys_url(workspace, f"/{key.id}"), data={
        "name": "Mixed", "access": "restricted", "scopes": grid, "active": "y",
        "version": str(key.version)})
    assert response.status_code == 302
    assert _stored() == [("Mixed", "read,contacts:write", "")]
    assert db.session.query(ApiKeyEvent).filter_by(action="edited").count() == 0


def test_editing_scopes_and_addresses_is_audited(client, workspace):
    key, _ = services.create_key(workspace, "Zapier", ["read", "write"])
    db.session.commit()
    response = client.post(_keys_url(workspace, f"/{key.id}"), headers=HX, data={
        "name": "Zapier", "access": "restricted", "scopes": ["contacts:read"], "active": "y",
        "allowed_ips": "2001:db8::1, 203.0.113.9", "version": str(key.version)})
    assert response.status_code == 200
    assert "Read · Contacts" in response.get_data(as_text=True)  # the row's badge
    assert _stored() == [("Zapier", "contacts:read", "203.0.113.9,2001:db8::1")]
    [event] = db.session.query(ApiKeyEvent).filter_by(action="edited").all()
    assert event.changes == {
        "abilities": {"from": "read,write", "to": "contacts:read"},
        "allowed_ips": {"from": "", "to": "203.0.113.9,2001:db8::1"}}
    page = client.get(_keys_url(workspace, f"/{key.id}")).get_data(as_text=True)
    assert "Allowed ips: any address → 203.0.113.9, 2001:db8::1" in page


def test_the_table_summarises_and_the_key_page_details(client, workspace):
    key, _ = services.create_key(workspace, "Reporter",
                                 ["contacts:read", "lists:read", "tags:read", "lists:write"])
    services.create_key(workspace, "Everything", ["read", "write"])
    db.session.commit()
    table = client.get(_keys_url(workspace)).get_data(as_text=True)
    assert 'title="Read: Contacts, Lists, Tags">Read · 3 resources' in table
    assert 'title="Write: Lists">Write · Lists' in table
    assert '<span class="badge badge-read">Read</span>' in table  # an all-resources key
    page = client.get(_keys_url(workspace, f"/{key.id}")).get_data(as_text=True)
    assert "<li>Read: Contacts, Lists, Tags</li>" in page and "<li>Write: Lists</li>" in page
    assert "Any address" in page
