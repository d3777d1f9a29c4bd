"""Run a WSGI app under gunicorn with the production gunicorn.conf.py on a free 127.0.0.1 port.

Used by the benchmark and by tests/perf (the shared-limit and revocation tests).
"""
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

REPO_ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"
START_TIMEOUT = 90  # seconds; app import is slow on a busy machine
STOP_TIMEOUT = 40  # > graceful_timeout: workers flush their buffers before they exit


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) the worker processes have used so far. Unlike wall time it
        hardly depends on what else the machine is running."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[1]) == self.process.pid:  # ppid
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(wsgi: str, env: dict[str, str], log_path: Path, workers: int = 2,
             health_path: str = "/healthz"):
    """Start `gunicorn -c gunicorn.conf.py <wsgi>`, wait until health_path answers 200, and stop
    it gracefully (SIGTERM, as a process manager would) on exit."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items()
                 if k not in {"DATABASE_URL", "RATELIMIT_STORAGE_URI", "API_RATE_LIMIT"}}
    child_env.update(env)
    child_env.update(WEB_CONCURRENCY=str(workers), BIND=f"127.0.0.1:{port}",
                     PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), wsgi],
            cwd=REPO_ROOT, env=child_env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server, health_path)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


def _wait_until_healthy(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urlopen(server.url + path, timeout=2) as response:
                if response.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"gunicorn did not become healthy:\n{server.log()[-4000:]}")
