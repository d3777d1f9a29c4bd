"""Property-based tests of contact input through the API: any email string, any JSON in
custom_fields (nesting, size, odd keys and values), any extra fields. The answer is 201 with
exactly what was stored, or a 4xx problem that wrote nothing; never a 500."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import Contact

from .conftest import key_headers

FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CLIENT_ERRORS = {400, 409, 413, 415, 422}

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=60))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=25)
custom_fields = st.one_of(
    st.dictionaries(st.text(max_size=70), json_scalars, max_size=60),  # flat, around the limits
    st.dictionaries(st.text(max_size=10), json_values, max_size=6),  # nested
    st.builds(lambda n, s: {f"k{i}": s for i in range(n)}, st.integers(0, 80),
              st.text(min_size=1, max_size=3).map(lambda t: t * 700)),  # wide and long
    json_values,  # not even an object
)
emails = st.one_of(
    st.emails(),
    st.emails().map(lambda e: f"  {e.upper()}  "),
    st.text(max_size=80),
    st.builds(lambda local: f"{local}@example.com", st.text(min_size=1, max_size=300)),
    st.sampled_from(["a@b", "@example.com", "a@@example.com", "a\x00b@example.com",
                     "ünïcödé@exämple.com", "x" * 250 + "@example.com", ""]),
)


@pytest.fixture
def app_config():
    return {"API_RATE_LIMIT": "1000000 per minute"}


def contact_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Contact))


def post_contact(client, key, body):
    return client.post("/api/v1/contacts", data=json.dumps(body, allow_nan=False),
                       content_type="application/json", headers=key_headers(key))


def assert_created_or_refused(client, key, body, before: int):
    response = post_contact(client, key, body)
    assert response.status_code == 201 or response.status_code in CLIENT_ERRORS, \
        (response.status_code, response.get_data()[:300])
    if response.status_code != 201:
        assert response.mimetype == "application/problem+json"
        assert contact_count() == before, "a refused request wrote something"
        return None
    created = response.get_json()
    stored = client.get(f"/api/v1/contacts/{created['id']}", headers=key_headers(key)).get_json()
    assert stored == created, "what the API answered is what it stored"
    assert created["email"] == created["email"].strip().lower()
    return created


@FUZZ
@given(email=emails)
def test_any_email_is_stored_normalized_or_refused(client, api_keys, email):
    before = contact_count()
    created = assert_created_or_refused(client, api_keys["all"], {"email": email}, before)
    if created is not None:  # normalized (trimmed, lower-case, Unicode/IDNA-normalized)
        assert created["email"].count("@") == 1 and "\x00" not in created["email"]


@FUZZ
@given(fields=custom_fields, n=st.integers(0, 10**9))
def test_any_custom_fields_are_stored_exactly_or_refused(client, api_keys, fields, n):
    before = contact_count()
    created = assert_created_or_refused(
        client, api_keys["all"], {"email": f"cf-{n}@example.com", "custom_fields": fields}, before)
    if created is not None:
        assert created["custom_fields"] == fields


@FUZZ
@given(extra=st.dictionaries(st.sampled_from(["first_name", "last_name", "phone", "company",
                                              "job_title", "status", "source", "list_ids",
                                              "tag_ids", "id", "created_at", "workspace_id",
                                              "unexpected"]),
                             json_values, max_size=5),
       n=st.integers(0, 10**9))
def test_any_other_fields_are_validated(client, api_keys, extra, n):
    before = contact_count()
    assert_created_or_refused(client, api_keys["all"], {"email": f"x-{n}@example.com", **extra},
                              before)


def test_a_contact_cannot_be_planted_in_another_workspace(client, api_keys, make_user, make_org):
    """workspace_id in the body never moves a contact out of the key's workspace."""
    _, other = make_org(make_user(), name="Other")
    response = post_contact(client, api_keys["all"], {"email": "plant@example.com",
                                                      "workspace_id": str(other.id)})
    if response.status_code == 201:
        contact = db.session.get(Contact, __import__("uuid").UUID(response.get_json()["id"]))
        assert contact.workspace_id != other.id
    else:
        assert response.status_code == 422
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Contact)
                             .where(Contact.workspace_id == other.id)) == 0
