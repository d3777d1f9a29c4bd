"""Security headers on pages and API responses, no-store for anything private, Secure cookies
over HTTPS (directly or behind a TLS-terminating proxy)."""
import re
from pathlib import Path

import pytest

from .conftest import key_headers, sqlite_only

backend = sqlite_only()  # nothing here depends on the database engine

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_common_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert csp_directives(response)["frame-ancestors"] == ["'none'"]


def test_html_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_common_headers(response)
    csp = csp_directives(response)
    assert csp["script-src"] == ["'self'"], "no inline scripts, no eval, no third-party scripts"
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]


def test_api_responses_carry_the_headers_and_a_deny_all_policy(client):
    for response in (client.get("/api/v1/openapi.json"), client.get("/api/v1/me")):
        assert_common_headers(response)
        assert csp_directives(response)["default-src"] == ["'none'"]


def test_error_pages_carry_the_headers_too(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_common_headers(response)


def test_signed_in_pages_are_never_cached(client, login, owner_workspace):
    owner, _, workspace = owner_workspace
    login(owner)
    response = client.get(f"/w/{workspace.id}/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_anonymous_login_page_is_not_forced_to_no_store(client):
    # Not private, so not our business; this guards the rule from becoming "everything".
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")


def test_key_authenticated_api_responses_are_never_cached(client, api_keys):
    response = client.get("/api/v1/me", headers=key_headers(api_keys["read"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_a_view_that_shows_a_secret_is_no_store_whatever_its_type(app):
    from sureapp.security import shows_secret

    @app.get("/_test/secret.txt")
    def secret_text():
        shows_secret()
        return "sure0000", 200, {"Content-Type": "text/plain", "Cache-Control": "max-age=600"}

    response = app.test_client().get("/_test/secret.txt")
    assert response.headers["Cache-Control"] == "no-store"


def _session_cookie_headers(response) -> list[str]:
    return [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]


def _post_login(client, user, **kwargs):
    from tests.conftest import PASSWORD

    return client.post("/login", data={"email": user.email, "password": PASSWORD}, **kwargs)


def test_cookies_over_plain_http_are_not_marked_secure(client, make_user):
    response = _post_login(client, make_user())
    assert response.status_code == 302
    cookies = _session_cookie_headers(response)
    assert cookies and all("Secure" not in c for c in cookies)
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies)


def test_cookies_over_https_are_secure(client, make_user):
    response = _post_login(client, make_user(), base_url="https://localhost")
    cookies = _session_cookie_headers(response)
    assert cookies and all(re.search(r";\s*Secure", c) for c in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("app_config", [{"PROXY_FIX_X_PROTO": 1, "PROXY_FIX_X_FOR": 1}])
def test_cookies_are_secure_behind_a_tls_terminating_proxy(client, make_user, app_config):
    response = _post_login(client, make_user(), headers={"X-Forwarded-Proto": "https"})
    cookies = _session_cookie_headers(response)
    assert cookies and all(re.search(r";\s*Secure", c) for c in cookies)


def test_forwarded_proto_is_ignored_without_a_trusted_proxy(client, make_user):
    # A client can't talk the app into thinking it's on HTTPS (and thus into HSTS etc.).
    response = _post_login(client, make_user(), headers={"X-Forwarded-Proto": "https"})
    assert all("Secure" not in c for c in _session_cookie_headers(response))
    assert "Strict-Transport-Security" not in response.headers


# ---- templates stay compatible with the policy ------------------------------------------------

INLINE_PATTERNS = {
    "inline <script> (no src)": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "on*= event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on (needs eval)": re.compile(r"\s(data-)?hx-on", re.I),
    "hx-vars / js: hx-vals (needs eval)": re.compile(r"hx-vars|hx-vals\s*=\s*['\"]\s*js:", re.I),
}


def test_no_template_needs_unsafe_inline():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for label, pattern in INLINE_PATTERNS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(TEMPLATES)}:{line}: {label}")
    assert not offenders, "blocked by the CSP:\n" + "\n".join(offenders)


def test_htmx_is_configured_to_need_neither_inline_styles_nor_eval():
    base = (TEMPLATES / "base.html").read_text()
    config = re.search(r'name="htmx-config" content=\'([^\']*)\'', base).group(1)
    assert '"includeIndicatorStyles": false' in config
    assert '"allowEval": false' in config
