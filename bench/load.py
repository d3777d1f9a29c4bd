"""Bounded HTTP load against 127.0.0.1: wrk when installed, else a small threaded Python client.

Both return the same LoadResult, so a scenario never knows which one ran. The Python client is
for the smoke test on machines without wrk; its numbers are not comparable to wrk's.
"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

WRK_SCRIPT = Path(__file__).with_name("wrk") / "report.lua"


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int  # non-2xx/3xx responses plus socket errors
    p50_ms: float
    p99_ms: float
    cpu_ms: float | None = None  # server CPU per request, when the server is known

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class LoadSettings:
    duration: float = 5.0
    connections: int = 16
    threads: int = 2


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_load(url: str, settings: LoadSettings, headers: dict[str, str] | None = None,
             method: str = "GET", body: bytes | None = None) -> LoadResult:
    """Hammer one URL for settings.duration seconds with settings.connections connections."""
    if urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(f"load is only ever sent to loopback, not {url}")
    if has_wrk():
        return _wrk(url, settings, headers or {}, method, body)
    return _python(url, settings, headers or {}, method, body)


def _wrk(url, settings, headers, method, body) -> LoadResult:
    env = dict(os.environ, BENCH_WRK_METHOD=method)
    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        if body is not None:
            body_file.write(body)
            body_file.flush()
            env["BENCH_WRK_BODY_FILE"] = body_file.name
        command = ["wrk", f"-t{settings.threads}", f"-c{settings.connections}",
                   f"-d{max(1, round(settings.duration))}s", "--timeout", "10s",
                   "-s", str(WRK_SCRIPT)]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run(command + [url], env=env, capture_output=True, text=True,
                             timeout=settings.duration + 30, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(requests=data["requests"], seconds=data["duration_us"] / 1e6,
                      errors=data["status_errors"] + data["socket_errors"],
                      p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000)


def _python(url, settings, headers, method, body) -> LoadResult:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + settings.duration

    def worker():
        mine, bad = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                bad += response.status >= 400
            except OSError:
                bad += 1
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(min(settings.connections, 8))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=settings.duration + 30)
    seconds = time.monotonic() - started
    if not latencies:
        return LoadResult(0, seconds, errors[0], 0.0, 0.0)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return LoadResult(requests=len(latencies), seconds=seconds, errors=errors[0],
                      p50_ms=cuts[49] * 1000, p99_ms=cuts[98] * 1000)
