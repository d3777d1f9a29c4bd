"""The one builder of external links (invitations, mails; OAuth later). Never from the
request's Host header unless it is loopback: a forged `Host: evil.example` would otherwise put
the attacker's address into a link we show or mail (issue 13 finding 6)."""
from flask import current_app, has_request_context, request, url_for

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
UI_APP = "sureapp_ui_app"  # the keyed app's extensions name the UI app whose pages links open


def host_name(host: str) -> str:
    """'Example.com:8000' → 'example.com'; '[::1]:5000' → '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    return host_name(host) in LOOPBACK_HOSTS


def external_base() -> str | None:
    """scheme://host of links we hand out: PUBLIC_URL, else the request's own address when it is
    loopback (a local install), else None — no trustworthy address is known."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured
    if has_request_context() and is_loopback(request.host):
        return request.host_url.rstrip("/")
    return None


def external_url(endpoint: str, **values) -> str | None:
    """An absolute link to `endpoint` for someone outside this request; None when unknown."""
    base = external_base()
    if base is None:
        return None
    ui_app = current_app.extensions.get(UI_APP, current_app)
    if has_request_context() and ui_app is current_app:
        return base + url_for(endpoint, **values)
    # Background work (reminders, leak reports) and the keyed app (/api, /mcp: a campaign's
    # unsubscribe links) build the UI's URLs from the UI app's map.
    return base + ui_app.url_map.bind("localhost").build(endpoint, values)


def public_url_missing() -> bool:
    """The UI warns admins while this is true: links cannot be built for remote users."""
    return not current_app.config.get("PUBLIC_URL")
