"""Request budgets, one storage round trip each: per key (API_RATE_LIMIT) and failed
authentications per client IP (API_AUTH_FAILURE_LIMIT).

Fixed windows that start at a budget's first charge. A charge of N units is admitted whole or
refused whole (nothing charged), so a JSON-RPC batch can pay one unit per message. Storage:
- memory:// — a dict per app (per process): one lookup and one store under a lock;
- redis:// (rediss://, unix://) — one Lua script per charge (EVALSHA: one round trip, atomic
  across workers and hosts, on a connection kept per thread), keys `{RATELIMIT_KEY_PREFIX}:budget:{kind}:{id}:{limit}/{window}s`.
Storage down: requests are served uncounted and one short warning a minute is logged
(fail open: SECURITY.md explains why).
"""
import hashlib
import logging
import math
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse

from ..problems import RATE_LIMITED_TYPE, ApiProblem
from ..processid import current_pid

log = logging.getLogger(__name__)

EXTENSION = "sureapp_budgets"
STORAGE_WARNING_INTERVAL = 60.0  # seconds between "storage down" log lines per app
REDIS_TIMEOUT_SECONDS = 0.5  # a stalled Redis must not stall every request
SWEEP_EVERY_SECONDS = 1.0
RATE_LIMIT_HEADER = "X-RateLimit-Limit"  # the first of the three X-RateLimit-* headers


@dataclass(frozen=True, slots=True)
class Budget:
    """The state of one budget after a charge; `admitted` says whether the charge went through."""

    limit: int
    remaining: int
    reset_time: float  # epoch seconds
    admitted: bool

    def headers(self) -> dict[str, str]:
        return {RATE_LIMIT_HEADER: str(self.limit),
                "X-RateLimit-Remaining": str(max(self.remaining, 0)),
                "X-RateLimit-Reset": str(math.ceil(self.reset_time))}

    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_time - time.time()))

    def exceeded(self, detail: str) -> ApiProblem:
        retry_after = self.retry_after()
        return ApiProblem(429, detail, title="Too many requests", type_=RATE_LIMITED_TYPE,
                          headers=self.headers() | {"Retry-After": str(retry_after)},
                          extra={"retry_after": retry_after})


@lru_cache(maxsize=32)
def _item(text: str) -> RateLimitItem:
    """'600 per minute' → limit and window (the limits library's notation, as Flask-Limiter's)."""
    return parse(text)


def describe_limit(limit_text: str) -> str:
    """'600 per minute' → '600 requests per minute'."""
    item = _item(limit_text)
    per = item.GRANULARITY.name if item.multiples == 1 else f"{item.multiples} {item.GRANULARITY.name}s"
    return f"{item.amount} requests per {per}"


class MemoryCounters:
    """Fixed windows in this process: {name: (count, window end)}."""

    def __init__(self):
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def charge(self, name: str, units: int, limit: int, window: int) -> tuple[int, float, bool]:
        now = time.time()
        with self._lock:
            count, ends = self._windows.get(name) or (0, 0.0)
            if ends <= now:
                count, ends = 0, now + window
            admitted = count + units <= limit
            if admitted:
                count += units
                self._windows[name] = (count, ends)
            if now >= self._next_sweep:
                self._next_sweep = now + SWEEP_EVERY_SECONDS
                self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        return count, ends, admitted


# KEYS[1] counter; ARGV units, limit, window ms. Returns {count, ms to reset, admitted 0/1}.
_CHARGE_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local units, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then count = 0 end
if count + units > limit then
  if ttl < 0 then ttl = window end
  return {count, ttl, 0}
end
count = redis.call('INCRBY', KEYS[1], units)
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
return {count, ttl, 1}
"""


def _packed(*parts: bytes) -> list[bytes]:
    """One command in the Redis protocol (RESP): an array of bulk strings."""
    return [b"*%d\r\n" % len(parts)
            + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)]


def _timeouts_in_the_kernel(sock) -> None:
    """REDIS_TIMEOUT_SECONDS as the socket's own send and receive timeouts (SO_SNDTIMEO,
    SO_RCVTIMEO) on a blocking socket: Python's timeout mode polls before every send and every
    receive, two more system calls per charge. A stalled Redis still fails the charge after the
    timeout (EAGAIN, a ConnectionError to redis-py). TLS sockets keep Python's timeouts."""
    if isinstance(sock, ssl.SSLSocket):
        return
    seconds = int(REDIS_TIMEOUT_SECONDS)
    timeval = struct.pack("ll", seconds, int((REDIS_TIMEOUT_SECONDS - seconds) * 1_000_000))
    sock.settimeout(None)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


