"""Configuration from environment variables, with safe defaults for a single-process install."""
import os
import secrets
from pathlib import Path


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
        self.REQUEST_LOG_RETENTION_DAYS = int(os.environ.get("REQUEST_LOG_RETENTION_DAYS", "90"))
        # The request log is buffered and written in batches (sureapp/usage/recorder.py).
        self.REQUEST_LOG_FLUSH_SECONDS = float(os.environ.get("REQUEST_LOG_FLUSH_SECONDS", "5"))
        self.REQUEST_LOG_BATCH_SIZE = int(os.environ.get("REQUEST_LOG_BATCH_SIZE", "2000"))
        # Failed API/MCP authentications allowed per client IP before 429.
        self.API_AUTH_FAILURE_LIMIT = os.environ.get("API_AUTH_FAILURE_LIMIT", "30 per minute")
        # Keys within this many days of their expiry are flagged "Expiring soon" (table, filter,
        # dashboard): the one window of sureapp/keys/state.py.
        self.KEY_EXPIRING_SOON_DAYS = int(os.environ.get("KEY_EXPIRING_SOON_DAYS", "7"))
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024)))
        # Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
        self.PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
        self.PROXY_FIX_X_PROTO = int(os.environ.get("PROXY_FIX_X_PROTO", "0"))
        # Browser origins allowed to call /mcp (comma-separated); a missing Origin is always allowed.
        self.MCP_ALLOWED_ORIGINS = os.environ.get("MCP_ALLOWED_ORIGINS", "")
        self.PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
        self.SESSION_COOKIE_SECURE = _bool(
            "SESSION_COOKIE_SECURE", self.PREFERRED_URL_SCHEME == "https"
        )
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE

    # Static settings shared by every environment.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
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
