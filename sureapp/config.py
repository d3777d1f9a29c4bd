"""Configuration from environment variables, with safe defaults for a single-process install."""
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit


def _secret_key(instance_path: str) -> str:
    """Use SECRET_KEY, or generate one once and keep it in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _positive_int(name: str, default: int, maximum: int | None = None) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdecimal() or int(value) < 1 or (maximum is not None and int(value) > maximum):
        most = f" and at most {maximum:,}" if maximum is not None else ""
        raise ValueError(f"{name} must be a whole number of at least 1{most} (got {value!r}).")
    return int(value)


def public_url(value: str) -> str:
    """PUBLIC_URL as an origin without a trailing slash ("" when unset); anything else that is
    not http(s)://host[:port] stops the start with a clear message."""
    value = value.strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in {"http", "https"} or not parts.hostname
            or parts.path or parts.query or parts.fragment or parts.username or parts.password):
        raise ValueError(f"PUBLIC_URL must look like https://sureapp.example.com (scheme and "
                         f"host, optional port, nothing else); got {value!r}.")
    return f"{parts.scheme}://{parts.netloc.lower()}"


# The highest rate an SMTP server may be given (a workspace connection's, SMTP_URL's).
MAX_MAILS_PER_MINUTE = 10_000

DEFAULT_WEBHOOK_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000"


def retry_schedule(value: str) -> tuple[float, ...]:
    """WEBHOOK_RETRY_SCHEDULE: seconds before each retry, comma-separated ("5,300,1800")."""
    try:
        steps = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        steps = ()
    if not steps or any(step < 0 or step != step or step == float("inf") for step in steps):
        raise ValueError("WEBHOOK_RETRY_SCHEDULE must be seconds before each retry, "
                         f"comma-separated (e.g. {DEFAULT_WEBHOOK_RETRY_SCHEDULE}); got {value!r}.")
    return steps


