"""CPU per request of a WSGI app called directly (no server, no sockets, no test client): what
the app itself costs, steady on a busy machine where wrk's req/s is not. Also `profile()`, the
cProfile of the same calls, to see where that CPU goes."""
import cProfile
import io
import pstats
import time

from werkzeug.test import EnvironBuilder


def _caller(wsgi_app, path: str, headers: dict | None):
    environ = EnvironBuilder(path=path, headers=headers or {}).get_environ()
    statuses = []

    def start_response(status, response_headers, exc_info=None):
        statuses.append(status)

    def call():
        body = wsgi_app(dict(environ), start_response)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()
        status = statuses.pop()
        if not status.startswith("200"):
            raise RuntimeError(f"{path} answered {status}")

    return call


def cpu_us(wsgi_app, path: str, headers: dict | None = None, requests: int = 2000,
           warmup: int = 200) -> float:
    """Process CPU µs per request (threads included: the request log's flusher counts too)."""
    call = _caller(wsgi_app, path, headers)
    for _ in range(warmup):
        call()
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) / requests * 1e6


def profile(wsgi_app, path: str, headers: dict | None = None, requests: int = 1000,
            lines: int = 40) -> str:
    """cProfile of `requests` calls, cumulative order, with function calls per request."""
    call = _caller(wsgi_app, path, headers)
    for _ in range(100):
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"function calls per request: {stats.total_calls / requests:.0f}\n")
    stats.sort_stats("cumulative").print_stats(lines)
    return out.getvalue()
