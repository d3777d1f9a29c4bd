"""`next=` can never send a user to another site, however the target is disguised.

The Location header is resolved the way a browser's URL parser does (WHATWG: leading/trailing
C0 controls and spaces trimmed, tabs and newlines removed anywhere, backslashes read as
slashes), which is what turns "/\\t/evil.com" into "//evil.com".
"""
import re
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD

from .conftest import sqlite_only

backend = sqlite_only()  # nothing here depends on the database engine

APP_ORIGIN = "https://app.example"
HOSTILE_TARGETS = [
    "//evil.com", "https://evil.com", "http://evil.com/path", "/\\evil.com", "\\\\evil.com",
    "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com", " //evil.com", "\x00//evil.com",
    "///evil.com", "/.//evil.com"[2:], "https:evil.com", "//evil.com@app.example",
    "/%2F/evil.com", "%2F%2Fevil.com",
]


def browser_resolve(location: str) -> str:
    """Where a browser goes for this Location (the parts of WHATWG URL parsing that matter)."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    return urljoin(APP_ORIGIN + "/login", cleaned)


def assert_stays_on_site(response):
    # Log-in and sign-up succeed with a plain 302 to where the user was going (or home).
    assert response.status_code == 302, response.status_code
    target = browser_resolve(response.headers["Location"])
    parts = urlsplit(target)
    assert (parts.scheme, parts.netloc) == ("https", "app.example"), \
        f"redirects off-site: {response.headers['Location']!r} -> {target}"


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_login_never_redirects_off_site(client, user, target):
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert_stays_on_site(response)


@pytest.mark.parametrize("target", HOSTILE_TARGETS[:6] + ["/\t/evil.com"])
def test_signup_never_redirects_off_site(client, target):
    response = client.post("/signup", query_string={"next": target}, data={
        "name": "New", "email": "new-user@example.com", "password": PASSWORD,
        "confirm": PASSWORD})
    assert_stays_on_site(response)


def test_a_same_site_next_is_honoured(client, user):
    """Control: the protection is not "ignore next= altogether"."""
    response = client.post("/login", query_string={"next": "/organizations?tab=1"},
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/organizations?tab=1"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(target="/\t/evil.com")
@example(target="/\x1f")
@given(target=st.one_of(
    st.text(alphabet=st.sampled_from("/\\:.@%\t\n\r \x00evil.comhtps?#"), max_size=24),
    st.text(max_size=40),
))
def test_safe_next_only_ever_yields_same_site_paths(app, target):
    from sureapp.auth.routes import safe_next

    result = safe_next(target)
    if result is None:
        return
    parts = urlsplit(browser_resolve(result))
    assert (parts.scheme, parts.netloc) == ("https", "app.example"), repr(target)
    assert not any(ord(c) < 0x20 or c == "\x7f" for c in result), repr(target)
