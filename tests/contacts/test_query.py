"""One contact query everywhere: the Contacts page, GET /api/v1/contacts and the MCP
`list_contacts` tool give the same contacts in the same order, page by page, for the same
filter — and `search` means one thing (README "Searching contacts")."""
import html
import json
import re
from datetime import datetime

import pytest

from sureapp.contacts import browse
from sureapp.extensions import db
from sureapp.keys.services import create_key

PAGE = 4  # small pages, so every query below crosses page boundaries

PEOPLE = [  # first, last, email, company, status, created_at (UTC), in list, tagged
    ("Ana", "Lima", "ana.lima@example.com", "Acme", "active", "2026-11-12T09:00:00", True, True),
    ("Ana", "Souza", "asouza@example.org", "ACME Labs", "bounced", "2026-11-12T09:00:00", True, False),
    ("Mariana", "Lima", "mlima@example.com", "Lima Foods", "active", "2026-11-10T00:00:00", False, True),
    ("Anabela", "Limão", "anabela@example.net", "100% Natural", "pending", "2026-11-09T23:59:59", True, True),
    ("Bruno", "Costa", "bruno@acme.example", "", "active", "2026-11-08T12:00:00", False, False),
    ("Lima", "Ana", "reversed@example.com", "Tiana Ltd", "unsubscribed", "2026-11-12T09:00:00", True, True),
    ("", "", "no.name@example.com", "", "active", "2026-11-11T08:30:00", False, True),
    ("Cláudia", "Lima", "claudia@example.com", "", "bounced", "2026-11-07T07:00:00", True, False),
    ("Diana", "Lima-Reis", "diana@example.com", "acme", "active", "2026-11-13T10:00:00", True, True),
    ("Ana Lima", "Filho", "filho@example.com", "", "active", "2026-11-12T09:00:00", False, False),
    ("Zé", "Ninguém", "ze_n@example.com", "50% Off", "active", "2026-11-06T06:00:00", False, False),
]


@pytest.fixture
def data(ws, make_contact, make_list, make_tag):
    workspace, users = ws
    contacts = []
    for first, last, email, company, status, created, *_ in PEOPLE:
        contact = make_contact(workspace, email=email, first_name=first, last_name=last,
                               company=company, status=status)
        contact.created_at = datetime.fromisoformat(created)  # four share 09:00: ids break ties
        contacts.append(contact)
    db.session.commit()
    members = [c for c, p in zip(contacts, PEOPLE) if p[6]]
    tagged = [c for c, p in zip(contacts, PEOPLE) if p[7]]
    lst = make_list(workspace, name="Customers", members=members)
    tag = make_tag(workspace, name="VIP", members=tagged)
    _, key = create_key(workspace, "cross-surface", ["read"], actor_label="test")
    db.session.commit()
    return workspace, users, {c.email: str(c.id) for c in contacts}, lst, tag, key


def _queries(lst, tag):
    """(name, UI arguments, API/MCP arguments): the same question in each surface's words."""
    return [
        ("everything", {}, {}),
        ("full name", {"q": "ana lima"}, {"search": "ana lima"}),
        ("full name, odd spacing and case", {"q": "  ANA   lima "}, {"search": "  ANA   lima "}),
        ("one word, any field", {"q": "lima"}, {"search": "lima"}),
        ("company, any case", {"q": "ACME"}, {"search": "ACME"}),
        ("email", {"q": "example.org"}, {"search": "example.org"}),
        ("percent is literal", {"q": "50%"}, {"search": "50%"}),
        ("underscore is literal", {"q": "e_n"}, {"search": "e_n"}),
        ("status", {"status": "bounced"}, {"status": "bounced"}),
        ("list", {"list": str(lst.id)}, {"list_id": str(lst.id)}),
        ("tag", {"tag": str(tag.id)}, {"tag_id": str(tag.id)}),
        # The UI's "Created since" is a day in the workspace timezone (UTC here): every contact
        # from its first instant on, which the API says as "after the microsecond before".
        ("created since", {"since": "2026-11-10"}, {"created_after": "2026-11-09T23:59:59.999999Z"}),
        ("everything at once", {"q": "lima", "status": "active", "list": str(lst.id),
                                "tag": str(tag.id), "since": "2026-11-10"},
         {"search": "lima", "status": "active", "list_id": str(lst.id), "tag_id": str(tag.id),
          "created_after": "2026-11-09T23:59:59.999999Z"}),
    ]


ROW_ID = re.compile(r'id="contact-row-([0-9a-f-]{36})"')
NEXT_LINK = re.compile(r'href="([^"]+)"[^>]*rel="next"')


