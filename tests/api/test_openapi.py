"""The OpenAPI 3.1 document: valid, complete, public, built from the validating schemas; and the
API reference page that renders it."""
import re

import pytest
from gunicorn import config as gunicorn_config
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from sureapp.contacts.schemas import CURSOR_PATTERN
from sureapp.netguard import MAX_URL_LENGTH, parse_url
from sureapp.operations import OPERATIONS
from sureapp.webhooks.schemas import URL_PATTERN
from sureapp.models import Role

from .conftest import assert_problem


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield method.lower(), re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}",
                                             rule.rule[len("/api/v1"):])


def test_every_api_route_is_documented_and_nothing_else(app, document):
    routes = set(_api_rules(app))
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented
    assert document["servers"] == [{"url": "/api/v1"}]


PUBLIC_PATHS = {"/openapi.json", "/leaked-keys"}


def test_every_operation_lists_its_problems_and_security(document):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            responses = op["responses"]
            for status, response in responses.items():
                if int(status) >= 400 and status != "414":  # 414: gunicorn's, before the app
                    assert "application/problem+json" in response["content"], (path, method)
            if path in PUBLIC_PATHS:  # no key: no 401/403 (the leak report is rate limited)
                assert op["security"] == [] and "x-required-ability" not in op
                assert "401" not in responses and "Retry-After" in responses["429"]["headers"]
                continue
            assert {"401", "403", "429"} <= set(responses), (path, method)
            assert "WWW-Authenticate" in responses["401"]["headers"]
            assert "Retry-After" in responses["429"]["headers"]
            if "{" in path:
                assert "404" in responses
            if "requestBody" in op:
                assert {"400", "413", "415", "422"} <= set(responses), (path, method)
            assert op["x-required-ability"] in ("read", "write", "delete")
            # Either header; the scope is x-required-scope (API-key schemes declare no scopes).
            assert op["security"] == [{"ApiKeyHeader": []}, {"BearerAuth": []}]
            if path == "/me":  # the key itself: any key
                assert "x-required-scope" not in op
                continue
            scope = op["x-required-scope"]
            assert scope.split(":") == [path.split("/")[1], op["x-required-ability"]], path
            assert f"**{scope}** scope" in op["description"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_request_schemas_are_the_validating_models(document):
    """Same rules as the code: unknown fields forbidden, limits as enforced."""
    schemas = document["components"]["schemas"]
    contact = schemas["ContactCreate"]
    assert contact["additionalProperties"] is False
    assert contact["required"] == ["email"]
    assert contact["properties"]["first_name"]["maxLength"] == 255
    bulk = schemas["BulkUpsert"]["properties"]["contacts"]
    assert bulk["maxItems"] == 1000 and "ContactCreate" in bulk["items"]["description"]
    limit = next(p for p in document["paths"]["/contacts"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100 and limit["in"] == "query"


def test_real_responses_match_the_documented_schemas(api, document):
    """A contact created through the API validates against the ContactOut schema, a problem
    against Problem (resolving $refs within the document)."""
    schemas = document["components"]["schemas"]

    def check(instance, name):
        schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
        Draft202012Validator(schema).validate(instance)

    list_id = api.post("/lists", json={"name": "L"}).get_json()["id"]
    created = api.post("/contacts", json={"email": "a@example.com", "list_ids": [list_id]})
    check(created.get_json(), "ContactOut")
    check(api.get("/contacts").get_json(), "ContactPage")
    check(api.get("/reports/summary").get_json(), "ReportSummary")
    check(api.get("/me").get_json(), "MeOut")
    check(api.post("/contacts", json={"bad": 1}).get_json(), "Problem")
    check(api.post("/contacts/bulk", json={"contacts": [{"email": "b@example.com"}, {}]}).get_json(),
          "BulkReport")


def test_every_declared_operation_has_a_summary_and_tag():
    for op in OPERATIONS:
        assert op.summary and op.tag, op


# ---- the reference page ------------------------------------------------------------------

def test_reference_page_renders_every_operation(client, login, owner, workspace, document):
    login(owner)
    response = client.get(f"/w/{workspace.id}/settings/api-reference")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "X-API-Key:" in page and "Authorization: Bearer" in page
    assert 'data-copy-target="#curl-example"' in page
    assert 'curl -H "X-API-Key: YOUR_API_KEY" http://localhost/api/v1/me' in page
    for path in document["paths"]:
        assert f"<code>{path}</code>" in page


def test_reference_page_is_for_managers_and_members_of_the_workspace(client, login, workspace,
                                                                    make_user, add_member,
                                                                    other_workspace):
    member = add_member(workspace, make_user(), Role.MEMBER)
    login(member)
    assert client.get(f"/w/{workspace.id}/settings/api-reference").status_code == 403
    manager = add_member(workspace, make_user(), Role.MANAGER)
    login(manager)
    assert client.get(f"/w/{workspace.id}/settings/api-reference").status_code == 200
    assert client.get(f"/w/{other_workspace.id}/settings/api-reference").status_code == 404


def test_reference_page_needs_a_login(client, workspace):
    response = client.get(f"/w/{workspace.id}/settings/api-reference")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_openapi_needs_no_key_but_other_routes_do(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert_problem(client.get("/api/v1/contacts"), 401)


@settings(max_examples=300, deadline=None)
@given(url=st.from_regex(URL_PATTERN, fullmatch=True).filter(lambda u: len(u) <= MAX_URL_LENGTH))
def test_every_webhook_url_the_document_allows_is_accepted(url):
    parse_url(url)  # the shape rule; where it resolves is checked when it is saved


@pytest.mark.parametrize("url", ["http://user@hooks.example.com/", "http://0x7f.1/",
                                 "http://2130706433/", "https://hooks.example.com/#x",
                                 "ftp://hooks.example.com/", "http://hooks.example.com:0/",
                                 "http://hooks.example.com:65536/", "http://127.1/"])
def test_webhook_urls_the_server_refuses_are_outside_the_pattern(url):
    assert re.fullmatch(URL_PATTERN, url) is None


def test_the_longest_valid_request_line_fits_gunicorns_limit(document):
    """Only an invalid request can meet gunicorn's HTML 414 (documented on every operation):
    every path id is a UUID and every query value is bounded, percent-encoded at worst."""
    limit = gunicorn_config.Config().limit_request_line
    assert limit == 4094  # what the document's 414 says (gunicorn.conf.py keeps the default)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"]["414"]["content"].keys() == {"text/html"}
            longest = len(f"{method.upper()} /api/v1{path} HTTP/1.1")
            for param in operation.get("parameters", []):
                schema = param["schema"]
                if param["in"] == "path":
                    assert schema["format"] == "uuid"
                    longest += 36 - len(param["name"]) - 2
                elif param["in"] == "query":
                    if "maxLength" in schema:  # 4 UTF-8 bytes, 3 characters each
                        ascii_only = schema.get("pattern") == CURSOR_PATTERN
                        value = schema["maxLength"] * (1 if ascii_only else 12)
                    elif "enum" in schema:
                        value = max(len(str(option)) for option in schema["enum"])
                    elif schema.get("format") in ("uuid", "date-time"):
                        value = 3 * 64
                    else:
                        assert schema["type"] == "integer", (path, param)
                        value = 17  # ±(2⁵³−1)
                    longest += len(param["name"]) + 2 + value
            assert longest < limit, (method, path, longest)