class RedisCounters:
    """Fixed windows in Redis, shared by every worker and host using the same prefix.

    A charge is one EVALSHA on a connection each thread keeps for itself: redis-py's Connection
    (connect, AUTH and SELECT from the URI, TLS, the timeouts, its reply parser), the command
    packed here. redis-py's client call around one command (pool checkout with its
    pending-data check, the retry wrapper, the metrics recorder, the generic packer) cost more
    than everything else in the budget: callgrind, ≈ 500,000 instructions of a 2.3 million
    instruction keyed read (bench/RESULTS.md). Any failure but a Redis error reply drops the
    connection (a timed-out reply must never be read as the next one's) and is raised: the
    caller fails open. NOSCRIPT (Redis restarted or flushed its scripts) is answered by one
    EVAL, which loads the script again."""

    def __init__(self, uri: str):
        import redis

        self._pool = redis.ConnectionPool.from_url(
            uri, socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        self._sha = hashlib.sha1(_CHARGE_SCRIPT.encode()).hexdigest().encode()
        self._script = _CHARGE_SCRIPT.encode()
        self._no_script = redis.exceptions.NoScriptError
        self._reply_error = redis.exceptions.ResponseError
        self._local = threading.local()

    def _connection(self):
        held = getattr(self._local, "held", None)
        if held is None or held[0] != current_pid():  # a forked worker opens its own
            held = self._local.held = (current_pid(), self._pool.make_connection())
        connection = held[1]
        if connection._sock is None:  # new, or dropped after a failure
            connection.connect()
            _timeouts_in_the_kernel(connection._sock)
        return connection

    def _call(self, connection, *parts: bytes):
        connection.send_packed_command(_packed(*parts), check_health=False)
        return connection.read_response()

    def charge(self, name: str, units: int, limit: int, window: int) -> tuple[int, float, bool]:
        connection = self._connection()
        args = (b"1", name.encode(), b"%d" % units, b"%d" % limit, b"%d" % (window * 1000))
        try:
            try:
                count, ttl_ms, admitted = self._call(connection, b"EVALSHA", self._sha, *args)
            except self._no_script:
                count, ttl_ms, admitted = self._call(connection, b"EVAL", self._script, *args)
        except self._reply_error:
            raise  # an error reply: the connection is still in step
        except BaseException:
            connection.disconnect()
            raise
        return int(count), time.time() + int(ttl_ms) / 1000, bool(admitted)


class Budgets:
    """One per app: the counters, and the once-a-minute outage warning."""

    def __init__(self, app: Flask):
        uri = app.config["RATELIMIT_STORAGE_URI"]
        scheme = uri.split(":", 1)[0].lower()
        if scheme == "memory":
            self.counters = MemoryCounters()
        elif scheme in ("redis", "rediss", "unix"):
            self.counters = RedisCounters(uri)
        else:
            raise RuntimeError(f"RATELIMIT_STORAGE_URI must be memory:// or redis://…, not {uri!r}")
        self._warned_at: float | None = None

    def charge(self, kind: str, ident: str, limit_text: str, units: int = 1) -> Budget | None:
        """Charge `units` to one budget; None when rate limiting is off or the storage is down."""
        config = current_app.config
        if not config.get("RATELIMIT_ENABLED", True):
            return None
        item = _item(limit_text)
        window = item.get_expiry()
        name = f"{config['RATELIMIT_KEY_PREFIX']}:budget:{kind}:{ident}:{item.amount}/{window}s"
        try:
            count, reset_time, admitted = self.counters.charge(name, units, item.amount, window)
        except Exception as error:  # storage down: serve rather than fail every integration
            self._storage_unavailable(kind, error)
            return None
        return Budget(item.amount, item.amount - count, reset_time, admitted)

    def _storage_unavailable(self, kind: str, error: Exception) -> None:
        """Fail open, and say so once a minute rather than with a traceback on every request."""
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= STORAGE_WARNING_INTERVAL:
            self._warned_at = now
            log.warning("rate-limit storage unavailable (%s); %s requests are served but not "
                        "counted", type(error).__name__, kind)


def budgets() -> Budgets:
    return current_app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Budgets(app)
