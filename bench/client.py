"""Small HTTP helpers for scenarios: JSON requests and a browser-like login (session cookie)."""
import json
import re
from http.cookies import SimpleCookie
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, Request, build_opener

_CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = build_opener(_NoRedirect)


def request(method: str, url: str, headers: dict | None = None, body: bytes | None = None,
            timeout: float = 60):
    """(status, headers, body bytes); HTTP errors are answers here, not exceptions."""
    try:
        with _opener.open(Request(url, data=body, method=method, headers=headers or {}),
                          timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except HTTPError as error:
        return error.code, error.headers, error.read()


def request_json(method: str, url: str, headers: dict | None = None, payload=None):
    body = None if payload is None else json.dumps(payload).encode()
    all_headers = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    status, _, data = request(method, url, all_headers, body)
    return status, (json.loads(data) if data else None)


def _cookies(headers, jar: dict) -> dict:
    for header in headers.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(header).items():
            jar[name] = morsel.value
    return jar


def login(base_url: str, email: str, password: str) -> str:
    """Log in through the real form (CSRF token and all); returns a Cookie header value."""
    status, headers, page = request("GET", f"{base_url}/login")
    jar = _cookies(headers, {})
    match = _CSRF_FIELD.search(page.decode())
    form = {"email": email, "password": password}
    if match:
        form["csrf_token"] = match.group(1) or match.group(2)
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, headers, _ = request(
        "POST", f"{base_url}/login", {"Cookie": cookie,
                                      "Content-Type": "application/x-www-form-urlencoded"},
        urlencode(form).encode())
    jar = _cookies(headers, jar)
    if status != 302 or "session" not in jar:
        raise RuntimeError(f"login failed with status {status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())