class Config:
    """Built once per app from the environment; nothing re-reads the environment per request."""

    def __init__(self, instance_path: str):
        self.SECRET_KEY = _secret_key(instance_path)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{Path(instance_path) / 'sureapp.db'}"
        )
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        # Namespace of every counter in the rate-limit storage (several deployments, one Redis).
        self.RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "sureapp")
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
        self.SMTP_URL = os.environ.get("SMTP_URL", "")
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "sureapp@localhost")
        # Mails per minute to contacts (campaigns, automations, confirmations) on SMTP_URL, shared
        # by every worker: the same throttle and range as a workspace connection's rate.
        self.SMTP_RATE_PER_MINUTE = _positive_int("SMTP_RATE_PER_MINUTE", 60,
                                                  maximum=MAX_MAILS_PER_MINUTE)
        # Workspace SMTP servers on loopback/private addresses (an intranet relay; tests).
        self.SMTP_ALLOW_PRIVATE_HOSTS = _bool("SMTP_ALLOW_PRIVATE_HOSTS", False)
        self.REQUEST_LOG_RETENTION_DAYS = int(os.environ.get("REQUEST_LOG_RETENTION_DAYS", "90"))
        # The request log is buffered and written in batches (sureapp/usage/recorder.py).
        self.REQUEST_LOG_FLUSH_SECONDS = float(os.environ.get("REQUEST_LOG_FLUSH_SECONDS", "5"))
        self.REQUEST_LOG_BATCH_SIZE = int(os.environ.get("REQUEST_LOG_BATCH_SIZE", "2000"))
        # Failed API/MCP authentications allowed per client IP before 429.
        self.API_AUTH_FAILURE_LIMIT = os.environ.get("API_AUTH_FAILURE_LIMIT", "30 per minute")
        # Leaked-key reports (POST /api/v1/leaked-keys, no key) allowed per client IP.
        self.LEAK_REPORT_RATE_LIMIT = os.environ.get("LEAK_REPORT_RATE_LIMIT", "30 per minute")
        # The public pages of subscriptions/ (unsubscribe, preferences, confirm), per client IP:
        # every request, and links refused as damaged or expired.
        self.SUBSCRIPTION_RATE_LIMIT = os.environ.get("SUBSCRIPTION_RATE_LIMIT", "120 per minute")
        self.SUBSCRIPTION_BAD_LINK_RATE_LIMIT = os.environ.get(
            "SUBSCRIPTION_BAD_LINK_RATE_LIMIT", "20 per minute")
        # OAuth for /mcp (sureapp/oauth/): client registrations and token requests per client IP.
        self.OAUTH_REGISTER_RATE_LIMIT = os.environ.get("OAUTH_REGISTER_RATE_LIMIT", "20 per hour")
        self.OAUTH_TOKEN_RATE_LIMIT = os.environ.get("OAUTH_TOKEN_RATE_LIMIT", "60 per minute")
        # How often each process looks for due key-expiry reminders (keys/reminders.py; 0: never).
        self.REMINDER_CHECK_SECONDS = float(os.environ.get("REMINDER_CHECK_SECONDS", "300"))
        # Keys within this many days of their expiry are flagged "Expiring soon" (table, filter,
        # dashboard): the one window of sureapp/keys/state.py.
        self.KEY_EXPIRING_SOON_DAYS = int(os.environ.get("KEY_EXPIRING_SOON_DAYS", "7"))
        # A pooled PostgreSQL connection unused this long is pinged before reuse (faults.py).
        self.POOL_PING_IDLE_SECONDS = float(os.environ.get("POOL_PING_IDLE_SECONDS", "30"))
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024)))
        # Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
        self.PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
        self.PROXY_FIX_X_PROTO = int(os.environ.get("PROXY_FIX_X_PROTO", "0"))
        # Browser origins allowed to call /mcp (comma-separated); a missing Origin is always allowed.
        self.MCP_ALLOWED_ORIGINS = os.environ.get("MCP_ALLOWED_ORIGINS", "")
        # Browser origins (comma-separated) allowed to call /api and /mcp (keyauth/cors.py).
        self.API_CORS_ORIGINS = os.environ.get("API_CORS_ORIGINS", "")
        self.PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
        self.SESSION_COOKIE_SECURE = _bool(
            "SESSION_COOKIE_SECURE", self.PREFERRED_URL_SCHEME == "https"
        )
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        # Browser sessions are server-side records (auth/sessions.py); one idle this many days
        # ends, and the cookie lives no longer either.
        self.SESSION_IDLE_DAYS = _positive_int("SESSION_IDLE_DAYS", 14)
        self.PERMANENT_SESSION_LIFETIME = timedelta(days=self.SESSION_IDLE_DAYS)
        # Sudo mode: the password again before credential/power actions, unless entered this
        # many minutes ago.
        self.SUDO_MINUTES = _positive_int("SUDO_MINUTES", 10)
        # The address users reach sureapp at: every external link (invitations, mails) is built
        # from it, and requests for any other host are refused (TRUSTED_HOSTS).
        self.PUBLIC_URL = public_url(os.environ.get("PUBLIC_URL", ""))
        # Loopback names stay allowed for health checks on the host itself; a browser never
        # sends them for someone else's domain, so they open no Host-header attack.
        self.TRUSTED_HOSTS = ([urlsplit(self.PUBLIC_URL).hostname, "localhost", "127.0.0.1"]
                              if self.PUBLIC_URL else None)

        # Webhooks (sureapp/webhooks/): retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h;
        # each attempt gets this many seconds; private/loopback targets only when allowed.
        self.WEBHOOK_RETRY_SCHEDULE = retry_schedule(
            os.environ.get("WEBHOOK_RETRY_SCHEDULE", DEFAULT_WEBHOOK_RETRY_SCHEDULE))
        self.WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
        self.WEBHOOK_ALLOW_PRIVATE_URLS = _bool("WEBHOOK_ALLOW_PRIVATE_URLS", False)
        # The in-process background thread (webhook deliveries; jobs.start_background). Tests
        # turn it on where they want it; `0` leaves delivery to another process.
        self.BACKGROUND_WORKER = _bool("BACKGROUND_WORKER", True)

    # Static settings shared by every environment.
    # No pool_pre_ping (a round trip per checkout): see POOL_PING_IDLE_SECONDS and faults.py.
    # hide_parameters: a database error's message never quotes the statement's parameters
    # (emails, custom fields, key digests), in logs or anywhere else (SECURITY.md).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: decorated limits (login, signup, invitations) continue on per-process memory
    # counters and switch back when it answers; anything else is logged, never a 500 (SECURITY.md).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    TEMPLATES_AUTO_RELOAD = False
    PURGE_REVOKED_AFTER_DAYS = 30
