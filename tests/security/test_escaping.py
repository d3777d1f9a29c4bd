"""Every user-supplied string is escaped wherever a page shows it, in text and in attributes.

Names of the organization, workspace, user, key, contact, list, tag, campaign and automation
all carry markup; then every GET page of the UI (read from the url_map, full page and htmx
fragment) is fetched with real ids and searched for the markup arriving unescaped.
"""
import uuid

import pytest
from werkzeug.routing import BuildError

from sureapp.extensions import db
from sureapp.keys.services import create_key

from .conftest import key_headers

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '"onmouseover="alert(2)'
TAG_IN_ATTRIBUTE = "'><img src=x onerror=alert(3)>"
PAYLOAD = f"X{SCRIPT}{ATTRIBUTE_BREAKOUT}{TAG_IN_ATTRIBUTE}"
# What would only be in the page if a payload escaped its escaping.
UNESCAPED = ("<script>alert(1)", 'onmouseover="alert(2)', "<img src=x")
SKIPPED_PREFIXES = ("/api/", "/mcp", "/static/")


@pytest.fixture
def hostile_world(app, make_user, make_org):
    """A workspace where every name a user can choose is PAYLOAD; returns ids by URL argument."""
    owner = make_user(name=PAYLOAD[:255])
    org, workspace = make_org(owner, name=PAYLOAD, workspace_name=PAYLOAD)
    key, plaintext = create_key(workspace, PAYLOAD, ["read", "write", "delete"], actor=owner)
    db.session.commit()

    client = app.test_client()
    headers = key_headers(plaintext)
    made = {}
    for name, path, body in (
        ("list", "/api/v1/lists", {"name": PAYLOAD, "description": PAYLOAD}),
        ("tag", "/api/v1/tags", {"name": PAYLOAD, "description": PAYLOAD}),
        ("campaign", "/api/v1/campaigns", {"name": PAYLOAD, "subject": PAYLOAD}),
        ("automation", "/api/v1/automations", {"name": PAYLOAD, "trigger": "contact_created"}),
    ):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, (path, response.get_json())
        made[name] = response.get_json()["id"]
    response = client.post("/api/v1/contacts", headers=headers, json={
        "email": "hostile@example.com", "first_name": PAYLOAD, "last_name": PAYLOAD,
        "company": PAYLOAD, "job_title": PAYLOAD, "source": PAYLOAD,
        "custom_fields": {"note": PAYLOAD}, "list_ids": [made["list"]], "tag_ids": [made["tag"]]})
    assert response.status_code == 201, response.get_json()
    made["contact"] = response.get_json()["id"]
    return owner, {
        "workspace_id": str(workspace.id), "org_id": str(org.id), "key_id": str(key.id),
        "contact_id": made["contact"], "list_id": made["list"], "tag_id": made["tag"],
    }


def _url_values(rule, ids: dict) -> dict:
    values = {}
    for arg in rule.arguments:
        if arg == "group_id":  # lists.* and tags.* share the argument name
            values[arg] = ids["list_id" if rule.endpoint.startswith("lists.") else "tag_id"]
        else:
            values[arg] = ids.get(arg, str(uuid.uuid4()))
    return values


def ui_pages(app, ids: dict) -> list[str]:
    from flask import url_for

    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.rule.startswith(SKIPPED_PREFIXES):
                continue
            try:
                urls.append(url_for(rule.endpoint, **_url_values(rule, ids)))
            except BuildError:
                continue
    return sorted(set(urls))


def test_no_page_lets_user_supplied_markup_through(app, client, login, hostile_world):
    owner, ids = hostile_world
    login(owner)
    leaks, rendered = [], 0
    for url in ui_pages(app, ids):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            html = response.get_data(as_text=True)  # also drains streamed bodies (CSV export)
            response.close()
            assert response.status_code < 500, (url, response.status_code)
            if response.mimetype != "text/html":
                continue
            rendered += "&lt;script&gt;alert(1)" in html
            leaks += [f"{url} {headers}: {bad!r}" for bad in UNESCAPED if bad in html]
    assert not leaks, "unescaped user input:\n" + "\n".join(leaks)
    # The names really were on the pages (escaped), so the absence above means something.
    assert rendered >= 10, rendered


def test_the_key_table_escapes_names_inside_attributes(client, login, hostile_world):
    owner, ids = hostile_world
    login(owner)
    html = client.get(f"/w/{ids['workspace_id']}/settings/api-keys").get_data(as_text=True)
    assert "&#34;onmouseover=&#34;alert(2)" in html or "&quot;onmouseover=&quot;alert(2)" in html
    assert 'onmouseover="' not in html


def test_csv_export_neutralises_formulas(client, login, hostile_world):
    """Not HTML, but the same idea for spreadsheets: a name starting with = + - @ is not run."""
    owner, ids = hostile_world
    login(owner)
    from sureapp.models import Contact

    contact = db.session.get(Contact, uuid.UUID(ids["contact_id"]))
    contact.first_name = "=HYPERLINK(\"http://evil.example\",\"x\")"
    db.session.commit()
    response = client.get(f"/w/{ids['workspace_id']}/contacts/export.csv")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert ",=HYPERLINK(" not in body and "\n=HYPERLINK(" not in body