def _ui_pages(client, workspace, args) -> list[list[str]]:
    pages = []
    url = f"/w/{workspace.id}/contacts"
    response = client.get(url, query_string=args, headers={"HX-Request": "true"})
    for _ in range(20):
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        pages.append(ROW_ID.findall(body))
        link = NEXT_LINK.search(body)
        if link is None:
            return pages
        response = client.get(html.unescape(link.group(1)), headers={"HX-Request": "true"})
    raise AssertionError("the UI never reached a last page")


def _api_pages(client, key, args) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(20):
        params = {**args, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/contacts", query_string=params, headers={"X-API-Key": key})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        pages.append([c["id"] for c in body["data"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the API never reached a last page")


def _mcp_pages(client, key, args) -> list[list[str]]:
    pages, cursor = [], None
    for number in range(20):
        arguments = {**args, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
        response = client.post("/mcp", data=json.dumps({
            "jsonrpc": "2.0", "id": number, "method": "tools/call",
            "params": {"name": "list_contacts", "arguments": arguments}}), headers={
            "X-API-Key": key, "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"})
        assert response.status_code == 200
        result = response.get_json()["result"]
        assert not result["isError"], result
        pages.append([c["id"] for c in result["structuredContent"]["data"]])
        cursor = result["structuredContent"]["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("MCP never reached a last page")


def test_the_page_the_api_and_mcp_give_the_same_contacts_in_the_same_order(
        data, client, login, monkeypatch):
    workspace, users, _, lst, tag, key = data
    monkeypatch.setattr(browse, "PAGE_SIZE", PAGE)
    login(users["member"])
    for name, ui_args, api_args in _queries(lst, tag):
        ui = _ui_pages(client, workspace, ui_args)
        assert ui == _api_pages(client, key, api_args), name
        assert ui == _mcp_pages(client, key, api_args), name


def test_what_search_and_filters_find(data, client, login):
    """The meaning the three surfaces share, spelled out (a few cases of the README's rule)."""
    workspace, users, ids, lst, tag, key = data

    def found(**args):
        got = [c for page in _api_pages(client, key, args) for c in page]
        return {email for email, cid in ids.items() if cid in got}

    # "first last" is found inside the full name (so Mariana Lima too); the words in the
    # other order are not.
    assert found(search="ana lima") == {"ana.lima@example.com", "filho@example.com",
                                        "mlima@example.com", "diana@example.com"}
    assert found(search="lima ana") == {"reversed@example.com"}
    assert found(search="acme") == {"ana.lima@example.com", "asouza@example.org",
                                    "bruno@acme.example", "diana@example.com"}
    assert found(search="50%") == {"ze_n@example.com"}
    assert found(created_after="2026-11-12T09:00:00Z") == {"diana@example.com"}
    # Newest first, the id breaking ties between the four created at the same instant.
    everything = [c for page in _api_pages(client, key, {}) for c in page]
    created = {cid: p[5] for p in PEOPLE for email, cid in ids.items() if email == p[2]}
    assert [created[c] for c in everything] == sorted(created.values(), reverse=True)
    tied = [c for c in everything if created[c] == "2026-11-12T09:00:00"]
    assert tied == sorted(tied, reverse=True)


def test_updated_after_finds_what_changed_the_same_on_the_api_and_mcp(data, client):
    """Polling for changes: `updated_after` (ContactFilter) through the API and the MCP tool."""
    workspace, users, ids, lst, tag, key = data
    from sqlalchemy import update

    from sureapp.models import Contact

    db.session.execute(update(Contact).values(updated_at=datetime(2026, 11, 20, 12, 0)))
    db.session.commit()
    headers = {"X-API-Key": key}
    full_key = create_key(workspace, "writer", ["read", "write"], actor_label="test")[1]
    db.session.commit()
    changed = client.patch(f"/api/v1/contacts/{ids['bruno@acme.example']}",
                           json={"company": "Costa SA"}, headers={"X-API-Key": full_key})
    assert changed.status_code == 200
    since = "2026-11-20T12:00:00Z"  # exclusive: the untouched ones sit exactly on it
    assert _api_pages(client, key, {"updated_after": since}) == [[ids["bruno@acme.example"]]]
    assert _mcp_pages(client, key, {"updated_after": since}) == [[ids["bruno@acme.example"]]]
    # With other filters, all must hold; an offset is converted to UTC.
    assert _api_pages(client, key, {"updated_after": "2026-11-20T14:00:00+02:00",
                                    "status": "bounced"}) == [[]]
    after_change = changed.get_json()["updated_at"]
    assert _api_pages(client, key, {"updated_after": after_change}) == [[]]
    bad = client.get("/api/v1/contacts?updated_after=yesterday", headers=headers)
    assert bad.status_code == 422 and "updated_after" in bad.get_json()["errors"]
