"""Per-key request budgets and per-IP failed-authentication budgets, on Flask-Limiter's storage.

Why not `@limiter.limit` on the views: Flask-Limiter evaluates blueprint limits in its own
app-level before_request, before our guard knows which key is calling, and decorated limits
only run inside the view, after the guard may already have answered 401/403. Calling the
rate-limit strategy that Flask-Limiter configured (same RATELIMIT_STORAGE_URI, strategy and key
prefix) from the guard gives one budget per key across every /api route, headers on every
response, and the same code for /mcp.
"""
import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app, g
from limits import RateLimitItem, parse

from ..extensions import limiter
from ..problems import RATE_LIMITED_TYPE, ApiProblem

log = logging.getLogger(__name__)

AUTH_FAILURE_LIMIT_DEFAULT = "30 per minute"
STORAGE_WARNING_INTERVAL = 60.0  # seconds between "storage down" log lines per process


def _storage_unavailable(consequence: str, error: Exception) -> None:
    """Fail open, and say so once a minute rather than with a traceback on every request."""
    now = time.monotonic()
    last = current_app.extensions.get("sureapp_ratelimit_warned_at")
    if last is None or now - last >= STORAGE_WARNING_INTERVAL:
        current_app.extensions["sureapp_ratelimit_warned_at"] = now
        log.warning("rate-limit storage unavailable (%s); %s", type(error).__name__, consequence)


@dataclass(frozen=True)
class Budget:
    limit: int
    remaining: int
    reset_time: float  # epoch seconds

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(self.remaining, 0)),
                "X-RateLimit-Reset": str(math.ceil(self.reset_time))}

    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_time - time.time()))


@lru_cache(maxsize=32)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def _enabled() -> bool:
    return limiter.enabled and current_app.config.get("RATELIMIT_ENABLED", True)


def _identifiers(*parts: str) -> tuple[str, ...]:
    return (current_app.config["RATELIMIT_KEY_PREFIX"], *parts)


def _budget(item: RateLimitItem, identifiers: tuple[str, ...]) -> Budget:
    stats = limiter.limiter.get_window_stats(item, *identifiers)
    return Budget(item.amount, stats.remaining, stats.reset_time)


def _exceeded(budget: Budget, detail: str) -> ApiProblem:
    retry_after = budget.retry_after()
    headers = budget.headers() | {"Retry-After": str(retry_after)}
    return ApiProblem(429, detail, title="Too many requests", type_=RATE_LIMITED_TYPE,
                      headers=headers, extra={"retry_after": retry_after})


def consume_key_budget(key_id) -> None:
    """Count one request against the key's budget (API_RATE_LIMIT); raise 429 when it is spent.

    The budget is kept in g so that every response, errors included, carries the headers.
    """
    if not _enabled():
        return
    item = _item(current_app.config["API_RATE_LIMIT"])
    ids = _identifiers("api-key", str(key_id))
    try:
        allowed = limiter.limiter.hit(item, *ids)
        g.rate_budget = _budget(item, ids)
    except Exception as error:  # storage down: serve the request rather than fail every integration
        _storage_unavailable("requests are served but not counted", error)
        return
    if not allowed:
        raise _exceeded(g.rate_budget, f"This key may make {item.amount} requests per "
                        f"{item.GRANULARITY.name}. Wait for the reset and try again.")


def _auth_failure_item() -> RateLimitItem:
    return _item(current_app.config.get("API_AUTH_FAILURE_LIMIT", AUTH_FAILURE_LIMIT_DEFAULT))


def check_auth_failures(client_ip: str) -> None:
    """Refuse a client that has failed authentication too often, before looking at its key."""
    if not _enabled():
        return
    item = _auth_failure_item()
    ids = _identifiers("api-auth-failure", client_ip)
    try:
        if limiter.limiter.test(item, *ids):
            return
        budget = _budget(item, ids)
    except Exception as error:
        _storage_unavailable("failed authentications are not checked", error)
        return
    g.rate_budget = budget
    raise _exceeded(budget, "Too many failed authentication attempts from this address. "
                            "Wait for the reset and try again.")


def record_auth_failure(client_ip: str) -> None:
    if not _enabled():
        return
    item = _auth_failure_item()
    ids = _identifiers("api-auth-failure", client_ip)
    try:
        limiter.limiter.hit(item, *ids)
        g.rate_budget = _budget(item, ids)
    except Exception as error:
        _storage_unavailable("failed authentications are not counted", error)


def add_budget_headers(response):
    """after_request: X-RateLimit-* from whichever budget this request was counted against."""
    budget = getattr(g, "rate_budget", None)
    if budget is not None:
        for name, value in budget.headers().items():
            response.headers[name] = value
    return response
