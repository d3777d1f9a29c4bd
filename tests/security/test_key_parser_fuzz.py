"""Property-based tests of the key parser at the HTTP boundary: whatever arrives in X-API-Key or
Authorization, the answer is a 401/400 problem (never a 500, never the presented value echoed),
and a malformed string never costs a database query (brute force is hopeless by construction).

Values go straight into the WSGI environ, as a server would pass them, so NUL bytes, control
characters and non-ASCII reach the app unfiltered by the test client.
"""
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sureapp.keys import keystring

from tests.conftest import driver_statements

from .conftest import sqlite_only

backend = sqlite_only()  # nothing here depends on the database engine

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def app_config():
    # The failed-authentication throttle is tested in test_abuse_limits; here it would only
    # turn later examples into 429s.
    return {"API_AUTH_FAILURE_LIMIT": "1000000 per minute"}


@pytest.fixture
def client(app):
    """A client past the app's first request: that one runs hourly housekeeping (the revoked
    key purge), which would be counted as the key check's queries."""
    client = app.test_client()
    client.get("/healthz")
    return client


def as_wsgi(value: str) -> str:
    """What a server puts in the environ for these header bytes (PEP 3333: latin-1 str)."""
    return value.encode("utf-8", "surrogatepass").decode("latin-1")


def mutate(key: str, data) -> str:
    """A valid key with one character changed: right shape, wrong checksum."""
    i = data.draw(st.integers(0, len(key) - 1))
    replacement = data.draw(st.sampled_from(keystring.ALPHABET).filter(lambda c: c != key[i]))
    return key[:i] + replacement + key[i + 1:]


header_values = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=120),
    st.text(alphabet=keystring.ALPHABET, min_size=55, max_size=65),
    st.builds(lambda n: "sure" + "A" * n, st.integers(0, 100)),
    st.builds(lambda s: s * 2000, st.text(min_size=1, max_size=50)),  # very long
    st.sampled_from(["", " ", "\x00", "sure\x00" + "a" * 55, "Bearer", "null", "undefined"]),
)


def call_me(client, environ: dict):
    return client.get("/api/v1/me", environ_overrides=environ)


def assert_rejected_cleanly(response, presented: str):
    # Whatever the header holds, a key that cannot be used is one answer: 401 with its challenge.
    assert response.status_code == 401, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 401 and body["title"] and body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if len(presented.strip()) >= 8:
        assert presented.strip() not in response.get_data(as_text=True), "echoed the key"


@FUZZ
@given(value=header_values)
@example(value="sure" + "0" * 56)
@example(value="\x00" * 60)
@example(value="ß" * 60)
def test_any_x_api_key_value_is_a_clean_401_without_a_query_when_malformed(client, value):
    candidate = as_wsgi(value)
    with driver_statements() as statements:
        response = call_me(client, {"HTTP_X_API_KEY": candidate})
    assert_rejected_cleanly(response, candidate)
    if not keystring.is_well_formed(candidate.strip()):
        assert len(statements) == 0, "a malformed key must be rejected before any database query"


@FUZZ
@given(scheme=st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "", "Bearer\t"]),
       value=header_values)
def test_any_authorization_header_is_a_clean_401_without_a_query_when_malformed(client, scheme,
                                                                                 value):
    candidate = as_wsgi(f"{scheme} {value}" if scheme else value)
    with driver_statements() as statements:
        response = call_me(client, {"HTTP_AUTHORIZATION": candidate})
    assert_rejected_cleanly(response, value)
    token = candidate.strip().partition(" ")[2].strip()
    if not keystring.is_well_formed(token):
        assert len(statements) == 0


@FUZZ
@given(data=st.data())
def test_a_key_with_a_single_typo_never_reaches_the_database(client, api_keys, data):
    typo = mutate(api_keys["all"], data)
    with driver_statements() as statements:
        response = call_me(client, {"HTTP_X_API_KEY": typo})
    assert_rejected_cleanly(response, typo)
    assert len(statements) == 0


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(other=header_values, order=st.booleans())
def test_two_different_keys_at_once_are_refused_even_if_one_is_valid(client, api_keys, other, order):
    valid = api_keys["read"]
    other = as_wsgi(other)
    if other.strip() == valid:
        return
    environ = ({"HTTP_X_API_KEY": valid, "HTTP_AUTHORIZATION": f"Bearer {other}"} if order
               else {"HTTP_X_API_KEY": other, "HTTP_AUTHORIZATION": f"Bearer {valid}"})
    response = call_me(client, environ)
    assert_rejected_cleanly(response, valid)


def test_the_same_key_in_both_headers_is_accepted(client, api_keys):
    """Control: the properties above are about bad input, not about refusing everything."""
    key = api_keys["read"]
    response = call_me(client, {"HTTP_X_API_KEY": key, "HTTP_AUTHORIZATION": f"Bearer {key}"})
    assert response.status_code == 200
    with driver_statements() as statements:
        assert call_me(client, {"HTTP_X_API_KEY": key}).status_code == 200
    assert len(statements) >= 1  # the counter does see the lookup of a well-formed key
