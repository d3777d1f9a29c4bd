"""memory:// counts like limits' storage, without starting a thread per hit."""
import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from sureapp.ratelimit_storage import MemoryStorage


def test_memory_uri_uses_the_threadless_storage_and_counts_limits(monkeypatch):
    storage = storage_from_string("memory://")
    assert isinstance(storage, MemoryStorage)
    time.sleep(0.03)  # the constructor's own first timer has run out
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))

    limiter, item = FixedWindowRateLimiter(storage), parse("3 per minute")
    answers = []
    for _ in range(5):
        answers.append(limiter.hit(item, "key-1"))
        time.sleep(0.015)  # > limits' 10 ms timer: the original would start a thread each time
    assert answers == [True, True, True, False, False]
    assert started == []


def test_expired_counters_reset_and_are_swept():
    storage = MemoryStorage()
    storage.incr("short", expiry=0.05)
    storage.incr("other", expiry=0.05)
    time.sleep(0.06)
    assert storage.get("short") == 0  # expired on read

    storage._next_sweep = 0  # the next hit sweeps everything expired
    storage.incr("fresh", expiry=60)
    assert "other" not in storage.storage and storage.get("fresh") == 1
