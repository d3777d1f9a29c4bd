"""The in-process (memory://) rate-limit storage, without a thread per request.

limits' MemoryStorage sweeps expired counters from a 10 ms threading.Timer that it restarts on
almost every hit: whenever requests are more than 10 ms apart (a busy machine, a quiet one) each
request starts a thread, ≈20 % of an authenticated API request's CPU. Expired counters are
already dropped when read, so this subclass sweeps inline, at most once a second, instead.
Defining it registers it for memory:// URIs in place of limits' class (same behaviour otherwise).
"""
import time

from limits.storage import MemoryStorage as _LimitsMemoryStorage

SWEEP_EVERY_SECONDS = 1.0


class MemoryStorage(_LimitsMemoryStorage):
    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the timer restart
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_SECONDS
            self._MemoryStorage__expire_events()
